#pragma once
// JobStore: the database queue driver: every statement on the queue tables, on either database
// (method families noun-first, as on River's driver seam: job_insert_many, job_claim, …).
//
// A JobStore wraps one Connection and, like it, is used by one thread at a time. Statements that
// must be atomic run in a Transaction (nested in the caller's when there is one). Times are
// microseconds since the Unix epoch from the injected clock.
//
// Fencing (Guarantee 2): every claim stamps its jobs with a fresh random lease_token; completing,
// releasing or failing a job names that token and changes nothing when another claim has taken
// the job over since (the call returns false).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "db/connection.h"

namespace unity::queue {

// How a job finished, for its batch and chain (queue/batch_progress.h).
// kCancelled: taken off by queue:cancel (JobStore::job_cancel); it counts as finished like a
// skipped job, is never a failure, and keeps its batch's then job from running.
enum class Finish { kSucceeded, kFailed, kSkipped, kCancelled };

// What queue:cancel did: a waiting job is gone (kCancelled); a running one is flagged and its
// worker asked to stop (kCancelling).
enum class CancelState { kCancelled, kCancelling };
struct CancelledJob {
  int64_t id = 0;
  CancelState state = CancelState::kCancelled;
};

struct NewJob {
  int64_t tenant_id = 0;  // 0: a system job
  std::string queue;
  std::string type;
  std::string payload;  // a JSON object
  int64_t available_at_us = 0;
  std::optional<int> max_tries;
  std::optional<int> timeout_s;
  std::optional<std::string> backoff;  // Backoff::to_string()
  std::optional<int64_t> retry_until_us;
  std::optional<std::string> unique_key;
  int priority = 0;                     // higher first within one queue and tenant
  std::optional<std::string> batch_id;  // queue/batch.h
  std::optional<std::string> chain;     // the rest of its chain (queue/batch_progress.h)
  // The trace it works for and the span that dispatched it (core/trace.h); empty: untraced.
  std::string trace_id;
  std::string parent_span_id;
};

struct InsertedJob {
  int64_t id = 0;
  std::string uuid;
  std::string queue;
};

// A claim on one job: its id and the token of the claim that holds it (fencing).
struct Lease {
  int64_t id = 0;
  int64_t token = 0;
  bool operator==(const Lease&) const = default;
};

// One claim round trip: up to `limit` ready jobs of `tenant_id` in `queue`, for `lease_us`.
struct ClaimParams {
  std::string queue;
  int64_t tenant_id = 0;
  int limit = 1;
  int64_t lease_token = 0;
  std::string worker;  // recorded in jobs.worker
  int64_t lease_us = 0;
};

struct ClaimedJob {
  int64_t id = 0;
  std::string uuid;
  int64_t tenant_id = 0;
  std::string queue;
  std::string type;
  std::string payload;
  int attempts = 0;  // including this one
  std::optional<int> max_tries;
  std::optional<int> timeout_s;
  std::optional<std::string> backoff;
  std::optional<int64_t> retry_until_us;
  int64_t lease_token = 0;
  int priority = 0;
  int64_t available_at_us = 0;  // when it could first run (this attempt)
  int64_t claimed_at_us = 0;    // when this claim took it (the wait: claimed - available)
  std::optional<std::string> batch_id;
  std::optional<std::string> chain;
  std::string trace_id;  // empty: untraced (NewJob::trace_id)
  std::string parent_span_id;

  Lease lease() const { return {id, lease_token}; }
};

struct FailedJob {
  int64_t id = 0;
  std::string uuid;
  int64_t tenant_id = 0;
  std::string queue;
  std::string type;
  std::string payload;
  int attempts = 0;
  std::string exception;
  std::string failed_at;
};

// One row of `queue:jobs`.
struct JobRow {
  int64_t id = 0;
  std::string uuid;
  std::string type;
  std::string queue;
  std::string state;  // ready|delayed|reserved|completed|failed|cancelled
  int attempts = 0;
  int64_t created_at_us = 0;
  std::optional<int64_t> finished_at_us;
  int priority = 0;
  std::optional<std::string> batch_id;
};

struct QueueCounts {
  std::string queue;
  int64_t ready = 0, reserved = 0, delayed = 0, failed = 0;
};
struct TenantCounts {
  int64_t tenant_id = 0;
  int64_t ready = 0, reserved = 0, delayed = 0, failed = 0;  // ready: available now
};
struct TenantSettings {
  int64_t tenant_id = 0;
  int weight = 1;
  std::optional<int> max_concurrency;
};

class JobStore {
 public:
  JobStore(db::Connection& conn, std::string table, const Clock& clock);

  db::Connection& connection() { return conn_; }
  int64_t now_us() const;

  // QUEUE_KEEP_COMPLETED_MINUTES. Above 0, completing, failing for good and job_cancel_record
  // first copy the job into finished_jobs (same transaction) for `queue:jobs`; 0 (the default):
  // the job is only deleted.
  void set_keep_finished(std::chrono::minutes keep) { keep_finished_ = keep; }
  std::chrono::minutes keep_finished() const { return keep_finished_; }

  // Inserts jobs in the caller's transaction (or its own), then wakes workers (NOTIFY, delivered
  // on commit). A unique_key already waiting or running in the tenant: kAlreadyExists.
  std::vector<InsertedJob> job_insert_many(const std::vector<NewJob>& jobs);

  // Tenants with jobs waiting in `queue` (ready or delayed), ascending.
  std::vector<int64_t> job_tenants_waiting(const std::string& queue);
  // Claims up to `limit` ready jobs of one tenant in one queue, oldest first (by id).
  std::vector<ClaimedJob> job_claim(const ClaimParams& params);
  // How many of a tenant's jobs are reserved right now (for its concurrency cap).
  int64_t job_count_reserved(int64_t tenant_id);

  // Completing, failing for good and skipping a job of a batch or a chain also do its batch's
  // and chain's bookkeeping (counters, the next link, then/catch/finally) in the same
  // transaction (queue/batch_progress.h).
  //
  // Deletes completed jobs whose lease token still matches; returns how many.
  int64_t job_complete_many(const std::vector<Lease>& leases);
  // Deletes one completed job in the caller's transaction (the handler's); false if fenced off.
  bool job_complete(Lease lease);
  // Finishes a job of a cancelled batch without running it (skipped). False if fenced off.
  bool job_skip(Lease lease);
  // Back to ready at `available_at_us` (the attempt counts). False if fenced off.
  bool job_release(Lease lease, int64_t available_at_us, const std::string& error);
  // Back to ready at `available_at_us` with its attempt given back: a middleware deferred it
  // before it ran (queue/middleware.h). False if fenced off.
  bool job_defer(Lease lease, int64_t available_at_us);
  // Claimed but never started (worker stopping): back to ready, attempt not counted.
  int64_t job_unclaim(const std::vector<Lease>& leases);
  // Moves the job to failed_jobs with `error`. False if fenced off.
  bool job_fail(Lease lease, const std::string& error);
  // Records progress (0–100).
  void job_progress(Lease lease, int percent);

  // Finished jobs (QUEUE_KEEP_COMPLETED_MINUTES > 0). Copies job `id` into finished_jobs as
  // cancelled when jobs are kept (for the cancel path, before it deletes the job, in its
  // transaction); false when not kept or no such job.
  bool job_cancel_record(int64_t id);
  // Deletes finished_jobs rows that finished before now minus the retention (all of them when
  // the retention is 0); returns how many.
  int64_t finished_prune();
  // A tenant's jobs for `queue:jobs`: waiting and running ones from the queue table, finished
  // ones from finished_jobs, newest first (by id). `state`: ready, delayed, reserved, completed,
  // failed or cancelled (kInvalidArgument otherwise); `type`: that type only.
  std::vector<JobRow> jobs_list(int64_t tenant_id, std::optional<std::string> state,
                                std::optional<std::string> type, int limit);

  // Cancels tenant `tenant_id`'s job `id_or_uuid` (an id or a uuid). A ready or delayed job is
  // deleted (recorded in finished_jobs as cancelled when jobs are kept; its batch and chain count
  // it as finished, Finish::kCancelled): kCancelled. A reserved one is flagged
  // (cancel_requested_at; asking twice keeps the first time): kCancelling; its worker notices the
  // flag at its next heartbeat (lease_extend) and job_cancel_finish() records the end. An unknown,
  // finished or other tenant's job: kNotFound.
  CancelledJob job_cancel(int64_t tenant_id, const std::string& id_or_uuid);
  // Ends an attempt of a job flagged by job_cancel: deletes it as cancelled (Finish::kCancelled)
  // when its lease token still matches and it is flagged; false otherwise (not flagged, or fenced
  // off: whoever finished it first won). Its own transaction, or the caller's.
  bool job_cancel_finish(Lease lease);
  // Whether job_cancel flagged the job this lease holds (false when fenced off).
  bool job_cancel_requested(Lease lease);

  // Extends the leases named: the ones this worker process holds. Fenced like completion: a job
  // taken over since is left alone. Returns how many. `cancel_requested` (may be null) receives
  // the ids of those jobs flagged by job_cancel, from the same statement (no extra round trip).
  int64_t lease_extend(const std::vector<Lease>& leases, int64_t lease_us,
                       std::vector<int64_t>* cancel_requested = nullptr);
  // Jobs whose lease expired (their worker died): returned with a fresh token, still reserved,
  // so the caller can release or fail each.
  std::vector<ClaimedJob> lease_rescue_expired(int64_t lease_token, int limit);

  // Pauses, weights, caps, signals.
  void tenant_pause(int64_t tenant_id, const std::string& queue);  // queue "*" = all
  int64_t tenant_resume(int64_t tenant_id, const std::string& queue);
  // (tenant, queue) pairs paused; queue "*" pauses all.
  std::vector<std::pair<int64_t, std::string>> tenant_pauses();
  std::vector<TenantSettings> tenant_settings();
  void tenant_set_weight(int64_t tenant_id, int weight, std::optional<int> max_concurrency);
  // Records the time of `queue:restart` and, where the driver has LISTEN/NOTIFY, wakes idle
  // workers with a notification on unity_jobs carrying kRestartPayload.
  void signal_restart();
  int64_t signal_restart_at();  // 0 when never

  // Failed jobs (queue:failed / retry / forget / flush). `tenant_id` set: only that tenant's
  // rows are seen, moved or deleted (the tenant's own view, GET /api/v1/queue/failed…); another
  // tenant's row is as unknown as a missing one.
  // Newest first; `before_id` (a page's cursor): only rows with a smaller id.
  std::vector<FailedJob> failed_list(std::optional<int64_t> tenant_id, int limit,
                                     std::optional<int64_t> before_id = std::nullopt);
  // Moves failed jobs back to the queue (fresh attempts). `ids` are ids or uuids; "all" = every
  // one (optionally of one queue). kNotFound naming the first unknown id; nothing moved then.
  std::vector<InsertedJob> failed_retry(const std::vector<std::string>& ids,
                                        std::optional<std::string> queue,
                                        std::optional<int64_t> tenant_id = std::nullopt);
  bool failed_forget(const std::string& id_or_uuid,
                     std::optional<int64_t> tenant_id = std::nullopt);
  int64_t failed_flush(std::optional<int> older_than_hours);

  // Adds to the per-minute throughput counters (queue:stats). Workers count in memory and call
  // this about once a second, so no job's transaction waits on the shared counter row.
  void metrics_add(const std::string& queue, int64_t completed, int64_t failed);

  // Counts per queue and per tenant; `tenant_id` set: that tenant's jobs only.
  std::vector<QueueCounts> stats_queues(std::optional<int64_t> tenant_id = std::nullopt);
  std::vector<TenantCounts> stats_tenants(std::optional<int64_t> tenant_id = std::nullopt);
  // Jobs completed and failed in the last `minutes` minutes.
  std::pair<int64_t, int64_t> stats_throughput(int minutes);
  // Jobs not yet finished (ready, delayed or reserved) in `queue`, or in all queues when empty.
  int64_t job_count_unfinished(const std::string& queue = "");

 private:
  const std::string& t(std::string_view sql) const;  // replaces {q} with the queue table
  std::string skip_locked() const;

  ClaimedJob claimed_from(const db::Row& r) const;
  // Deletes one job whose lease token matches and does its batch/chain bookkeeping as `how`.
  bool finish_one(Lease lease, Finish how);
  // Runs an INSERT … RETURNING id of `job`; a clash of its unique key is kAlreadyExists naming it.
  int64_t insert_one(const std::string& sql, const db::Params& p, const NewJob& job);

  // Copies the jobs `where` selects (parameters from $2 on; $1 is the time) into finished_jobs
  // as `state`, when jobs are kept; the rows written (inserted or updated).
  int64_t finished_record(std::string_view state, const std::string& where, db::Params params);

  db::Connection& conn_;
  std::string table_;
  const Clock& clock_;
  std::chrono::minutes keep_finished_{0};
};

// The payload of the unity_jobs notification sent by signal_restart().
inline constexpr const char* kRestartPayload = "restart";

// A fresh 63-bit random lease token.
int64_t new_lease_token();

}  // namespace unity::queue
