#pragma once
// Batches and chains (DESIGN.md "The Bus"), as Laravel's Bus::batch and Bus::chain.
//
// A batch is a set of jobs (or chains) dispatched together in the caller's transaction, with
// optional `then` (runs once when every job has succeeded), `catch` (once, at the first job that
// fails for good) and `finally` (once when every job has finished, cancelled or not) jobs.
// Without allow_failures the first failure cancels the batch. A cancelled batch's jobs that have
// not started are skipped: the worker that claims one finishes it without running it. A job is
// finished when it succeeded, failed for good or was skipped; pending_jobs counts the rest.
//
// A chain runs its jobs one after another: each link is inserted in the transaction that
// completes the one before, so a worker killed at any point neither loses nor duplicates a link.
// A link that fails for good stops the chain and inserts its `catch` job. A chain may be one
// entry of a batch; each of its links counts as one of the batch's jobs.
//
// The counters and callbacks are kept in the transaction that finishes each job (queue/store.h,
// queue/batch_progress.h), so they stay exact when workers are killed mid-batch. Batches and
// chains always go through the database queue, also with QUEUE_CONNECTION=sync.
//
// A failed job of a batch that is retried (queue:retry) runs on its own: its batch has already
// counted it as finished.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "db/connection.h"
#include "queue/dispatch.h"

namespace unity::queue {

// One job of a batch or a chain: {"type","data"?,"queue"?,"priority"?,"delay"?} in JSON.
struct JobSpec {
  std::string type;
  std::string payload = "{}";  // a JSON object ("data")
  DispatchOptions options;     // queue, delay and priority are used
};

// {"jobs":[spec…],"catch"?:spec} (queue:chain), or {"chain":[spec…],"catch"?:spec} in a batch.
struct ChainSpec {
  std::vector<JobSpec> jobs;  // at least one
  std::optional<JobSpec> catch_job;
};

// {"name","jobs":[spec|chain…],"then"?,"catch"?,"finally"?,"allow_failures"?}.
struct BatchSpec {
  std::string name;
  std::vector<ChainSpec> jobs;  // at least one; a single job is a chain of one
  std::optional<JobSpec> then_job, catch_job, finally_job;
  bool allow_failures = false;
};

// Parse the JSON forms above. Throws Error(kInvalidArgument) naming the field (unknown fields,
// wrong types, empty job lists, more than 100,000 jobs). Job types are checked on dispatch.
BatchSpec parse_batch_spec(std::string_view json);
ChainSpec parse_chain_spec(std::string_view json);

struct DispatchedBatch {
  std::string batch_id;          // a UUID
  std::vector<int64_t> job_ids;  // the jobs inserted now (the first link of each chain)
};
struct DispatchedChain {
  std::string chain_id;  // a UUID
  int64_t job_id = 0;    // its first job
};

// Validate every job (registered type, JSON object payload, options: kInvalidArgument; tenant
// unknown: kNotFound) before writing anything, then insert in the caller's transaction when there
// is one, else in their own: all or nothing.
// `user_id`: who created the batch (queue:batch --user, the token's user over HTTP), recorded
// as job_batches.created_by; nullopt: not said.
DispatchedBatch dispatch_batch(db::Connection& conn, const Dispatcher& dispatcher,
                               int64_t tenant_id, const BatchSpec& spec,
                               std::optional<int64_t> user_id = std::nullopt);
DispatchedChain dispatch_chain(db::Connection& conn, const Dispatcher& dispatcher,
                               int64_t tenant_id, const ChainSpec& spec);

// A batch as stored. Times are microseconds since the epoch.
struct Batch {
  std::string id;
  std::string name;
  int64_t tenant_id = 0;
  int64_t total_jobs = 0, pending_jobs = 0, failed_jobs = 0;
  std::vector<std::string> failed_job_ids;  // uuids
  std::optional<int64_t> cancelled_at_us;
  int64_t created_at_us = 0;
  std::optional<int64_t> finished_at_us;
  std::optional<int64_t> user_id;  // who created it (created_by)
  int64_t cancelled_jobs = 0;      // finished by queue:cancel (counted in processed_jobs)

  int64_t processed_jobs() const { return total_jobs - pending_jobs; }
  int progress() const;  // 0–100, rounded down
};

// A tenant's batch; another tenant's is as unknown as a missing one.
std::optional<Batch> batch_find(db::Connection& conn, int64_t tenant_id, const std::string& id);
// A tenant's batches, newest first; `before` (a page's cursor: the last batch of the page
// before, as its created_at and id) gives the ones after it.
struct BatchCursor {
  int64_t created_at_us = 0;
  std::string id;
};
std::vector<Batch> batch_list(db::Connection& conn, int64_t tenant_id, int limit,
                              const std::optional<BatchCursor>& before = std::nullopt);
// Cancels a tenant's batch: its jobs not yet started are skipped, then and catch never run,
// finally runs when the last job has finished. kNotFound for an unknown or another tenant's
// batch; kFailedPrecondition when it has finished already. Cancelling twice keeps the first time.
Batch batch_cancel(db::Connection& conn, int64_t tenant_id, const std::string& id, int64_t now_us);

// batch:show's shape: {"id","name","tenant_id","total_jobs","pending_jobs","processed_jobs",
// "failed_jobs","failed_job_ids":[…],"progress","cancelled_at","created_at","finished_at",
// "user_id","cancelled_jobs"}, times ISO 8601 or null, user_id null when not recorded.
nlohmann::json batch_json(const Batch& b);

}  // namespace unity::queue
