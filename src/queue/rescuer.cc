#include "queue/rescuer.h"

namespace unity::queue {

Rescuer::Rescuer(const Attempts& attempts, AuditLog* log, const Clock& clock,
                 std::chrono::milliseconds every)
    : attempts_(attempts), log_(log), clock_(clock), every_(every) {}

int Rescuer::tick(JobStore& store) {
  const auto now = clock_.monotonic();
  if (last_ && now - *last_ < every_) return 0;
  last_ = now;
  return rescue(store);
}

int Rescuer::rescue(JobStore& store) {
  auto expired = store.lease_rescue_expired(new_lease_token(), 100);
  for (const auto& job : expired) {
    const std::string error = "lease expired after attempt " + std::to_string(job.attempts) +
                              " (its worker stopped heartbeating: killed or stuck)";
    const Outcome outcome = attempts_.retry_or_fail(store, job, error, false);
    if (log_) log_->job_finished(job, std::string("rescued:") + outcome_name(outcome), 0, error);
  }
  return static_cast<int>(expired.size());
}

}  // namespace unity::queue
