#include "queue/rescuer.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/trace.h"
#include "db/spans.h"
#include "queue/running_job.h"

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
  std::vector<trace::Span> lost;  // the traced jobs' lost attempts
  for (const auto& job : expired) {
    const std::string error = "lease expired after attempt " + std::to_string(job.attempts) +
                              " (its worker stopped heartbeating: killed or stuck)";
    const Outcome outcome = attempts_.retry_or_fail(store, job, error, false);
    if (log_) log_->job_finished(job, std::string("rescued:") + outcome_name(outcome), 0, error);
    if (!job.trace_id.empty()) {
      // From the claim that began the attempt to now: its worker's own span was never written.
      lost.push_back({job.trace_id, trace::new_span_id(), job.parent_span_id, job.tenant_id,
                      job_span_kind(job.type), job.type, "lost", job.claimed_at_us,
                      std::max(job.claimed_at_us, store.now_us()),
                      error + "; " + outcome_name(outcome)});
    }
  }
  try {
    db::span_insert_many(store.connection(), lost);  // one statement for the pass
  } catch (const Error&) {
    // The jobs are rescued; a span lost with the database is not worth failing the pass over.
  }
  return static_cast<int>(expired.size());
}

}  // namespace unity::queue
