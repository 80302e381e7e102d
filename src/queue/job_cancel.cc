// queue:cancel on the store (JobStore::job_cancel, job_cancel_finish; queue/store.h). A waiting
// job is deleted at once; a running one is flagged, and the attempt that runs it ends it as
// cancelled (queue/attempt.cc) once its worker has heard of the flag through its heartbeat.
#include <algorithm>
#include <cctype>

#include "core/error.h"
#include "db/transaction.h"
#include "queue/batch_progress.h"
#include "queue/store.h"

namespace unity::queue {

namespace {

// The job named by an id (digits) or a uuid (anything else): the WHERE fragment on $2.
bool is_id(const std::string& key) {
  return !key.empty() && key.size() < 19 &&
         std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

CancelledJob JobStore::job_cancel(int64_t tenant_id, const std::string& id_or_uuid) {
  const bool by_id = is_id(id_or_uuid);
  const std::string match = by_id ? " AND id = $2" : " AND uuid = $2";
  const db::Value key = by_id ? db::Value{std::stoll(id_or_uuid)} : db::Value{id_or_uuid};
  db::Transaction tx(conn_);
  // A waiting job, locked: a worker claiming it meanwhile either took it before (it is reserved
  // and gets flagged below) or waits and then finds it gone. SKIP LOCKED: one being claimed right
  // now is left to the flag, which waits for the claim to commit.
  auto waiting = conn_.query_one(t("SELECT id FROM {q} WHERE tenant_id = $1" + match +
                                   " AND reserved_at IS NULL" + skip_locked()),
                                 {tenant_id, key});
  if (waiting) {
    const int64_t id = waiting->get<int64_t>(0);
    job_cancel_record(id);
    auto row = conn_.query_one(
        t(std::string("DELETE FROM {q} WHERE id = $1 AND reserved_at IS NULL RETURNING ") +
          kFinishedColumns),
        {id});
    if (row) {
      if (FinishedJob f = finished_from(*row); f.in_batch_or_chain()) {
        record_finished(*this, f, Finish::kCancelled);
      }
      tx.commit();
      return {id, CancelState::kCancelled};
    }
  }
  // Running: only flagged here (its worker may be another process or host).
  auto running =
      conn_.query_one(t("UPDATE {q} SET cancel_requested_at = COALESCE(cancel_requested_at, $3)"
                        " WHERE tenant_id = $1" +
                        match + " AND reserved_at IS NOT NULL RETURNING id"),
                      {tenant_id, key, now_us()});
  if (running) {
    tx.commit();
    return {running->get<int64_t>(0), CancelState::kCancelling};
  }
  throw not_found("job " + id_or_uuid + " not found (waiting or running jobs only)");
}

bool JobStore::job_cancel_finish(Lease lease) {
  db::Transaction tx(conn_);
  if (keep_finished_.count() > 0) {
    finished_record("cancelled", "id = $2 AND lease_token = $3 AND cancel_requested_at IS NOT NULL",
                    {now_us(), lease.id, lease.token});
  }
  auto row = conn_.query_one(t(std::string("DELETE FROM {q} WHERE id = $1 AND lease_token = $2"
                                           " AND cancel_requested_at IS NOT NULL RETURNING ") +
                               kFinishedColumns),
                             {lease.id, lease.token});
  if (!row) return false;  // rolls back the record above
  if (FinishedJob f = finished_from(*row); f.in_batch_or_chain()) {
    record_finished(*this, f, Finish::kCancelled);
  }
  tx.commit();
  return true;
}

bool JobStore::job_cancel_requested(Lease lease) {
  auto row = conn_.query_one(t("SELECT cancel_requested_at FROM {q} WHERE id = $1"
                               " AND lease_token = $2 AND cancel_requested_at IS NOT NULL"),
                             {lease.id, lease.token});
  return row.has_value();
}

}  // namespace unity::queue
