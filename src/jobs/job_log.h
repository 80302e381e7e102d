#pragma once
// Step-by-step logging for background jobs (the seed: jobs "log extensively: provide audit trail
// of operations"). The queue's AuditLog records only each attempt's start and end, and JobContext
// has no logger, so jobs write one JSON line per step here:
//   {"ts","log":"job","type","job_id","uuid","tenant_id","attempt","step",…fields}
// By default the lines go to stderr (a worker's stderr is its supervisor's log); a sink set with
// set_job_log_sink() receives them instead (tests). Thread-safe.

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "queue/job.h"

namespace unity::jobs {

using JobLogSink = std::function<void(const std::string& line)>;
// Replaces the process-wide sink; an empty one restores stderr.
void set_job_log_sink(JobLogSink sink);

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

}  // namespace unity::jobs
