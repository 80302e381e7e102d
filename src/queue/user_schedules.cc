#include "queue/user_schedules.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "queue/cron.h"
#include "queue/dispatch.h"
#include "queue/payload_crypt.h"
#include "queue/registry.h"

namespace unity::queue {

namespace {

constexpr const char* kColumns =
    "id, tenant_id, name, cron, timezone, job_type, payload, queue, next_run_at, last_run_at";

UserSchedule from_row(const db::Row& r) {
  UserSchedule s;
  s.id = r.get<int64_t>(0);
  s.tenant_id = r.get<int64_t>(1);
  s.name = r.get<std::string>(2);
  s.cron = r.get<std::string>(3);
  s.timezone = r.get<std::string>(4);
  s.job_type = r.get<std::string>(5);
  s.payload = r.get<std::string>(6);
  s.sealed = is_sealed_payload(s.payload);
  s.queue = r.get<std::optional<std::string>>(7);
  s.next_run_at = parse_iso8601(r.get<std::string>(8));
  if (auto last = r.get<std::optional<std::string>>(9)) s.last_run_at = parse_iso8601(*last);
  return s;
}

void check_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 100 && std::isalnum(uint8_t(name[0])) &&
                  std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(uint8_t(c)) || c == '.' || c == '_' || c == ':' || c == '-';
                  });
  if (!ok) {
    throw invalid_argument("invalid schedule name '" + name +
                           "': 1-100 of letters, digits, '.', '_', ':' and '-', starting with a "
                           "letter or digit");
  }
}

std::string task_name(const UserSchedule& s) {
  return s.name + " (tenant " + std::to_string(s.tenant_id) + ")";
}

// Moves `s` from its current next_run_at to `next` (and records `slot` as run, when given);
// false when another scheduler moved it first.
bool advance(db::Connection& conn, const UserSchedule& s, TimePoint next,
             std::optional<TimePoint> slot) {
  return conn.execute(
             "UPDATE schedules SET next_run_at = $3, last_run_at = COALESCE($4, last_run_at)"
             " WHERE id = $1 AND next_run_at = $2",
             {s.id, format_iso8601(s.next_run_at), format_iso8601(next),
              slot ? db::Value{format_iso8601(*slot)} : db::kNull}) == 1;
}

// Runs one due schedule at `at`; nullopt when another scheduler took the slot.
std::optional<TaskRun> run_one(db::Connection& conn, Dispatcher& dispatcher, const UserSchedule& s,
                               TimePoint at, const Clock& clock) {
  const TimePoint started = clock.now();
  TaskRun run{task_name(s), s.next_run_at, std::nullopt, {}};
  std::optional<TimePoint> next;
  try {
    const CronSchedule cron = CronSchedule::parse(s.cron, s.timezone);
    run.slot = cron.latest_at_or_before(at).value_or(s.next_run_at);
    next = cron.next_after(run.slot);
    if (!next) throw failed_precondition("the expression has no slot after " + format_iso8601(at));
    // Opened here, before the transaction: a key problem is this slot's error (skipped below like
    // any other) and the stored payload is never rewritten. The dispatcher seals it again in the
    // job (an encrypted type's jobs are stored sealed).
    const std::string payload =
        s.sealed ? open_payload(dispatcher.config(), s.job_type, s.payload) : s.payload;
    db::TenantScope scope(conn, s.tenant_id);
    db::Transaction tx(conn);
    if (!advance(conn, s, *next, run.slot)) return std::nullopt;
    DispatchOptions o;
    o.queue = s.queue;
    dispatcher.dispatch(conn, s.tenant_id, s.job_type, payload, o);
    tx.commit();
  } catch (const std::exception& e) {
    run.error = e.what();
    // The slot is skipped rather than retried at every round; without a next slot, it stays due
    // and the error is reported again.
    if (next) {
      db::TenantScope scope(conn, s.tenant_id);
      if (!advance(conn, s, *next, std::nullopt)) return std::nullopt;
    }
  }
  run.duration = clock.now() - started;
  return run;
}

}  // namespace

UserSchedule add_user_schedule(db::Connection& conn, const JobRegistry& registry,
                               const Config& config, const NewUserSchedule& in,
                               const Clock& clock) {
  const int64_t tenant = conn.require_tenant();
  check_name(in.name);
  const CronSchedule cron = CronSchedule::parse(in.cron, in.timezone);
  const JobType& type = registry.get(in.job_type);  // kInvalidArgument naming the known types
  require_json_object(in.payload, "the schedule's --data");
  if (in.queue && (in.queue->empty() || in.queue->size() > 100)) {
    throw invalid_argument("invalid queue name '" + *in.queue + "'");
  }
  const std::string payload =
      type.options.encrypted ? seal_payload(config, type.name, in.payload) : in.payload;
  const TimePoint now = clock.now();
  const auto next = cron.next_after(now);
  if (!next) throw invalid_argument("cron expression '" + in.cron + "' never runs");
  try {
    conn.execute(
        "INSERT INTO schedules (tenant_id, name, cron, timezone, job_type, payload, queue,"
        " next_run_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {tenant, in.name, in.cron, cron.timezone(), in.job_type, payload,
         in.queue ? db::Value{*in.queue} : db::kNull, format_iso8601(*next), format_iso8601(now)});
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kAlreadyExists) {
      throw already_exists("schedule '" + in.name + "' already exists");
    }
    throw;
  }
  auto row = conn.query_one(
      std::string("SELECT ") + kColumns + " FROM schedules WHERE tenant_id = $1 AND name = $2",
      {tenant, in.name});
  return from_row(*row);
}

std::vector<UserSchedule> list_user_schedules(db::Connection& conn) {
  std::vector<UserSchedule> out;
  std::string sql = std::string("SELECT ") + kColumns + " FROM schedules";
  db::Params p;
  if (conn.tenant()) {
    sql += " WHERE tenant_id = $1";
    p.add(*conn.tenant());
  }
  conn.query_each(sql + " ORDER BY tenant_id, name", p,
                  [&](const db::Row& r) { out.push_back(from_row(r)); });
  return out;
}

void remove_user_schedule(db::Connection& conn, const std::string& name) {
  const int64_t tenant = conn.require_tenant();
  if (conn.execute("DELETE FROM schedules WHERE tenant_id = $1 AND name = $2", {tenant, name}) ==
      0) {
    throw not_found("schedule '" + name + "' not found");
  }
}

std::vector<TaskRun> run_due_user_schedules(db::Connection& conn, Dispatcher& dispatcher,
                                            TimePoint at, const Clock& clock) {
  if (conn.transaction_depth() > 0) {
    throw failed_precondition("user schedules must be run outside a transaction");
  }
  std::vector<UserSchedule> due;
  conn.query_each(std::string("SELECT ") + kColumns +
                      " FROM schedules WHERE next_run_at <= $1 ORDER BY next_run_at, id",
                  {format_iso8601(at)}, [&](const db::Row& r) { due.push_back(from_row(r)); });
  std::vector<TaskRun> runs;
  for (const auto& s : due) {
    if (auto run = run_one(conn, dispatcher, s, at, clock)) runs.push_back(std::move(*run));
  }
  return runs;
}

}  // namespace unity::queue
