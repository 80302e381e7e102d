// Dispatching, reading and cancelling batches and chains (queue/batch.h). What happens as their
// jobs finish is in batch_progress.cc.
#include "queue/batch.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/uuid.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "queue/batch_progress.h"

namespace unity::queue {

namespace {

using nlohmann::json;

constexpr const char* kInsertBatch =
    "INSERT INTO job_batches (id, tenant_id, name, total_jobs, pending_jobs, failed_jobs,"
    " failed_job_ids, options, created_at, created_by)"
    " VALUES ($1, $2, $3, $4, $4, 0, '[]', $5, $6, $7)";
constexpr const char* kBatchColumns =
    "SELECT id, name, tenant_id, total_jobs, pending_jobs, failed_jobs, failed_job_ids,"
    " cancelled_at, created_at, finished_at, created_by, cancelled_jobs FROM job_batches";

int64_t now_of(const Dispatcher& d) { return d.clock().now().time_since_epoch().count(); }

int64_t delay_us_of(const JobSpec& s) {
  return std::chrono::duration_cast<std::chrono::microseconds>(s.options.delay).count();
}

void check_tenant(db::Connection& conn, int64_t tenant_id) {
  if (tenant_id < 0) throw invalid_argument("tenant id must not be negative");
  if (tenant_id != 0 && conn.tenant() != tenant_id) db::find_tenant(conn, tenant_id);
}

// Prepares every job of `spec` (throws before anything is written) and returns the first one,
// carrying the rest of the chain when there is a rest or a catch job.
NewJob prepare_chain(const Dispatcher& d, int64_t tenant_id, const ChainSpec& spec,
                     std::string& chain_id) {
  if (spec.jobs.empty()) throw invalid_argument("a chain needs at least one job");
  auto prepare = [&](const JobSpec& s) {
    return d.prepare(s.type, tenant_id, s.payload, s.options);
  };
  auto template_of = [&](const JobSpec& s) { return job_template(prepare(s), delay_us_of(s)); };
  NewJob head = prepare(spec.jobs.front());
  json next = json::array();
  for (size_t i = 1; i < spec.jobs.size(); ++i) next.push_back(template_of(spec.jobs[i]));
  json catch_job = spec.catch_job ? template_of(*spec.catch_job) : json();
  chain_id = new_uuid().to_string();
  if (!next.empty() || spec.catch_job) {
    head.chain = json{{"id", chain_id}, {"next", next}, {"catch", catch_job}}.dump();
  }
  return head;
}

std::vector<InsertedJob> insert_jobs(db::Connection& conn, const Dispatcher& d,
                                     const std::vector<NewJob>& jobs) {
  JobStore store(conn, d.config().queue_table, d.clock());
  return store.job_insert_many(jobs);
}

Batch batch_from(const db::Row& r) {
  Batch b;
  b.id = r.get<std::string>(0);
  b.name = r.get<std::string>(1);
  b.tenant_id = r.get<int64_t>(2);
  b.total_jobs = r.get<int64_t>(3);
  b.pending_jobs = r.get<int64_t>(4);
  b.failed_jobs = r.get<int64_t>(5);
  b.failed_job_ids = json::parse(r.get<std::string>(6)).get<std::vector<std::string>>();
  b.cancelled_at_us = r.get<std::optional<int64_t>>(7);
  b.created_at_us = r.get<int64_t>(8);
  b.finished_at_us = r.get<std::optional<int64_t>>(9);
  b.user_id = r.get<std::optional<int64_t>>(10);
  b.cancelled_jobs = r.get<int64_t>(11);
  return b;
}

json time_json(std::optional<int64_t> us) {
  if (!us) return nullptr;
  return format_iso8601(TimePoint(std::chrono::microseconds(*us)));
}

}  // namespace

DispatchedBatch dispatch_batch(db::Connection& conn, const Dispatcher& d, int64_t tenant_id,
                               const BatchSpec& spec, std::optional<int64_t> user_id) {
  check_tenant(conn, tenant_id);
  if (spec.jobs.empty()) throw invalid_argument("a batch needs at least one job");
  const int64_t now = now_of(d);
  std::vector<NewJob> heads;
  int64_t total = 0;
  std::string chain_id;
  for (const ChainSpec& c : spec.jobs) {
    heads.push_back(prepare_chain(d, tenant_id, c, chain_id));
    total += static_cast<int64_t>(c.jobs.size());
  }
  json options = {{"allow_failures", spec.allow_failures}};
  auto callback = [&](const char* name, const std::optional<JobSpec>& s) {
    if (s) {
      options[name] =
          job_template(d.prepare(s->type, tenant_id, s->payload, s->options), delay_us_of(*s));
    }
  };
  callback("then", spec.then_job);
  callback("catch", spec.catch_job);
  callback("finally", spec.finally_job);

  DispatchedBatch out{new_uuid().to_string(), {}};
  for (NewJob& j : heads) j.batch_id = out.batch_id;
  std::optional<db::Transaction> tx;
  if (conn.transaction_depth() == 0) tx.emplace(conn);
  conn.execute(kInsertBatch, {out.batch_id, tenant_id, spec.name, total, options.dump(), now,
                              user_id ? db::Value{*user_id} : db::kNull});
  for (const InsertedJob& j : insert_jobs(conn, d, heads)) out.job_ids.push_back(j.id);
  if (tx) tx->commit();
  return out;
}

DispatchedChain dispatch_chain(db::Connection& conn, const Dispatcher& d, int64_t tenant_id,
                               const ChainSpec& spec) {
  check_tenant(conn, tenant_id);
  DispatchedChain out;
  NewJob head = prepare_chain(d, tenant_id, spec, out.chain_id);
  out.job_id = insert_jobs(conn, d, {head}).at(0).id;
  return out;
}

int Batch::progress() const {
  if (total_jobs <= 0) return 100;
  return static_cast<int>(processed_jobs() * 100 / total_jobs);
}

std::optional<Batch> batch_find(db::Connection& conn, int64_t tenant_id, const std::string& id) {
  auto row = conn.query_one(std::string(kBatchColumns) + " WHERE id = $1 AND tenant_id = $2",
                            {id, tenant_id});
  if (!row) return std::nullopt;
  return batch_from(*row);
}

std::vector<Batch> batch_list(db::Connection& conn, int64_t tenant_id, int limit,
                              const std::optional<BatchCursor>& before) {
  std::vector<Batch> out;
  std::string sql = std::string(kBatchColumns) + " WHERE tenant_id = $1";
  db::Params p{tenant_id, limit};
  if (before) {
    sql += " AND (created_at < $3 OR (created_at = $3 AND id < $4))";
    p.add(before->created_at_us).add(before->id);
  }
  sql += " ORDER BY created_at DESC, id DESC LIMIT $2";
  conn.query_each(sql, p, [&](const db::Row& r) { out.push_back(batch_from(r)); });
  return out;
}

Batch batch_cancel(db::Connection& conn, int64_t tenant_id, const std::string& id, int64_t now_us) {
  db::Transaction tx(conn);
  // The UPDATE first: it locks the row, so a job finishing meanwhile is either counted before
  // (and seen in finished_at) or after (and sees the cancellation).
  conn.execute(
      "UPDATE job_batches SET cancelled_at = $3 WHERE id = $1 AND tenant_id = $2"
      " AND cancelled_at IS NULL AND finished_at IS NULL",
      {id, tenant_id, now_us});
  auto b = batch_find(conn, tenant_id, id);
  if (!b) throw not_found("batch " + id + " not found");
  if (b->finished_at_us) {
    throw failed_precondition("batch " + id + " has already finished");
  }
  tx.commit();
  return *b;
}

json batch_json(const Batch& b) {
  return {{"id", b.id},
          {"name", b.name},
          {"tenant_id", b.tenant_id},
          {"total_jobs", b.total_jobs},
          {"pending_jobs", b.pending_jobs},
          {"processed_jobs", b.processed_jobs()},
          {"failed_jobs", b.failed_jobs},
          {"failed_job_ids", b.failed_job_ids},
          {"progress", b.progress()},
          {"cancelled_at", time_json(b.cancelled_at_us)},
          {"created_at", time_json(b.created_at_us)},
          {"finished_at", time_json(b.finished_at_us)},
          {"user_id", b.user_id ? json(*b.user_id) : json()},
          {"cancelled_jobs", b.cancelled_jobs}};
}

}  // namespace unity::queue
