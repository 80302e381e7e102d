#pragma once
// Takes over jobs whose lease expired (their worker was killed or stopped heartbeating), at most
// once per `every`, 100 at a time: each is retried with backoff or given up, as a failed attempt
// (Guarantee 2: the dead worker's late writes are fenced off by the new lease token). A traced
// job's lost attempt becomes a span (status "lost", from its claim to the rescue; one insert per
// pass), since the worker that ran it never wrote its own.
//
// It runs on the claimer's thread and connection, just before a claim, rather than on a thread
// of its own: a `--stop-when-empty` drain must see a rescued job before it decides the queue is
// empty.

#include <chrono>
#include <optional>

#include "core/clock.h"
#include "queue/attempt.h"
#include "queue/audit_log.h"
#include "queue/store.h"

namespace unity::queue {

class Rescuer {
 public:
  // `attempts` and `clock` must outlive the rescuer; `log` may be null.
  Rescuer(const Attempts& attempts, AuditLog* log, const Clock& clock,
          std::chrono::milliseconds every = std::chrono::seconds(1));

  // A pass when `every` has passed since the last one (the first call always); returns how many
  // jobs it took over.
  int tick(JobStore& store);
  // One pass now.
  int rescue(JobStore& store);

 private:
  const Attempts& attempts_;
  AuditLog* log_;
  const Clock& clock_;
  std::chrono::milliseconds every_;
  std::optional<Clock::Monotonic> last_;
};

}  // namespace unity::queue
