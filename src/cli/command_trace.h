#pragma once
// A command's trace (core/trace.h), as `unity serve` starts one per request: a one-shot command
// continues the caller's trace when the environment has a well-formed W3C `TRACEPARENT`
// (`00-<32 hex trace id>-<16 hex parent span>-<flags>`, the Trace Context carrier for
// environment variables), or starts a new one. The events it records and the jobs it dispatches
// join it; when the command recorded such traced work, its own span (kind "command", named after
// the command) is written at the end, so `unity trace` shows it as their root. A command that
// records nothing (a read) writes no span; nothing is printed.
//
// The long-running commands (queue:work, schedule:work, serve) open no trace: they trace each
// unit of work themselves (a job's attempt, a request). Neither does demo (a database of its own).

#include <cstdint>
#include <optional>
#include <string>

#include "core/trace.h"

namespace unity::cli {

class Context;

class CommandTrace {
 public:
  // Opens the command's trace on the calling thread for this object's lifetime (none for the
  // commands above). `ctx` must outlive it.
  CommandTrace(Context& ctx, std::string command);
  CommandTrace(const CommandTrace&) = delete;
  CommandTrace& operator=(const CommandTrace&) = delete;

  // Writes the command's span if it recorded traced work: status ok, or error with `error` as
  // its detail. A span that cannot be written is dropped (the command's outcome stands).
  void finish(const std::string& error = "");

 private:
  Context& ctx_;
  std::string command_;
  std::string parent_span_id_;  // from TRACEPARENT; empty: the span is a root
  int64_t started_us_ = 0;
  std::optional<trace::TraceScope> scope_;
};

}  // namespace unity::cli
