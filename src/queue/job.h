#pragma once
// Jobs: the unit of background work (DESIGN.md layer `queue`).
//
// A job type is a C++ class deriving from Job, registered by name in a JobRegistry with its
// default options. Its payload is a JSON object (text). A worker makes a fresh instance for every
// attempt and calls handle(); when the job is given up (tries exhausted, retry_until passed, or
// fail() called), failed() runs once.
//
// By default a handler runs inside a transaction that also removes the job from the queue
// (Guarantee 3): its writes through ctx.db() commit if and only if the job completes, and a worker
// whose lease was taken over cannot commit them. Long jobs set `transactional = false`, work in
// their own chunks and stay idempotent through their own status rows.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "queue/middleware.h"

namespace unity::db {
class Connection;
}

namespace unity::queue {

// How long to wait before retry number `attempt` (1 = after the first failure).
// kExponential: base · 2^(attempt-1), capped, with ±25% jitter. kFixed: always `delays[0]`.
// kList: delays[attempt-1], the last one repeating (Laravel's `backoff = [1, 5, 10]`).
struct Backoff {
  enum class Kind { kExponential, kFixed, kList };
  Kind kind = Kind::kExponential;
  std::vector<std::chrono::milliseconds> delays{std::chrono::seconds(1)};  // base for exponential
  std::chrono::milliseconds cap = std::chrono::hours(1);

  // The default: exponential from 1 s, capped at 1 h, with jitter.
  static Backoff exponential(std::chrono::milliseconds base = std::chrono::seconds(1),
                             std::chrono::milliseconds cap = std::chrono::hours(1));
  // Parses "exp", "exp:BASE_S[:CAP_S]", "S" (fixed) or "S,S,…" (list), in seconds (decimals
  // allowed, e.g. "0.5"). Throws Error(kInvalidArgument) naming the text.
  static Backoff parse(const std::string& spec);
  std::string to_string() const;  // the parse() form
  // The delay before the retry after failed attempt `attempt` (≥ 1). `jitter` in [0,1) picks the
  // point inside ±25% for exponential; ignored by the others.
  std::chrono::milliseconds delay(int attempt, double jitter) const;
};

// A job type's defaults. Unset fields fall back to the worker's options (--tries, --timeout,
// --backoff), then to the queue defaults: 3 tries, 60 s timeout, exponential backoff.
struct JobOptions {
  std::string queue;             // empty: DB_QUEUE
  std::optional<int> tries;      // attempts before the job fails for good
  std::optional<int> timeout_s;  // per attempt
  std::optional<Backoff> backoff;
  std::optional<std::chrono::seconds> retry_for;  // give up this long after dispatch
  bool transactional = true;                      // Guarantee 3; false for long, chunked jobs
  // Encryption at rest (queue/payload_crypt.h): the payload is sealed under APP_KEY when
  // dispatched and opened only by the worker, right before handle(). Dispatching needs APP_KEY;
  // a job whose payload does not open fails for good at once, still sealed in failed_jobs.
  bool encrypted = false;
  // Checked around every attempt, in order (queue/middleware.h); empty: none, and no cost.
  std::vector<Middleware> middleware;
};

// Where a job's own log lines go (one JSON line each; jobs/job_log.h builds them). Empty: stderr
// (a worker's stderr is its supervisor's log). Called from executor threads: thread-safe.
using JobLogSink = std::function<void(const std::string& line)>;

// What a running handler sees. Not thread-safe; valid only during handle()/failed().
class JobContext {
 public:
  virtual ~JobContext() = default;
  virtual int64_t job_id() const = 0;
  virtual const std::string& uuid() const = 0;
  virtual const std::string& type() const = 0;
  virtual const std::string& queue() const = 0;
  virtual int64_t tenant_id() const = 0;  // 0 for a system job
  virtual int attempt() const = 0;        // 1 on the first run
  virtual int max_tries() const = 0;
  virtual const std::string& payload() const = 0;  // the JSON object as dispatched
  // The database in the job's tenant context. In transactional mode it is inside the transaction
  // that completes the job.
  virtual db::Connection& db() = 0;
  // True once the job is past its timeout or the worker is stopping: return soon.
  virtual bool cancelled() const = 0;
  // Records progress (0–100) on the job row; shown by queue:stats and the long-job commands.
  virtual void progress(int percent) = 0;

  // Puts the job back to run again after `delay` (the attempt still counts). Return after it.
  virtual void release(std::chrono::milliseconds delay) = 0;
  // Gives the job up now: no more retries; failed() runs. Throws (does not return).
  [[noreturn]] virtual void fail(const std::string& reason) = 0;
  // Writes one line to the job log of whoever runs the job (the worker's or the dispatcher's).
  virtual void log(const std::string& line) const = 0;
  // The trace the job works for (core/trace.h; 32 hex digits), empty when it is untraced. Jobs
  // it dispatches and notifications it writes join the trace on their own.
  virtual const std::string& trace_id() const {
    static const std::string kNone;
    return kNone;
  }
};

class Job {
 public:
  virtual ~Job() = default;
  // Does the work. Throwing anything means this attempt failed: it is retried with backoff until
  // the tries run out (Guarantee 4).
  virtual void handle(JobContext& ctx) = 0;
  // Runs once when the job is given up, outside the failed attempt's transaction, with a
  // connection in the job's tenant context. For cleanup (mark an import failed, …).
  virtual void failed(JobContext& /*ctx*/, const std::string& /*error*/) {}
};

}  // namespace unity::queue
