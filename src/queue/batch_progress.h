#pragma once
// The bookkeeping of batches and chains when one of their jobs finishes (DESIGN.md "The Bus").
// Internal to the queue: JobStore calls record_finished() from the statement that deletes the
// job (completion, failure for good, skip), in that statement's transaction, so a worker killed
// at any point leaves either the job still queued or the job gone and its batch and chain
// updated, never one without the other.
//
// A chain is stored with the job that runs now (jobs.chain, JSON): its id, the prepared links
// still to run and its catch job. When the job succeeds the next link is inserted carrying the
// rest; when it fails for good the chain stops (the links left are counted as finished in its
// batch) and its catch job is inserted.
//
// A batch (job_batches): every finished job decrements pending_jobs (a failure also increments
// failed_jobs and appends the job's uuid to failed_job_ids; a job cancelled by queue:cancel
// increments cancelled_jobs: it is finished, not failed, and then no longer runs). The first
// failure inserts the batch's catch job and, without allow_failures, cancels the batch; the update
// that takes pending_jobs to 0 sets finished_at and inserts then (no failure, not cancelled) and
// finally. The UPDATE locks the batch row, so concurrent finishes serialise and each callback is
// inserted once.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "queue/store.h"

namespace unity::queue {

// What the deleting statement returns of a finished job (kFinishedColumns, in this order).
inline constexpr const char* kFinishedColumns =
    "uuid, tenant_id, batch_id, chain, trace_id, parent_span_id";
struct FinishedJob {
  std::string uuid;
  int64_t tenant_id = 0;
  std::optional<std::string> batch_id;
  std::optional<std::string> chain;
  std::optional<std::string> trace_id;  // what it queues (next link, callbacks) joins its trace
  std::optional<std::string> parent_span_id;

  bool in_batch_or_chain() const { return batch_id || chain; }
};
FinishedJob finished_from(const db::Row& row);

// Runs in the caller's transaction on `store`'s connection. Throws what the database throws.
void record_finished(JobStore& store, const FinishedJob& job, Finish how);

// True when the batch has been cancelled (its jobs not yet started are skipped).
bool batch_cancelled(db::Connection& conn, const std::string& batch_id);

// A job prepared at dispatch time (type checked, options resolved), kept as JSON until it is
// inserted: delay and retry_for are relative to the insertion. Tenant, batch and chain are not
// part of it. `delay_us` is the delay the job was dispatched with (Dispatcher::prepare stamped
// available_at = its own clock reading + delay): the template keeps that, never the time that
// passed between two clock readings (which made a later link wait, and a --stop-when-empty
// worker exit before it was ready).
nlohmann::json job_template(const NewJob& job, int64_t delay_us);
NewJob job_from_template(const nlohmann::json& t, int64_t tenant_id, int64_t now_us);

}  // namespace unity::queue
