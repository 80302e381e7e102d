#pragma once
// One attempt at a claimed job, and what becomes of a failed one: the part of the worker that
// knows job semantics (Guarantees 3 and 4). The threads around it (worker.h) only move jobs.

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "core/config.h"
#include "queue/audit_log.h"
#include "queue/job.h"
#include "queue/registry.h"
#include "queue/store.h"

namespace unity::queue {

struct Deferral;

// How an attempt ended.
enum class Outcome {
  kDone,       // completed (a non-transactional job still needs its acknowledgement written)
  kReleased,   // the handler asked to run again later (ctx.release)
  kDeferred,   // a middleware put it back before it ran; its attempt does not count
  kRetry,      // failed; back to the queue with backoff
  kFailed,     // given up: in failed_jobs, failed() ran
  kFenced,     // its lease was taken over meanwhile: nothing recorded by this worker
  kError,      // the database failed around the handler; see Attempts::run
  kCancelled,  // queue:cancel asked it to stop: recorded as cancelled, never retried or failed
};
// "done", "released", "deferred", "retry", "failed", "fenced", "error", "cancelled": the audit
// log's words.
const char* outcome_name(Outcome o);

// The worker's defaults for jobs whose type sets none (--tries, --timeout, --backoff).
struct AttemptDefaults {
  std::optional<int> tries;
  std::optional<int> timeout_s;
  std::optional<Backoff> backoff;

  int tries_for(const ClaimedJob& job) const;
  std::chrono::seconds timeout_for(const ClaimedJob& job) const;
  Backoff backoff_for(const ClaimedJob& job) const;
};

class Attempts {
 public:
  // All must outlive this; `log` may be null; `job_log` may be empty (stderr). `config` holds
  // the keys that open encrypted types' payloads (APP_KEY, APP_PREVIOUS_KEYS).
  Attempts(const JobRegistry& registry, AttemptDefaults defaults, AuditLog* log, JobLogSink job_log,
           const Config& config);

  // Runs one attempt on `store`'s connection. A transactional job completes (or is released) in
  // the handler's transaction; a non-transactional one that returns is kDone with `needs_ack`
  // set: the caller acknowledges it (in a batch). `error` receives the failure's text. An
  // encrypted type's payload is opened right before handle(); one that does not open fails the
  // job for good at once (a key problem does not mend itself between retries), its failed()
  // hook not run, the row still sealed in failed_jobs.
  // `cancel` is set past the timeout and when queue:cancel flagged the job (the keeper hears of
  // it): an attempt that ends with it set, however it ends, is recorded as cancelled when the job
  // is flagged (kCancelled); a transactional job's work is then rolled back.
  // Throws only when the database fails while recording the outcome.
  Outcome run(JobStore& store, const ClaimedJob& job, const std::atomic<bool>& cancel,
              std::string& error, bool& needs_ack) const;

  // A failed attempt: retried with backoff, or given up (failed_jobs and the failed() hook) when
  // `give_up`, its tries are spent or its retry_until has passed; recorded as cancelled instead
  // (kCancelled) when queue:cancel flagged the job, whether this worker heard of it or not.
  // `delay`: the retry's delay instead of the backoff's (ThrottleExceptions::backoff).
  Outcome retry_or_fail(JobStore& store, const ClaimedJob& job, const std::string& error,
                        bool give_up,
                        std::optional<std::chrono::milliseconds> delay = std::nullopt) const;

  const AttemptDefaults& defaults() const { return defaults_; }
  // True when `job`'s type is registered, runs in the handler's transaction and has no
  // middleware (whose locks and counters must commit on their own): it may run in a group
  // (executors.h).
  bool groupable(const ClaimedJob& job) const;

 private:
  // A middleware's "not now": back to the queue without using an attempt (or dropped).
  Outcome defer(JobStore& store, const ClaimedJob& job, const Deferral& d) const;
  void run_failed_hook(JobStore& store, const ClaimedJob& job, const std::string& error) const;

  const JobRegistry& registry_;
  AttemptDefaults defaults_;
  AuditLog* log_;
  JobLogSink job_log_;
  const Config& config_;
};

}  // namespace unity::queue
