#include "queue/attempt.h"

#include <random>

#include "core/error.h"
#include "core/trace.h"
#include "db/connection.h"
#include "db/spans.h"
#include "db/transaction.h"
#include "queue/batch_progress.h"
#include "queue/middleware_run.h"
#include "queue/payload_crypt.h"
#include "queue/running_job.h"

namespace unity::queue {

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kDone:
      return "done";
    case Outcome::kReleased:
      return "released";
    case Outcome::kDeferred:
      return "deferred";
    case Outcome::kRetry:
      return "retry";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kFenced:
      return "fenced";
    case Outcome::kError:
      return "error";
    case Outcome::kCancelled:
      return "cancelled";
  }
  return "error";
}

int AttemptDefaults::tries_for(const ClaimedJob& job) const {
  return job.max_tries.value_or(tries.value_or(3));
}

std::chrono::seconds AttemptDefaults::timeout_for(const ClaimedJob& job) const {
  return std::chrono::seconds(job.timeout_s.value_or(timeout_s.value_or(60)));
}

Backoff AttemptDefaults::backoff_for(const ClaimedJob& job) const {
  if (job.backoff) return Backoff::parse(*job.backoff);
  return backoff.value_or(Backoff::exponential());
}

Attempts::Attempts(const JobRegistry& registry, AttemptDefaults defaults, AuditLog* log,
                   JobLogSink job_log, const Config& config)
    : registry_(registry),
      defaults_(std::move(defaults)),
      log_(log),
      job_log_(std::move(job_log)),
      config_(config) {}

Outcome Attempts::run(JobStore& store, const ClaimedJob& job, const std::atomic<bool>& cancel,
                      std::string& error, bool& needs_ack) const {
  needs_ack = false;
  // A job of a cancelled batch is finished as skipped without running (nor counting as a failure).
  if (job.batch_id && batch_cancelled(store.connection(), *job.batch_id)) {
    return store.job_skip(job.lease()) ? Outcome::kDone : Outcome::kFenced;
  }
  const JobType* type = registry_.find(job.type);
  if (!type) {
    error = "unknown job type '" + job.type + "' (not registered in this worker)";
    return retry_or_fail(store, job, error, true);
  }
  if (job.retry_until_us && store.now_us() >= *job.retry_until_us) {
    error = "retry_until passed";
    return retry_or_fail(store, job, error, true);
  }
  // An encrypted type's job, its payload opened for this attempt only (the row stays sealed).
  std::optional<ClaimedJob> opened;  // left empty for other types: no copy, no allocation
  if (type->options.encrypted) {
    try {
      opened.emplace(job).payload = open_payload(config_, job.type, job.payload);
    } catch (const Error& e) {
      error = e.what();
      return retry_or_fail(store, job, error, true);
    }
  }
  db::Connection& conn = store.connection();
  std::optional<db::TenantScope> scope;
  if (job.tenant_id != 0) scope.emplace(conn, job.tenant_id);
  RunningJob ctx(opened ? *opened : job, conn, &store, &cancel, defaults_.tries_for(job),
                 &job_log_);
  auto release_at = [&] { return store.now_us() + ctx.released()->count() * 1000; };
  // A traced job's attempt is a span: the parent of what it dispatches or writes. Its row goes
  // into the statement's transaction that ends the attempt (no extra round trip on success).
  const bool traced = !job.trace_id.empty();
  trace::TraceScope scope_of_trace(job.trace_id, traced ? trace::new_span_id() : "");
  const int64_t started = traced ? store.now_us() : 0;
  auto span = [&](const char* status, const std::string& detail) {
    if (!traced) return;
    db::span_insert(
        conn, {job.trace_id, scope_of_trace.current().span_id, job.parent_span_id, job.tenant_id,
               job_span_kind(job.type), job.type, status, started, store.now_us(), detail});
  };
  // Declared before the handler's transaction, so its locks are released after the outcome.
  std::optional<MiddlewareRun> middleware;
  if (!type->options.middleware.empty()) {
    middleware.emplace(store, job, ctx, type->options.middleware, defaults_.timeout_for(job));
  }
  bool handled = false;  // past the middleware: an exception is the handler's
  auto failed = [&](bool give_up, std::optional<std::chrono::milliseconds> delay) {
    const Outcome o = retry_or_fail(store, job, error, give_up, delay);
    if (o == Outcome::kRetry || o == Outcome::kFailed) {
      try {
        span(o == Outcome::kRetry ? "retry" : "error", error);
      } catch (const Error&) {
        // The outcome is recorded; a span lost with the database is not worth failing over.
      }
    }
    return o;
  };
  try {
    if (middleware) {
      if (auto deferral = middleware->before()) {
        error = deferral->reason;
        return defer(store, job, *deferral);
      }
    }
    handled = true;
    auto instance = type->make();
    if (type->options.transactional) {
      db::Transaction tx(conn);
      instance->handle(ctx);
      if (cancel.load() && store.job_cancel_requested(job.lease())) {
        tx.rollback();  // a cancelled job leaves no work behind
        return store.job_cancel_finish(job.lease()) ? Outcome::kCancelled : Outcome::kFenced;
      }
      if (ctx.released()) {
        if (!store.job_release(job.lease(), release_at(), "")) return Outcome::kFenced;
        span("released", "");
        tx.commit();
        return Outcome::kReleased;
      }
      // Completing in the handler's transaction fences a worker whose lease was taken over.
      if (!store.job_complete(job.lease())) return Outcome::kFenced;
      span("ok", "job " + std::to_string(job.id));
      tx.commit();
      return Outcome::kDone;
    }
    instance->handle(ctx);
    // Only when asked to stop (a timeout or queue:cancel): no statement on the common path.
    if (cancel.load() && store.job_cancel_finish(job.lease())) return Outcome::kCancelled;
    if (ctx.released()) {
      return store.job_release(job.lease(), release_at(), "") ? Outcome::kReleased
                                                              : Outcome::kFenced;
    }
    try {
      span("ok", "job " + std::to_string(job.id));
    } catch (const Error&) {
      // Its work is done and stays done: a lost span must not make it run again.
    }
    needs_ack = true;
    return Outcome::kDone;
  } catch (const GiveUp& e) {
    error = e.what();
    return failed(true, std::nullopt);
  } catch (const std::exception& e) {
    error = e.what();
    if (cancel.load()) {
      error =
          "timed out after " + std::to_string(defaults_.timeout_for(job).count()) + " s: " + error;
    }
    std::optional<std::chrono::milliseconds> delay;
    if (middleware && handled) delay = middleware->after_exception();
    return failed(false, delay);
  }
}

bool Attempts::groupable(const ClaimedJob& job) const {
  const JobType* type = registry_.find(job.type);
  return type && type->options.transactional && type->options.middleware.empty();
}

Outcome Attempts::defer(JobStore& store, const ClaimedJob& job, const Deferral& d) const {
  if (d.drop) return store.job_skip(job.lease()) ? Outcome::kDone : Outcome::kFenced;
  return store.job_defer(job.lease(), store.now_us() + d.wait.count()) ? Outcome::kDeferred
                                                                       : Outcome::kFenced;
}

Outcome Attempts::retry_or_fail(JobStore& store, const ClaimedJob& job, const std::string& error,
                                bool give_up,
                                std::optional<std::chrono::milliseconds> delay_override) const {
  // A job queue:cancel flagged ends as cancelled, never retried or failed (one statement, on the
  // failure path only).
  if (store.job_cancel_finish(job.lease())) return Outcome::kCancelled;
  const bool expired = job.retry_until_us && store.now_us() >= *job.retry_until_us;
  if (give_up || expired || job.attempts >= defaults_.tries_for(job)) {
    if (!store.job_fail(job.lease(), error)) return Outcome::kFenced;
    run_failed_hook(store, job, error);
    return Outcome::kFailed;
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double jitter = std::uniform_real_distribution<double>(0, 1)(rng);
  const auto delay =
      delay_override.value_or(defaults_.backoff_for(job).delay(job.attempts, jitter));
  const int64_t at =
      store.now_us() + std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
  return store.job_release(job.lease(), at, error) ? Outcome::kRetry : Outcome::kFenced;
}

void Attempts::run_failed_hook(JobStore& store, const ClaimedJob& job,
                               const std::string& error) const {
  const JobType* type = registry_.find(job.type);
  if (!type) return;
  try {
    // An encrypted type's hook sees the payload opened; one that does not open skips the hook
    // (its handler never ran either).
    std::optional<ClaimedJob> opened;
    if (type->options.encrypted) {
      opened.emplace(job).payload = open_payload(config_, job.type, job.payload);
    }
    std::optional<db::TenantScope> scope;
    if (job.tenant_id != 0) scope.emplace(store.connection(), job.tenant_id);
    RunningJob ctx(opened ? *opened : job, store.connection(), nullptr, nullptr,
                   defaults_.tries_for(job), &job_log_);
    type->make()->failed(ctx, error);
  } catch (const std::exception& e) {
    if (log_) log_->event("failed_hook_error", job.type + ": " + e.what());
  }
}

}  // namespace unity::queue
