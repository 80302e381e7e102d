#pragma once
// Step-by-step logging for background jobs (the seed: jobs "log extensively: provide audit trail
// of operations"). The queue's AuditLog records only each attempt's start and end, and JobContext
// has no logger, so jobs write one JSON line per step here:
//   {"ts","log":"job","type","job_id","uuid","tenant_id","attempt","step",…fields}
// plus "trace_id" when the job works for a trace (core/trace.h).
// The lines go through JobContext::log() to whoever runs the job: stderr by default (a worker's
// stderr is its supervisor's log), or the sink in WorkerOptions::job_log /
// Dispatcher::set_job_log (tests).

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/error.h"
#include "queue/job.h"

namespace unity::jobs {

class JobLog {
 public:
  // `ctx` must outlive the log (it lives for one attempt, like the context).
  explicit JobLog(const queue::JobContext& ctx) : ctx_(ctx) {}
  // Writes one line; `fields` (a JSON object, or null) are merged into it.
  void step(std::string_view name, const nlohmann::json& fields) const;
  void step(std::string_view name) const;

 private:
  const queue::JobContext& ctx_;
};

// Bad input or a missing row does not get better on a retry: invalid_argument, not_found,
// failed_precondition.
bool is_permanent(const Error& e);

// Runs one attempt's `body`. An Error that `permanent` says will not get better is logged (step
// "error", retry false) and gives the job up at once; on the last try (always, under the sync
// driver) the error itself propagates instead, so its code reaches the caller. Anything else
// propagates for the queue to retry with backoff.
void run_attempt(queue::JobContext& ctx, const JobLog& log, const std::function<void()>& body,
                 bool (*permanent)(const Error&) = is_permanent);

}  // namespace unity::jobs
