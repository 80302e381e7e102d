#include "jobs/job_log.h"

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/json.h"

namespace unity::jobs {

void JobLog::step(std::string_view name, const nlohmann::json& fields) const {
  nlohmann::json line = {{"ts", format_iso8601(system_clock().now())},
                         {"log", "job"},
                         {"type", ctx_.type()},
                         {"job_id", ctx_.job_id()},
                         {"uuid", ctx_.uuid()},
                         {"tenant_id", ctx_.tenant_id()},
                         {"attempt", ctx_.attempt()},
                         {"step", name}};
  if (!ctx_.trace_id().empty()) line["trace_id"] = ctx_.trace_id();
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) line[key] = value;
  }
  ctx_.log(dump_json(line));
}

void JobLog::step(std::string_view name) const { step(name, nlohmann::json()); }

bool is_permanent(const Error& e) {
  return e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kNotFound ||
         e.code() == ErrorCode::kFailedPrecondition;
}

void run_attempt(queue::JobContext& ctx, const JobLog& log, const std::function<void()>& body,
                 bool (*permanent)(const Error&)) {
  try {
    body();
  } catch (const Error& e) {
    if (!permanent(e)) throw;
    log.step("error", {{"error", e.what()}, {"retry", false}});
    if (ctx.attempt() < ctx.max_tries()) ctx.fail(e.what());
    throw;
  }
}

}  // namespace unity::jobs
