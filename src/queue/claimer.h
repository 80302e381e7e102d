#pragma once
// Which jobs a worker claims next (Guarantees 6 and 7).
//
// - Strict priority: queues are claimed in the order given; a lower queue only when every
//   unpaused tenant of the higher ones ran out of ready jobs.
// - Fairness: within a queue, tenants take turns by smooth weighted round-robin (as nginx balances
//   upstreams), weighted by tenants.weight and capped by tenants.max_concurrency; paused tenants
//   (queue_pauses) are skipped. The pauses and weights are read at most once a second.
//
// The turn-taking is a pure function of a snapshot (TenantRoundRobin), tested without a database;
// Claimer adds the round trips. Used by one thread.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "queue/store.h"

namespace unity::queue {

// Pauses and tenant settings as read at one moment.
struct FairnessSnapshot {
  std::set<std::pair<int64_t, std::string>> pauses;  // (tenant, queue); queue "*" = all
  std::map<int64_t, TenantSettings> settings;

  bool paused(int64_t tenant, const std::string& queue) const;
  int weight(int64_t tenant) const;  // 1 unless set
  std::optional<int> max_concurrency(int64_t tenant) const;
};

// Smooth weighted round-robin per queue: every pick adds each tenant's weight to its credit, takes
// the tenant with the most credit (the lowest id on a tie) and charges it the total. Credits
// persist across calls, so weights hold even when each claim is for one slot; a tenant that has
// no jobs waiting loses its credit.
class TenantRoundRobin {
 public:
  // `picks` tenants in turn order from `tenants` (ascending, non-empty).
  std::vector<int64_t> pick(const std::string& queue, const std::vector<int64_t>& tenants,
                            int picks, const FairnessSnapshot& snapshot);

 private:
  std::map<std::string, std::map<int64_t, int64_t>> credit_;
};

class Claimer {
 public:
  // `queues` in priority order; `worker` is recorded on each claimed job; leases last `lease_us`.
  Claimer(std::vector<std::string> queues, std::string worker, int64_t lease_us,
          const Clock& clock);

  // Claims up to `capacity` jobs, in the order they should start.
  std::vector<ClaimedJob> claim(JobStore& store, int capacity);

  const FairnessSnapshot& snapshot() const { return snapshot_; }

 private:
  void refresh(JobStore& store);
  // Claims from one queue; false when some tenant still has ready jobs there (strict priority:
  // no lower queue then).
  bool claim_queue(JobStore& store, const std::string& queue, int64_t token, int& capacity,
                   std::vector<ClaimedJob>& out);

  std::vector<std::string> queues_;
  std::string worker_;
  int64_t lease_us_;
  const Clock& clock_;
  FairnessSnapshot snapshot_;
  std::optional<Clock::Monotonic> snapshot_at_;
  TenantRoundRobin turns_;
};

}  // namespace unity::queue
