#pragma once
// Tracing (issue 12): W3C Trace Context ids, and the trace the calling thread works for.
//
// A trace starts at an HTTP request (its `traceparent` header, or a fresh id) or at a one-shot CLI
// command (the TRACEPARENT environment variable, or a fresh id: cli/command_trace.h) and follows
// the work it causes: the domain events it records, the jobs and queued listeners those
// dispatch (jobs.trace_id, kept across retries and processes), the jobs those dispatch in turn, and
// the notifications they write. Each piece of work is a span (db/spans.h stores them).
//
// The current trace is thread-local: whoever starts a piece of work on a thread (the HTTP handler,
// the worker around one attempt) opens a TraceScope; the code below it (event store, dispatcher,
// notifier) reads current_trace() and needs no parameter. No scope open: no trace, and nothing
// traced is written.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace unity::trace {

// A parsed `traceparent` header: version 00, 32 lowercase hex trace id, 16 hex parent span id,
// 2 hex flags. The all-zero ids are invalid.
struct TraceParent {
  std::string trace_id;
  std::string parent_span_id;
  uint8_t flags = 0;
};

// nullopt for anything malformed (then the caller starts a new trace): wrong length or
// separators, a version other than 00 (or ff), upper-case or non-hex digits, all-zero ids.
// A future version (01..fe) is read by its first 55 characters, as the spec asks.
std::optional<TraceParent> parse_traceparent(std::string_view header);
// "00-<trace_id>-<span_id>-01".
std::string format_traceparent(const std::string& trace_id, const std::string& span_id);

std::string new_trace_id();  // 32 random lowercase hex digits, never all zero
std::string new_span_id();   // 16 random lowercase hex digits, never all zero
// The span id of the work named by a UUID (a domain event's span is its uuid's last 16 digits),
// so whoever holds the uuid can name the span without a lookup.
std::string span_id_of_uuid(std::string_view uuid);

// The trace the calling thread works for.
struct Current {
  std::string trace_id;
  std::string span_id;    // the span open on this thread: the parent of what starts below it
  bool recorded = false;  // something traced was written under it (the request span is worth it)
};

// The innermost scope's trace on this thread; nullptr when none is open or it has no trace.
Current* current_trace();

// Opens a trace scope on this thread for its lifetime (scopes nest; the outer one is restored).
// An empty trace id opens a scope without a trace: work below it is not traced.
class TraceScope {
 public:
  TraceScope(std::string trace_id, std::string span_id);
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;
  Current& current() { return current_; }

 private:
  Current current_;
  Current* outer_;
};

// One finished piece of work. Times are microseconds since the Unix epoch.
struct Span {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;  // empty for a root
  int64_t tenant_id = 0;
  std::string kind;    // request | command | event | listener | job | notification
  std::string name;    // "POST /api/v1/orders/{id}/approve", "OrderApproved", the job type …
  std::string status;  // ok | error | retry | released | lost (an attempt its worker never ended)
  int64_t started_us = 0;
  int64_t finished_us = 0;
  std::string detail;  // the job id, the error, the recipients …
};

// Where recorded spans are also sent (the OTLP exporter, jobs/otlp_exporter.h); set once at start
// by the process, before threads run. Called from any thread after the span's row is written (in
// a transaction that may still roll back: export is best effort). Must not block.
using SpanSink = std::function<void(const Span&)>;
void set_span_sink(SpanSink sink);
void export_span(const Span& span);

}  // namespace unity::trace
