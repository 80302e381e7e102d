#include "cli/command_trace.h"

#include <array>
#include <cstdlib>
#include <string_view>

#include "cli/context.h"
#include "core/clock.h"
#include "db/spans.h"

namespace unity::cli {

namespace {

// Commands that trace each unit of their work themselves, or work on a database of their own.
constexpr std::array<std::string_view, 4> kUntraced = {"queue:work", "schedule:work", "serve",
                                                       "demo"};

int64_t now_us() { return system_clock().now().time_since_epoch().count(); }

}  // namespace

CommandTrace::CommandTrace(Context& ctx, std::string command)
    : ctx_(ctx), command_(std::move(command)) {
  for (std::string_view untraced : kUntraced) {
    if (command_ == untraced) return;
  }
  const char* env = std::getenv("TRACEPARENT");
  const auto parent = trace::parse_traceparent(env ? env : "");
  if (parent) parent_span_id_ = parent->parent_span_id;
  started_us_ = now_us();
  scope_.emplace(parent ? parent->trace_id : trace::new_trace_id(), trace::new_span_id());
}

void CommandTrace::finish(const std::string& error) {
  if (!scope_ || !scope_->current().recorded) return;
  const trace::Current& t = scope_->current();
  try {
    // The app connection as the command left it: in its tenant when it worked in one (the span is
    // that tenant's, as row-level security requires), else a system span.
    db::Connection& conn = ctx_.app();
    db::span_insert(conn, {t.trace_id, t.span_id, parent_span_id_, conn.tenant().value_or(0),
                           "command", command_, error.empty() ? "ok" : "error", started_us_,
                           now_us(), ctx_.redact(error)});
  } catch (const std::exception&) {
    // The command's outcome stands; its span is lost with the database.
  }
}

}  // namespace unity::cli
