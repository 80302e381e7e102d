#include "queue/claimer.h"

#include <algorithm>
#include <deque>

namespace unity::queue {

bool FairnessSnapshot::paused(int64_t tenant, const std::string& queue) const {
  return pauses.count({tenant, queue}) || pauses.count({tenant, "*"});
}

int FairnessSnapshot::weight(int64_t tenant) const {
  auto it = settings.find(tenant);
  return it == settings.end() ? 1 : it->second.weight;
}

std::optional<int> FairnessSnapshot::max_concurrency(int64_t tenant) const {
  auto it = settings.find(tenant);
  return it == settings.end() ? std::nullopt : it->second.max_concurrency;
}

std::vector<int64_t> TenantRoundRobin::pick(const std::string& queue,
                                            const std::vector<int64_t>& tenants, int picks,
                                            const FairnessSnapshot& snapshot) {
  auto& credit = credit_[queue];
  std::map<int64_t, int64_t> kept;
  for (int64_t t : tenants) kept[t] = credit.count(t) ? credit[t] : 0;
  credit.swap(kept);
  int64_t total = 0;
  for (int64_t t : tenants) total += snapshot.weight(t);
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(std::max(picks, 0)));
  for (int i = 0; i < picks; ++i) {
    int64_t best = tenants.front();
    for (int64_t t : tenants) {
      credit[t] += snapshot.weight(t);
      if (credit[t] > credit[best]) best = t;
    }
    credit[best] -= total;
    out.push_back(best);
  }
  return out;
}

Claimer::Claimer(std::vector<std::string> queues, std::string worker, int64_t lease_us,
                 const Clock& clock)
    : queues_(std::move(queues)), worker_(std::move(worker)), lease_us_(lease_us), clock_(clock) {}

void Claimer::refresh(JobStore& store) {
  const auto now = clock_.monotonic();
  if (snapshot_at_ && now - *snapshot_at_ < std::chrono::seconds(1)) return;
  FairnessSnapshot fresh;
  for (auto& p : store.tenant_pauses()) fresh.pauses.insert(std::move(p));
  for (auto& s : store.tenant_settings()) fresh.settings[s.tenant_id] = s;
  snapshot_ = std::move(fresh);
  snapshot_at_ = now;
}

std::vector<ClaimedJob> Claimer::claim(JobStore& store, int capacity) {
  refresh(store);
  std::vector<ClaimedJob> out;
  const int64_t token = new_lease_token();
  for (const auto& queue : queues_) {
    if (capacity <= 0) break;
    if (!claim_queue(store, queue, token, capacity, out)) break;
  }
  return out;
}

bool Claimer::claim_queue(JobStore& store, const std::string& queue, int64_t token, int& capacity,
                          std::vector<ClaimedJob>& out) {
  std::vector<int64_t> tenants;
  for (int64_t t : store.job_tenants_waiting(queue)) {
    if (!snapshot_.paused(t, queue)) tenants.push_back(t);
  }
  if (tenants.empty()) return true;
  const std::vector<int64_t> turns = turns_.pick(queue, tenants, capacity, snapshot_);
  std::map<int64_t, int> wanted;
  for (int64_t t : turns) ++wanted[t];
  std::map<int64_t, std::deque<ClaimedJob>> got;
  std::set<int64_t> exhausted;
  int claimed = 0;
  ClaimParams params{queue, 0, 0, token, worker_, lease_us_};
  auto claim_from = [&](int64_t tenant, int n) {
    if (auto cap = snapshot_.max_concurrency(tenant)) {
      const int64_t free = *cap - store.job_count_reserved(tenant);
      n = static_cast<int>(std::min<int64_t>(n, std::max<int64_t>(free, 0)));
    }
    if (n <= 0) {
      exhausted.insert(tenant);
      return;
    }
    params.tenant_id = tenant;
    params.limit = n;
    auto jobs = store.job_claim(params);
    if (static_cast<int>(jobs.size()) < n) exhausted.insert(tenant);
    claimed += static_cast<int>(jobs.size());
    for (auto& j : jobs) got[tenant].push_back(std::move(j));
  };
  for (const auto& [t, n] : wanted) claim_from(t, n);
  // Turns a tenant could not use go to the others that still have jobs.
  for (int64_t t : tenants) {
    if (claimed >= capacity) break;
    if (!exhausted.count(t)) claim_from(t, capacity - claimed);
  }
  // Hand the jobs out in turn order, then whatever the second pass added.
  for (int64_t t : turns) {
    auto& d = got[t];
    if (d.empty()) continue;
    out.push_back(std::move(d.front()));
    d.pop_front();
  }
  for (auto& [t, d] : got) {
    for (auto& j : d) out.push_back(std::move(j));
  }
  capacity -= claimed;
  return std::all_of(tenants.begin(), tenants.end(), [&](int64_t t) { return exhausted.count(t); });
}

}  // namespace unity::queue
