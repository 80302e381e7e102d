#include "queue/workers.h"

#include <unistd.h>

#include <sstream>

#include "db/transaction.h"
#include "queue/audit_log.h"
#include "queue/store.h"

namespace unity::queue {

namespace {

int64_t now_us(const Clock& clock) { return clock.now().time_since_epoch().count(); }

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// A worker is dead once now passes last_heartbeat + kMissedBeats heartbeat periods.
constexpr std::string_view kDeadSql = "last_heartbeat + heartbeat_ms * 1000 * $1 < $2";

constexpr std::string_view kInsertSql =
    "INSERT INTO queue_workers (id, name, host, pid, queues, concurrency, heartbeat_ms,"
    " started_at, last_heartbeat, jobs_done) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

void insert(db::Connection& conn, const WorkerInfo& w, int64_t now, int64_t jobs_done) {
  conn.execute(kInsertSql, {w.id, w.name, w.host, w.pid, join(w.queues), int64_t{w.concurrency},
                            int64_t{w.heartbeat_ms}, w.started_at_us, now, jobs_done});
}

}  // namespace

int64_t workers_prune(db::Connection& conn, const Clock& clock) {
  return conn.execute("DELETE FROM queue_workers WHERE " + std::string(kDeadSql),
                      {int64_t{kMissedBeats}, now_us(clock)});
}

void worker_register(db::Connection& conn, const Clock& clock, WorkerInfo& info) {
  info.id = new_lease_token();
  info.started_at_us = info.last_heartbeat_us = now_us(clock);
  db::Transaction tx(conn);
  workers_prune(conn, clock);
  insert(conn, info, info.started_at_us, 0);
  tx.commit();
}

void worker_beat(db::Connection& conn, const Clock& clock, const WorkerInfo& info,
                 int64_t jobs_done) {
  const int64_t now = now_us(clock);
  db::Transaction tx(conn);
  conn.relax_commit_durability();  // a lost beat is only a late one
  workers_prune(conn, clock);
  if (conn.execute("UPDATE queue_workers SET last_heartbeat = $1, jobs_done = $2 WHERE id = $3",
                   {now, jobs_done, info.id}) == 0) {
    insert(conn, info, now, jobs_done);
  }
  tx.commit();
}

void worker_unregister(db::Connection& conn, int64_t id) {
  conn.execute("DELETE FROM queue_workers WHERE id = $1", {id});
}

std::vector<WorkerInfo> workers_alive(db::Connection& conn, const Clock& clock) {
  std::vector<WorkerInfo> out;
  conn.query_each(
      "SELECT id, name, host, pid, queues, concurrency, heartbeat_ms, started_at, last_heartbeat,"
      " jobs_done FROM queue_workers WHERE NOT (" +
          std::string(kDeadSql) + ") ORDER BY name, id",
      {int64_t{kMissedBeats}, now_us(clock)}, [&](const db::Row& r) {
        WorkerInfo w;
        w.id = r.get<int64_t>(0);
        w.name = r.get<std::string>(1);
        w.host = r.get<std::string>(2);
        w.pid = r.get<int64_t>(3);
        w.queues = split(r.get<std::string>(4));
        w.concurrency = r.get<int>(5);
        w.heartbeat_ms = r.get<int>(6);
        w.started_at_us = r.get<int64_t>(7);
        w.last_heartbeat_us = r.get<int64_t>(8);
        w.jobs_done = r.get<int64_t>(9);
        out.push_back(std::move(w));
      });
  return out;
}

WorkerPresence::WorkerPresence(db::ConnectionFactory connect, int heartbeat_ms, const Clock& clock,
                               std::string name, std::vector<std::string> queues, int concurrency,
                               AuditLog* log)
    : connect_(std::move(connect)),
      clock_(clock),
      log_(log),
      last_beat_(std::chrono::steady_clock::now()) {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  info_.name = std::move(name);
  info_.host = host;
  info_.pid = getpid();
  info_.queues = std::move(queues);
  info_.concurrency = concurrency;
  info_.heartbeat_ms = heartbeat_ms;
  info_.id = new_lease_token();  // kept if registering fails: the first beat inserts the row
  info_.started_at_us = clock.now().time_since_epoch().count();
  try {
    if (auto* c = connection()) worker_register(*c, clock_, info_);
  } catch (const std::exception& e) {
    failed("register", e);
  }
}

WorkerPresence::~WorkerPresence() {
  try {
    if (auto* c = connection()) worker_unregister(*c, info_.id);
  } catch (const std::exception& e) {
    failed("unregister", e);  // the row expires on its own
  }
}

void WorkerPresence::beat_if_due(int64_t jobs_done) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_beat_ < std::chrono::milliseconds(info_.heartbeat_ms)) return;
  last_beat_ = now;
  try {
    if (auto* c = connection()) worker_beat(*c, clock_, info_, jobs_done);
  } catch (const std::exception& e) {
    failed("beat", e);
  }
}

db::Connection* WorkerPresence::connection() {
  if (!conn_) conn_ = connect_();
  return conn_.get();
}

void WorkerPresence::failed(const char* what, const std::exception& e) {
  conn_.reset();
  if (log_) log_->event("worker_registry_error", std::string(what) + ": " + e.what());
}

}  // namespace unity::queue
