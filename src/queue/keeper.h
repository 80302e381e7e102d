#pragma once
// The worker's housekeeping thread, every 200 ms:
// - heartbeats: extends the leases of every job the process holds (waiting, running, awaiting
//   its acknowledgement) every third of the lease, so a long job is never taken for a dead one;
//   the same statement returns the jobs queue:cancel flagged, whose attempts are then cancelled
//   (so a cancel reaches a running job within a third of DB_QUEUE_RETRY_AFTER);
// - timeouts (Guarantee 9): a job past its timeout is cancelled (JobContext::cancelled()); one
//   still running `grace` later is recorded as a failed attempt and the process exits with code
//   124, so its supervisor starts a clean one;
// - throughput counters (queue:stats) written once a second; the audit log flushed.
// Its own connection. Destruction writes the last counters, then stops.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "queue/attempt.h"
#include "queue/audit_log.h"
#include "queue/completer.h"
#include "queue/local_jobs.h"
#include "queue/store_session.h"
#include "queue/workers.h"

namespace unity::queue {

struct KeeperOptions {
  int64_t lease_us = 90'000'000;
  std::chrono::milliseconds grace{5000};
  std::chrono::milliseconds tick{200};
};

class Keeper {
 public:
  // All references must outlive the keeper; `log` and `presence` (this worker's row in the
  // worker registry, beaten here) may be null.
  Keeper(StoreSession session, LocalJobs& jobs, const Completer& completer,
         const Attempts& attempts, KeeperOptions options, AuditLog* log,
         WorkerPresence* presence = nullptr);
  ~Keeper();
  Keeper(const Keeper&) = delete;
  Keeper& operator=(const Keeper&) = delete;

 private:
  void loop(std::stop_token stop);
  bool beat();  // false: retried at the next tick
  void check_timeouts();
  void flush_counts();

  StoreSession session_;
  LocalJobs& jobs_;
  const Completer& completer_;
  const Attempts& attempts_;
  KeeperOptions options_;
  AuditLog* log_;
  WorkerPresence* presence_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread thread_;  // last: starts after the rest is built
};

}  // namespace unity::queue
