#include "queue/batch_progress.h"

#include <nlohmann/json.hpp>

#include "db/connection.h"

namespace unity::queue {

namespace {

using nlohmann::json;

// One finished job's effect on its batch's counters; returns the batch's state after it.
constexpr const char* kCountFinished =
    "UPDATE job_batches SET pending_jobs = pending_jobs - $2, failed_jobs = failed_jobs + $3,"
    " cancelled_jobs = cancelled_jobs + $6,"
    " failed_job_ids = CASE WHEN $3 = 0 THEN failed_job_ids"
    "   WHEN failed_job_ids = '[]' THEN '[\"' || CAST($4 AS TEXT) || '\"]'"
    "   ELSE substr(failed_job_ids, 1, length(failed_job_ids) - 1) || ',\"' ||"
    "        CAST($4 AS TEXT) || '\"]' END,"
    " finished_at = CASE WHEN pending_jobs - $2 <= 0 THEN $5 ELSE finished_at END"
    " WHERE id = $1 RETURNING pending_jobs, failed_jobs, cancelled_at, options, cancelled_jobs";
constexpr const char* kCancel =
    "UPDATE job_batches SET cancelled_at = $2 WHERE id = $1 AND cancelled_at IS NULL";

std::optional<int64_t> opt_field(const json& t, const char* name) {
  auto it = t.find(name);
  if (it == t.end() || it->is_null()) return std::nullopt;
  return it->get<int64_t>();
}

// The callback named `name` of a batch's options, or of a chain, when it has one.
void add_callback(std::vector<NewJob>& out, const json& holder, const char* name, int64_t tenant_id,
                  int64_t now) {
  auto it = holder.find(name);
  if (it != holder.end() && !it->is_null()) out.push_back(job_from_template(*it, tenant_id, now));
}

void count_in_batch(JobStore& store, const FinishedJob& job, Finish how, int64_t finished,
                    std::vector<NewJob>& enqueue) {
  db::Connection& conn = store.connection();
  const int64_t now = store.now_us();
  const int64_t failed = how == Finish::kFailed ? 1 : 0;
  const int64_t cancelled_one = how == Finish::kCancelled ? 1 : 0;
  auto row = conn.query_one(kCountFinished,
                            {*job.batch_id, finished, failed, job.uuid, now, cancelled_one});
  if (!row) return;  // the batch row was deleted (pruned): nothing to count
  const int64_t pending = row->get<int64_t>(0);
  const int64_t failed_jobs = row->get<int64_t>(1);
  bool cancelled = row->get<std::optional<int64_t>>(2).has_value();
  const json options = json::parse(row->get<std::string>(3));
  const int64_t cancelled_jobs = row->get<int64_t>(4);
  if (failed == 1 && failed_jobs == 1) {  // the first failure
    add_callback(enqueue, options, "catch", job.tenant_id, now);
    if (!options.value("allow_failures", false) && !cancelled) {
      conn.execute(kCancel, {*job.batch_id, now});
      cancelled = true;
    }
  }
  if (pending <= 0 && pending + finished > 0) {  // this finish took the batch to done
    // then: every job succeeded (none failed, none cancelled one by one, the batch not cancelled).
    if (failed_jobs == 0 && cancelled_jobs == 0 && !cancelled) {
      add_callback(enqueue, options, "then", job.tenant_id, now);
    }
    add_callback(enqueue, options, "finally", job.tenant_id, now);
  }
}

}  // namespace

FinishedJob finished_from(const db::Row& r) {
  return {r.get<std::string>(0),
          r.get<int64_t>(1),
          r.get<std::optional<std::string>>(2),
          r.get<std::optional<std::string>>(3),
          r.get<std::optional<std::string>>(4),
          r.get<std::optional<std::string>>(5)};
}

void record_finished(JobStore& store, const FinishedJob& job, Finish how) {
  const int64_t now = store.now_us();
  std::vector<NewJob> enqueue;
  int64_t finished = 1;  // this job, and the links of its chain that will never run
  if (job.chain) {
    json chain = json::parse(*job.chain);  // written by us (queue/batch.cc)
    json& next = chain["next"];
    if (how == Finish::kSucceeded && !next.empty()) {
      NewJob link = job_from_template(next.front(), job.tenant_id, now);
      next.erase(next.begin());
      link.batch_id = job.batch_id;
      link.chain = chain.dump();
      enqueue.push_back(std::move(link));
    } else if (how != Finish::kSucceeded) {
      finished += static_cast<int64_t>(next.size());
      if (how == Finish::kFailed) add_callback(enqueue, chain, "catch", job.tenant_id, now);
    }
  }
  if (job.batch_id) count_in_batch(store, job, how, finished, enqueue);
  if (enqueue.empty()) return;
  for (NewJob& j : enqueue) {  // the work it causes stays in its trace, beside it
    j.trace_id = job.trace_id.value_or("");
    j.parent_span_id = job.parent_span_id.value_or("");
  }
  store.job_insert_many(enqueue);
}

bool batch_cancelled(db::Connection& conn, const std::string& batch_id) {
  auto row = conn.query_one("SELECT cancelled_at FROM job_batches WHERE id = $1", {batch_id});
  return row && row->get<std::optional<int64_t>>(0).has_value();
}

json job_template(const NewJob& job, int64_t delay_us) {
  json t = {{"type", job.type}, {"queue", job.queue}, {"payload", job.payload}};
  if (delay_us > 0) t["delay_us"] = delay_us;
  const int64_t now_us = job.available_at_us - delay_us;  // prepare()'s clock reading
  if (job.max_tries) t["max_tries"] = *job.max_tries;
  if (job.timeout_s) t["timeout_s"] = *job.timeout_s;
  if (job.backoff) t["backoff"] = *job.backoff;
  if (job.retry_until_us) t["retry_for_us"] = *job.retry_until_us - now_us;
  if (job.priority != 0) t["priority"] = job.priority;
  return t;
}

NewJob job_from_template(const json& t, int64_t tenant_id, int64_t now_us) {
  NewJob j;
  j.tenant_id = tenant_id;
  j.queue = t.at("queue").get<std::string>();
  j.type = t.at("type").get<std::string>();
  j.payload = t.at("payload").get<std::string>();
  j.available_at_us = now_us + opt_field(t, "delay_us").value_or(0);
  if (auto v = opt_field(t, "max_tries")) j.max_tries = static_cast<int>(*v);
  if (auto v = opt_field(t, "timeout_s")) j.timeout_s = static_cast<int>(*v);
  if (auto it = t.find("backoff"); it != t.end()) j.backoff = it->get<std::string>();
  if (auto v = opt_field(t, "retry_for_us")) j.retry_until_us = now_us + *v;
  if (auto v = opt_field(t, "priority")) j.priority = static_cast<int>(*v);
  return j;
}

}  // namespace unity::queue
