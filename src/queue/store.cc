#include "queue/store.h"

#include <algorithm>
#include <bit>
#include <map>
#include <random>
#include <unordered_map>

#include "core/error.h"
#include "core/uuid.h"
#include "db/transaction.h"
#include "db/values_sql.h"
#include "queue/batch_progress.h"

namespace unity::queue {

namespace {

constexpr const char* kClaimedColumns =
    "id, uuid, tenant_id, queue, type, payload, attempts, max_tries, timeout_s, backoff, "
    "retry_until, lease_token, priority, available_at, reserved_at, batch_id, chain, trace_id,"
    " parent_span_id";
constexpr size_t kClaimedColumnCount = 19;  // claimed_from reads them by position

std::optional<int> opt_int(const db::Row& r, const char* c) {
  auto v = r.get<std::optional<int64_t>>(c);
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

db::Value opt(const std::optional<int>& v) { return v ? db::Value{int64_t{*v}} : db::kNull; }
db::Value opt(const std::optional<int64_t>& v) { return v ? db::Value{*v} : db::kNull; }
db::Value opt(const std::optional<std::string>& v) { return v ? db::Value{*v} : db::kNull; }
db::Value opt_text(const std::string& v) { return v.empty() ? db::kNull : db::Value{v}; }

}  // namespace

int64_t new_lease_token() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return static_cast<int64_t>(rng() >> 1) | 1;
}

JobStore::JobStore(db::Connection& conn, std::string table, const Clock& clock)
    : conn_(conn), table_(std::move(table)), clock_(clock) {}

int64_t JobStore::now_us() const { return clock_.now().time_since_epoch().count(); }

namespace {

struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using SqlCache = std::unordered_map<std::string, std::string, TextHash, std::equal_to<>>;

}  // namespace

const std::string& JobStore::t(std::string_view sql) const {
  // Rendered once per thread, table and statement: this runs for every job inserted or claimed.
  thread_local std::map<std::string, SqlCache, std::less<>> by_table;
  SqlCache& cache = by_table[table_];
  if (auto it = cache.find(sql); it != cache.end()) return it->second;
  std::string out;
  out.reserve(sql.size() + 16);
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql.compare(i, 3, "{q}") == 0) {
      out += table_;
      i += 2;
    } else {
      out += sql[i];
    }
  }
  return cache.emplace(std::string(sql), std::move(out)).first->second;
}

std::string JobStore::skip_locked() const {
  return conn_.capabilities().skip_locked ? " FOR UPDATE SKIP LOCKED" : "";
}

ClaimedJob JobStore::claimed_from(const db::Row& r) const {
  // By position, in kClaimedColumns' order (a claim returns many rows: no lookup by name).
  if (r.columns().size() != kClaimedColumnCount) {
    throw internal_error("a claimed row has " + std::to_string(r.columns().size()) +
                         " columns, expected " + std::to_string(kClaimedColumnCount));
  }
  auto opt_int_at = [&](size_t i) -> std::optional<int> {
    auto v = r.get<std::optional<int64_t>>(i);
    if (!v) return std::nullopt;
    return static_cast<int>(*v);
  };
  ClaimedJob j;
  j.id = r.get<int64_t>(0);
  j.uuid = r.get<std::string>(1);
  j.tenant_id = r.get<int64_t>(2);
  j.queue = r.get<std::string>(3);
  j.type = r.get<std::string>(4);
  j.payload = r.get<std::string>(5);
  j.attempts = r.get<int>(6);
  j.max_tries = opt_int_at(7);
  j.timeout_s = opt_int_at(8);
  j.backoff = r.get<std::optional<std::string>>(9);
  j.retry_until_us = r.get<std::optional<int64_t>>(10);
  j.lease_token = r.get<int64_t>(11);
  j.priority = r.get<int>(12);
  j.available_at_us = r.get<int64_t>(13);
  j.claimed_at_us = r.get<std::optional<int64_t>>(14).value_or(0);
  j.batch_id = r.get<std::optional<std::string>>(15);
  j.chain = r.get<std::optional<std::string>>(16);
  j.trace_id = r.get<std::optional<std::string>>(17).value_or("");
  j.parent_span_id = r.get<std::optional<std::string>>(18).value_or("");
  return j;
}

namespace {

constexpr const char* kInsertInto =
    "INSERT INTO {q} (uuid, tenant_id, queue, type, payload, max_tries, timeout_s, backoff, "
    "retry_until, unique_key, available_at, created_at, priority, batch_id, chain, trace_id,"
    " parent_span_id) VALUES ";
constexpr size_t kInsertWidth = 17;
// Rows per multi-row INSERT: one round trip for up to 256 jobs instead of one each. Statements
// hold a power of two of rows (256, 128, …, 1), so a connection prepares at most nine of them.
constexpr size_t kMaxRowsPerInsert = 256;

void add_insert_params(db::Params& p, const NewJob& j, const std::string& uuid, int64_t now) {
  p.add(uuid).add(j.tenant_id).add(j.queue).add(j.type).add(j.payload).add(opt(j.max_tries));
  p.add(opt(j.timeout_s)).add(opt(j.backoff)).add(opt(j.retry_until_us)).add(opt(j.unique_key));
  p.add(j.available_at_us).add(now).add(int64_t{j.priority});
  p.add(opt(j.batch_id)).add(opt(j.chain));
  p.add(opt_text(j.trace_id)).add(opt_text(j.parent_span_id));
}

}  // namespace

std::vector<InsertedJob> JobStore::job_insert_many(const std::vector<NewJob>& jobs) {
  std::vector<InsertedJob> out(jobs.size());
  const bool notify = conn_.capabilities().listen_notify;
  const int64_t now = now_us();
  for (size_t i = 0; i < jobs.size(); ++i) out[i] = {0, new_uuid().to_string(), jobs[i].queue};
  // One job outside a transaction: one autocommit statement that inserts and notifies together
  // (one round trip instead of BEGIN, INSERT, NOTIFY, COMMIT).
  if (jobs.size() == 1 && conn_.transaction_depth() == 0) {
    db::Params p;
    add_insert_params(p, jobs[0], out[0].uuid, now);
    const std::string insert = kInsertInto + db::values_sql(1, kInsertWidth, 1) + " RETURNING id";
    out[0].id = insert_one(
        notify ? t(conn_.insert_and_notify_sql(insert, "unity_jobs", 3)) : t(insert), p, jobs[0]);
    return out;
  }
  // In the caller's transaction when there is one (no savepoint: a failure aborts the caller's
  // work anyway); otherwise in our own.
  std::optional<db::Transaction> tx;
  if (conn_.transaction_depth() == 0) tx.emplace(conn_);
  std::unordered_map<std::string_view, size_t> index_of;
  for (size_t i = 0; i < jobs.size();) {
    // A job with a unique key goes alone, so that a clash names its key.
    size_t n = 1;
    if (!jobs[i].unique_key) {
      while (n < kMaxRowsPerInsert && i + n < jobs.size() && !jobs[i + n].unique_key) ++n;
      n = std::bit_floor(n);
    }
    db::Params p;
    index_of.clear();
    for (size_t k = i; k < i + n; ++k) {
      add_insert_params(p, jobs[k], out[k].uuid, now);
      index_of.emplace(out[k].uuid, k);
    }
    if (n == 1) {
      out[i].id = insert_one(t(kInsertInto + db::values_sql(1, kInsertWidth, 1) + " RETURNING id"),
                             p, jobs[i]);
    } else {
      // RETURNING gives no order: the uuids say which id is whose.
      conn_.query_each(t(kInsertInto + db::values_sql(n, kInsertWidth, 1) + " RETURNING id, uuid"),
                       p, [&](const db::Row& r) {
                         out[index_of.at(r.get<std::string>(1))].id = r.get<int64_t>(0);
                       });
    }
    i += n;
  }
  if (notify) {
    std::map<std::string_view, bool> queues;
    for (const NewJob& j : jobs) queues[j.queue] = true;
    for (const auto& [q, _] : queues) conn_.notify("unity_jobs", q);
  }
  if (tx) tx->commit();
  return out;
}

int64_t JobStore::insert_one(const std::string& sql, const db::Params& p, const NewJob& job) {
  try {
    return conn_.query_int(sql, p);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kAlreadyExists && job.unique_key) {
      throw already_exists("a job with unique key '" + *job.unique_key +
                           "' is already waiting or running");
    }
    throw;
  }
}

std::vector<int64_t> JobStore::job_tenants_waiting(const std::string& queue) {
  // A skip scan over the ready index: one probe per tenant, whatever the backlog.
  // ORDER BY … LIMIT 1 rather than min(): PostgreSQL plans min() as a scan of every ready row
  // when its statistics are stale (after TRUNCATE or a sudden backlog).
  static const char* kSql =
      "WITH RECURSIVE t(tenant_id) AS ("
      " SELECT (SELECT tenant_id FROM {q} WHERE queue = $1 AND reserved_at IS NULL"
      "         ORDER BY tenant_id LIMIT 1)"
      " UNION ALL"
      " SELECT (SELECT j.tenant_id FROM {q} j WHERE j.queue = $1 AND j.reserved_at IS NULL"
      "         AND j.tenant_id > t.tenant_id ORDER BY j.tenant_id LIMIT 1)"
      " FROM t WHERE t.tenant_id IS NOT NULL)"
      " SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL";
  std::vector<int64_t> out;
  conn_.query_each(t(kSql), {queue}, [&](const db::Row& r) { out.push_back(r.get<int64_t>(0)); });
  return out;
}

std::vector<ClaimedJob> JobStore::job_claim(const ClaimParams& p) {
  const std::string sql =
      t("UPDATE {q} SET reserved_at = $4, lease_expires_at = $5, lease_token = $6, worker = $7,"
        " attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM {q} WHERE queue = $1 AND tenant_id = $2"
        " AND reserved_at IS NULL AND available_at <= $4"
        " ORDER BY priority DESC, available_at, id LIMIT $3" +
        skip_locked() + ") RETURNING " + kClaimedColumns);
  const int64_t now = now_us();
  std::vector<ClaimedJob> out;
  db::Transaction tx(conn_);
  conn_.relax_commit_durability();
  conn_.query_each(sql,
                   {p.queue, p.tenant_id, p.limit, now, now + p.lease_us, p.lease_token, p.worker},
                   [&](const db::Row& r) { out.push_back(claimed_from(r)); });
  tx.commit();
  // RETURNING's order is unspecified: higher priority starts first, then the older id.
  std::sort(out.begin(), out.end(), [](const ClaimedJob& a, const ClaimedJob& b) {
    return a.priority != b.priority ? a.priority > b.priority : a.id < b.id;
  });
  return out;
}

int64_t JobStore::job_count_reserved(int64_t tenant_id) {
  return conn_.query_int(
      t("SELECT count(*) FROM {q} WHERE tenant_id = $1 AND reserved_at IS NOT NULL"), {tenant_id});
}

int64_t JobStore::job_complete_many(const std::vector<Lease>& leases) {
  if (leases.empty()) return 0;
  std::map<int64_t, std::vector<int64_t>> by_token;
  for (const auto& l : leases) by_token[l.token].push_back(l.id);
  // Plain jobs first, with no row sent back (the common case: one statement, nothing to read);
  // only when some are left (jobs of a batch or a chain, or fenced ones) the rest go with
  // RETURNING, for their batch's counters and their chain's next link.
  const std::string plain = t(std::string("DELETE FROM {q} WHERE lease_token = $1 AND id IN ") +
                              conn_.id_set_sql(2) + " AND batch_id IS NULL AND chain IS NULL");
  const std::string rest = t(std::string("DELETE FROM {q} WHERE lease_token = $1 AND id IN ") +
                             conn_.id_set_sql(2) + " RETURNING " + kFinishedColumns);
  int64_t done = 0;
  std::vector<FinishedJob> batched;
  db::Transaction tx(conn_);
  conn_.relax_commit_durability();
  for (const auto& [token, ids] : by_token) {
    if (keep_finished_.count() > 0) {
      finished_record("completed", "lease_token = $2 AND id IN " + conn_.id_set_sql(3),
                      {now_us(), token, conn_.id_set_param(ids)});
    }
    const int64_t n = conn_.execute(plain, {token, conn_.id_set_param(ids)});
    done += n;
    if (n == static_cast<int64_t>(ids.size())) continue;
    conn_.query_each(rest, {token, conn_.id_set_param(ids)}, [&](const db::Row& r) {
      ++done;
      if (FinishedJob f = finished_from(r); f.in_batch_or_chain()) batched.push_back(std::move(f));
    });
  }
  // Batches in one order, so two workers acknowledging jobs of the same batches never deadlock on
  // their rows.
  std::sort(batched.begin(), batched.end(),
            [](const FinishedJob& x, const FinishedJob& y) { return x.batch_id < y.batch_id; });
  for (const FinishedJob& f : batched) record_finished(*this, f, Finish::kSucceeded);
  tx.commit();
  return done;
}

bool JobStore::job_complete(Lease lease) { return finish_one(lease, Finish::kSucceeded); }

bool JobStore::job_skip(Lease lease) {
  db::Transaction tx(conn_);
  if (!finish_one(lease, Finish::kSkipped)) return false;
  tx.commit();
  return true;
}

bool JobStore::finish_one(Lease lease, Finish how) {
  if (keep_finished_.count() > 0) {
    finished_record(how == Finish::kSucceeded ? "completed"
                    : how == Finish::kFailed  ? "failed"
                                              : "cancelled",
                    "id = $2 AND lease_token = $3", {now_us(), lease.id, lease.token});
  }
  auto row = conn_.query_one(
      t(std::string("DELETE FROM {q} WHERE id = $1 AND lease_token = $2 RETURNING ") +
        kFinishedColumns),
      {lease.id, lease.token});
  if (!row) return false;
  if (FinishedJob f = finished_from(*row); f.in_batch_or_chain()) record_finished(*this, f, how);
  return true;
}

bool JobStore::job_release(Lease lease, int64_t available_at_us, const std::string& error) {
  return conn_.execute(t("UPDATE {q} SET reserved_at = NULL, lease_expires_at = NULL,"
                         " lease_token = NULL, worker = NULL, available_at = $3, last_error = $4"
                         " WHERE id = $1 AND lease_token = $2"),
                       {lease.id, lease.token, available_at_us,
                        error.empty() ? db::kNull : db::Value{error}}) == 1;
}

bool JobStore::job_defer(Lease lease, int64_t available_at_us) {
  return conn_.execute(t("UPDATE {q} SET reserved_at = NULL, lease_expires_at = NULL,"
                         " lease_token = NULL, worker = NULL, available_at = $3,"
                         " attempts = attempts - 1 WHERE id = $1 AND lease_token = $2"),
                       {lease.id, lease.token, available_at_us}) == 1;
}

int64_t JobStore::job_unclaim(const std::vector<Lease>& leases) {
  int64_t n = 0;
  db::Transaction tx(conn_);
  conn_.relax_commit_durability();
  for (const auto& l : leases) {
    n += conn_.execute(t("UPDATE {q} SET reserved_at = NULL, lease_expires_at = NULL,"
                         " lease_token = NULL, worker = NULL, attempts = attempts - 1"
                         " WHERE id = $1 AND lease_token = $2"),
                       {l.id, l.token});
  }
  tx.commit();
  return n;
}

bool JobStore::job_fail(Lease lease, const std::string& error) {
  db::Transaction tx(conn_);
  const int64_t moved = conn_.execute(
      // A uuid already in failed_jobs (a job queued twice by an older retry) must not make the
      // failure unrecordable, which would leave the job reserved for ever: the row is replaced
      // by the latest failure.
      t("INSERT INTO failed_jobs (uuid, tenant_id, connection, queue, type, payload, attempts,"
        " max_tries, timeout_s, backoff, priority, exception, failed_at, batch_id, chain,"
        " trace_id, parent_span_id)"
        " SELECT uuid, tenant_id, 'database', queue, type, payload, attempts, max_tries, timeout_s,"
        " backoff, priority, $3, $4, batch_id, chain, trace_id, parent_span_id FROM {q}"
        " WHERE id = $1 AND lease_token = $2"
        " ON CONFLICT (uuid) DO UPDATE SET tenant_id = excluded.tenant_id,"
        " queue = excluded.queue, type = excluded.type, payload = excluded.payload,"
        " attempts = excluded.attempts, max_tries = excluded.max_tries,"
        " timeout_s = excluded.timeout_s, backoff = excluded.backoff,"
        " priority = excluded.priority, exception = excluded.exception,"
        " failed_at = excluded.failed_at, batch_id = excluded.batch_id, chain = excluded.chain,"
        " trace_id = excluded.trace_id, parent_span_id = excluded.parent_span_id"),
      {lease.id, lease.token, error, format_iso8601(clock_.now())});
  if (moved != 1) return false;
  finish_one(lease, Finish::kFailed);
  tx.commit();
  return true;
}

int64_t JobStore::finished_record(std::string_view state, const std::string& where,
                                  db::Params params) {
  return conn_.execute(
      t("INSERT INTO finished_jobs (id, uuid, tenant_id, queue, type, state, attempts,"
        " priority, batch_id, created_at, finished_at) SELECT id, uuid, tenant_id, queue,"
        " type, '" +
        std::string(state) +
        "', attempts, priority, batch_id, created_at,"
        " CAST($1 AS BIGINT) FROM {q}" +
        " WHERE " + where +
        // A job taken over after its lease expired may finish twice: the last wins.
        " ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
        " attempts = excluded.attempts, finished_at = excluded.finished_at"),
      params);
}

bool JobStore::job_cancel_record(int64_t id) {
  if (keep_finished_.count() == 0) return false;
  return finished_record("cancelled", "id = $2", {now_us(), id}) > 0;
}

int64_t JobStore::finished_prune() {
  const int64_t keep_us =
      std::chrono::duration_cast<std::chrono::microseconds>(keep_finished_).count();
  return conn_.execute("DELETE FROM finished_jobs WHERE finished_at < $1", {now_us() - keep_us});
}

std::vector<JobRow> JobStore::jobs_list(int64_t tenant_id, std::optional<std::string> state,
                                        std::optional<std::string> type, int limit) {
  static const std::vector<std::string> kWaiting = {"ready", "delayed", "reserved"};
  static const std::vector<std::string> kFinished = {"completed", "failed", "cancelled"};
  auto in = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  if (state && !in(kWaiting, *state) && !in(kFinished, *state)) {
    throw invalid_argument(
        "--state must be ready, delayed, reserved, completed, failed or "
        "cancelled, got '" +
        *state + "'");
  }
  if (limit < 1 || limit > 1000) throw invalid_argument("--limit must be 1 to 1000");
  // $1 tenant, $2 now, $3 limit, $4 type (NULL: any). The queue table has no index by tenant and
  // id (its indexes serve the claim): listing a tenant's waiting jobs scans it.
  const std::string type_clause = " AND (CAST($4 AS TEXT) IS NULL OR type = $4)";
  const std::string waiting =
      "SELECT id, uuid, type, queue, CASE WHEN reserved_at IS NOT NULL THEN 'reserved'"
      " WHEN available_at > $2 THEN 'delayed' ELSE 'ready' END AS state, attempts, created_at,"
      " CAST(NULL AS BIGINT) AS finished_at, priority, batch_id FROM {q} WHERE tenant_id = $1" +
      type_clause;
  const std::string finished =
      "SELECT id, uuid, type, queue, state, attempts, created_at, finished_at, priority, batch_id"
      " FROM finished_jobs"
      " WHERE tenant_id = $1" +
      type_clause +
      // Names $2 (always true) so that the statement alone uses every parameter: PostgreSQL
      // cannot prepare one whose parameter it never sees.
      " AND CAST($2 AS BIGINT) IS NOT NULL";
  std::string sql;
  if (!state) {
    sql = "SELECT * FROM (" + waiting + " UNION ALL " + finished + ") AS j";
  } else {
    sql =
        "SELECT * FROM (" + (in(kWaiting, *state) ? waiting : finished) + ") AS j WHERE state = $5";
  }
  sql += " ORDER BY id DESC LIMIT $3";
  db::Params p{tenant_id, now_us(), int64_t{limit}, type ? db::Value{*type} : db::kNull};
  if (state) p.add(*state);
  std::vector<JobRow> out;
  conn_.query_each(t(sql), p, [&](const db::Row& r) {
    out.push_back({r.get<int64_t>(0), r.get<std::string>(1), r.get<std::string>(2),
                   r.get<std::string>(3), r.get<std::string>(4), r.get<int>(5), r.get<int64_t>(6),
                   r.get<std::optional<int64_t>>(7), r.get<int>(8),
                   r.get<std::optional<std::string>>(9)});
  });
  return out;
}

void JobStore::job_progress(Lease lease, int percent) {
  conn_.execute(t("UPDATE {q} SET progress = $3 WHERE id = $1 AND lease_token = $2"),
                {lease.id, lease.token, std::clamp(percent, 0, 100)});
}

int64_t JobStore::lease_extend(const std::vector<Lease>& leases, int64_t lease_us,
                               std::vector<int64_t>* cancel_requested) {
  if (leases.empty()) return 0;
  std::map<int64_t, std::vector<int64_t>> by_token;
  for (const auto& l : leases) by_token[l.token].push_back(l.id);
  // Each extended row answers whether queue:cancel flagged it (0 when not): the heartbeat is
  // how a worker hears of a cancel, whatever process or host asked for it.
  const std::string sql = t(
      "UPDATE {q} SET lease_expires_at = $1 WHERE lease_token = $2 AND id IN " +
      conn_.id_set_sql(3) + " RETURNING CASE WHEN cancel_requested_at IS NULL THEN 0 ELSE id END");
  const int64_t until = now_us() + lease_us;
  int64_t n = 0;
  db::Transaction tx(conn_);
  conn_.relax_commit_durability();
  for (const auto& [token, ids] : by_token) {
    conn_.query_each(sql, {until, token, conn_.id_set_param(ids)}, [&](const db::Row& r) {
      ++n;
      if (const int64_t id = r.get<int64_t>(0); id != 0 && cancel_requested)
        cancel_requested->push_back(id);
    });
  }
  tx.commit();
  return n;
}

std::vector<ClaimedJob> JobStore::lease_rescue_expired(int64_t lease_token, int limit) {
  const std::string sql =
      t("UPDATE {q} SET lease_token = $3, worker = NULL WHERE id IN (SELECT id FROM {q}"
        " WHERE reserved_at IS NOT NULL AND lease_expires_at < $1 ORDER BY lease_expires_at"
        " LIMIT $2" +
        skip_locked() + ") RETURNING " + kClaimedColumns);
  std::vector<ClaimedJob> out;
  db::Transaction tx(conn_);
  conn_.query_each(sql, {now_us(), limit, lease_token},
                   [&](const db::Row& r) { out.push_back(claimed_from(r)); });
  tx.commit();
  return out;
}

void JobStore::metrics_add(const std::string& queue, int64_t completed, int64_t failed) {
  conn_.execute(
      "INSERT INTO queue_metrics (minute, queue, completed, failed) VALUES ($1, $2, $3, $4)"
      " ON CONFLICT (minute, queue) DO UPDATE SET completed = queue_metrics.completed +"
      " excluded.completed, failed = queue_metrics.failed + excluded.failed",
      {now_us() / 60'000'000, queue, completed, failed});
}

void JobStore::tenant_pause(int64_t tenant_id, const std::string& queue) {
  conn_.execute(
      "INSERT INTO queue_pauses (tenant_id, queue, paused_at) VALUES ($1, $2, $3)"
      " ON CONFLICT (tenant_id, queue) DO NOTHING",
      {tenant_id, queue, format_iso8601(clock_.now())});
}

int64_t JobStore::tenant_resume(int64_t tenant_id, const std::string& queue) {
  if (queue == "*")
    return conn_.execute("DELETE FROM queue_pauses WHERE tenant_id = $1", {tenant_id});
  return conn_.execute("DELETE FROM queue_pauses WHERE tenant_id = $1 AND queue = $2",
                       {tenant_id, queue});
}

std::vector<std::pair<int64_t, std::string>> JobStore::tenant_pauses() {
  std::vector<std::pair<int64_t, std::string>> out;
  conn_.query_each("SELECT tenant_id, queue FROM queue_pauses", {}, [&](const db::Row& r) {
    out.emplace_back(r.get<int64_t>(0), r.get<std::string>(1));
  });
  return out;
}

std::vector<TenantSettings> JobStore::tenant_settings() {
  std::vector<TenantSettings> out;
  conn_.query_each(
      "SELECT id, weight, max_concurrency FROM tenants WHERE weight <> 1 OR max_concurrency IS NOT "
      "NULL",
      {}, [&](const db::Row& r) {
        out.push_back({r.get<int64_t>(0), r.get<int>(1), opt_int(r, "max_concurrency")});
      });
  return out;
}

void JobStore::tenant_set_weight(int64_t tenant_id, int weight,
                                 std::optional<int> max_concurrency) {
  if (weight < 1 || weight > 1000) throw invalid_argument("--weight must be between 1 and 1000");
  if (max_concurrency && *max_concurrency < 1) {
    throw invalid_argument("--max-concurrency must be at least 1");
  }
  if (conn_.execute("UPDATE tenants SET weight = $2, max_concurrency = $3 WHERE id = $1",
                    {tenant_id, weight, opt(max_concurrency)}) != 1) {
    throw not_found("tenant " + std::to_string(tenant_id) + " not found");
  }
}

void JobStore::signal_restart() {
  conn_.execute(
      "INSERT INTO queue_signals (name, value) VALUES ('restart', $1)"
      " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      {now_us()});
  // Wakes workers waiting on LISTEN, so they see it now rather than after their --sleep.
  if (conn_.capabilities().listen_notify) conn_.notify("unity_jobs", kRestartPayload);
}

int64_t JobStore::signal_restart_at() {
  auto row = conn_.query_one("SELECT value FROM queue_signals WHERE name = 'restart'");
  return row ? row->get<int64_t>(0) : 0;
}

std::vector<FailedJob> JobStore::failed_list(std::optional<int64_t> tenant_id, int limit,
                                             std::optional<int64_t> before_id) {
  std::vector<FailedJob> out;
  std::string sql =
      "SELECT id, uuid, tenant_id, queue, type, payload, attempts, exception, failed_at "
      "FROM failed_jobs WHERE 1 = 1";
  db::Params p{int64_t{limit}};
  if (tenant_id) {
    p.add(*tenant_id);
    sql += " AND tenant_id = $" + std::to_string(p.size());
  }
  if (before_id) {
    p.add(*before_id);
    sql += " AND id < $" + std::to_string(p.size());
  }
  sql += " ORDER BY id DESC LIMIT $1";
  conn_.query_each(sql, p, [&](const db::Row& r) {
    out.push_back({r.get<int64_t>(0), r.get<std::string>(1), r.get<int64_t>(2),
                   r.get<std::string>(3), r.get<std::string>(4), r.get<std::string>(5),
                   r.get<int>(6), r.get<std::string>(7), r.get<std::string>(8)});
  });
  return out;
}

std::vector<InsertedJob> JobStore::failed_retry(const std::vector<std::string>& ids,
                                                std::optional<std::string> queue,
                                                std::optional<int64_t> tenant_id) {
  // Each failed row is taken with DELETE … RETURNING inside the transaction that queues its job:
  // the delete locks the row, so of two concurrent retries one moves it and the other finds it
  // gone (PostgreSQL re-checks a deleted row after the lock wait; SQLite has one writer). A row
  // is never queued twice, and a concurrent retry of "all" simply moves fewer.
  static constexpr const char* kTake =
      "DELETE FROM failed_jobs WHERE {where} RETURNING uuid, tenant_id, queue, type, payload,"
      " max_tries, timeout_s, backoff, priority, trace_id, parent_span_id";
  // The trace goes with the job (a retried job is the same work, in the same trace).
  static constexpr const char* kInsert =
      "INSERT INTO {q} (uuid, tenant_id, queue, type, payload, max_tries, timeout_s, backoff,"
      " priority, available_at, created_at, trace_id, parent_span_id)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9, $11, $12) RETURNING id";
  auto take = [&](const std::string& where, db::Params p) {
    std::string sql = kTake;
    std::string scoped = "(" + where + ")";
    if (tenant_id) {
      p.add(*tenant_id);
      scoped += " AND tenant_id = $" + std::to_string(p.size());
    }
    sql.replace(sql.find("{where}"), 7, scoped);
    return conn_.query(sql, p);
  };
  std::vector<db::Row> taken;
  db::Transaction tx(conn_);
  if (ids.size() == 1 && ids[0] == "all") {
    db::Params p;
    if (queue) p.add(*queue);
    for (auto& r : take(queue ? "queue = $1" : "1 = 1", p)) taken.push_back(std::move(r));
  } else {
    for (const auto& key : ids) {
      auto rows = take("uuid = $1 OR CAST(id AS TEXT) = $1", {key});
      if (rows.empty())
        throw not_found("failed job " + key + " not found (see `unity queue:failed`)");
      for (auto& r : rows) taken.push_back(std::move(r));
    }
  }
  std::vector<InsertedJob> out;
  const int64_t now = now_us();
  for (const db::Row& r : taken) {
    const std::string q = queue ? *queue : r.get<std::string>("queue");
    const std::string uuid = r.get<std::string>("uuid");
    const int64_t id = conn_.query_int(
        t(kInsert),
        {uuid, r.get<int64_t>("tenant_id"), q, r.get<std::string>("type"),
         r.get<std::string>("payload"), opt(opt_int(r, "max_tries")), opt(opt_int(r, "timeout_s")),
         opt(r.get<std::optional<std::string>>("backoff")), now, r.get<int64_t>("priority"),
         opt(r.get<std::optional<std::string>>("trace_id")),
         opt(r.get<std::optional<std::string>>("parent_span_id"))});
    out.push_back({id, uuid, q});
  }
  if (conn_.capabilities().listen_notify && !out.empty()) conn_.notify("unity_jobs", "retry");
  tx.commit();
  return out;
}

bool JobStore::failed_forget(const std::string& id_or_uuid, std::optional<int64_t> tenant_id) {
  if (tenant_id) {
    return conn_.execute(
               "DELETE FROM failed_jobs WHERE (uuid = $1 OR CAST(id AS TEXT) = $1)"
               " AND tenant_id = $2",
               {id_or_uuid, *tenant_id}) > 0;
  }
  return conn_.execute("DELETE FROM failed_jobs WHERE uuid = $1 OR CAST(id AS TEXT) = $1",
                       {id_or_uuid}) > 0;
}

int64_t JobStore::failed_flush(std::optional<int> older_than_hours) {
  if (!older_than_hours) return conn_.execute("DELETE FROM failed_jobs");
  const auto cutoff = clock_.now() - std::chrono::hours(*older_than_hours);
  return conn_.execute("DELETE FROM failed_jobs WHERE failed_at < $1", {format_iso8601(cutoff)});
}

namespace {

// " WHERE tenant_id = $N" (N the parameter's place) when `tenant_id` is set, added to `p`.
std::string tenant_clause(std::optional<int64_t> tenant_id, db::Params& p) {
  if (!tenant_id) return "";
  p.add(*tenant_id);
  return " WHERE tenant_id = $" + std::to_string(p.size());
}

}  // namespace

std::vector<QueueCounts> JobStore::stats_queues(std::optional<int64_t> tenant_id) {
  std::map<std::string, QueueCounts> by;
  db::Params p{now_us()};
  const std::string where = tenant_clause(tenant_id, p);
  conn_.query_each(
      t("SELECT queue, sum(CASE WHEN reserved_at IS NULL AND available_at <= $1 THEN 1 ELSE 0 END),"
        " sum(CASE WHEN reserved_at IS NOT NULL THEN 1 ELSE 0 END),"
        " sum(CASE WHEN reserved_at IS NULL AND available_at > $1 THEN 1 ELSE 0 END)"
        " FROM {q}" +
        where + " GROUP BY queue"),
      p, [&](const db::Row& r) {
        auto& c = by[r.get<std::string>(0)];
        c.queue = r.get<std::string>(0);
        c.ready = r.get<int64_t>(1);
        c.reserved = r.get<int64_t>(2);
        c.delayed = r.get<int64_t>(3);
      });
  db::Params fp;
  const std::string fwhere = tenant_clause(tenant_id, fp);
  conn_.query_each("SELECT queue, count(*) FROM failed_jobs" + fwhere + " GROUP BY queue", fp,
                   [&](const db::Row& r) {
                     auto& c = by[r.get<std::string>(0)];
                     c.queue = r.get<std::string>(0);
                     c.failed = r.get<int64_t>(1);
                   });
  std::vector<QueueCounts> out;
  for (auto& [q, c] : by) out.push_back(c);
  return out;
}

std::vector<TenantCounts> JobStore::stats_tenants(std::optional<int64_t> tenant_id) {
  std::map<int64_t, TenantCounts> by;
  db::Params p{now_us()};
  const std::string where = tenant_clause(tenant_id, p);
  conn_.query_each(t("SELECT tenant_id,"
                     " sum(CASE WHEN reserved_at IS NULL AND available_at <= $1 THEN 1 ELSE 0 END),"
                     " sum(CASE WHEN reserved_at IS NOT NULL THEN 1 ELSE 0 END),"
                     " sum(CASE WHEN reserved_at IS NULL AND available_at > $1 THEN 1 ELSE 0 END)"
                     " FROM {q}" +
                     where + " GROUP BY tenant_id"),
                   p, [&](const db::Row& r) {
                     auto& c = by[r.get<int64_t>(0)];
                     c.tenant_id = r.get<int64_t>(0);
                     c.ready = r.get<int64_t>(1);
                     c.reserved = r.get<int64_t>(2);
                     c.delayed = r.get<int64_t>(3);
                   });
  db::Params fp;
  const std::string fwhere = tenant_clause(tenant_id, fp);
  conn_.query_each("SELECT tenant_id, count(*) FROM failed_jobs" + fwhere + " GROUP BY tenant_id",
                   fp, [&](const db::Row& r) {
                     auto& c = by[r.get<int64_t>(0)];
                     c.tenant_id = r.get<int64_t>(0);
                     c.failed = r.get<int64_t>(1);
                   });
  std::vector<TenantCounts> out;
  for (auto& [id, c] : by) out.push_back(c);
  return out;
}

std::pair<int64_t, int64_t> JobStore::stats_throughput(int minutes) {
  auto row = conn_.query_one(
      "SELECT COALESCE(sum(completed), 0), COALESCE(sum(failed), 0) FROM queue_metrics"
      " WHERE minute >= $1",
      {now_us() / 60'000'000 - minutes + 1});
  return {row->get<int64_t>(0), row->get<int64_t>(1)};
}

int64_t JobStore::job_count_unfinished(const std::string& queue) {
  if (queue.empty()) return conn_.query_int(t("SELECT count(*) FROM {q}"));
  return conn_.query_int(t("SELECT count(*) FROM {q} WHERE queue = $1"), {queue});
}

}  // namespace unity::queue
