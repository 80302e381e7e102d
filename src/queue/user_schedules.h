#pragma once
// Tenants' own schedules (`schedule:add|list|remove`, DESIGN.md "The Bus"): a named cron
// expression (queue/cron.h) in a time zone that dispatches one job type with a fixed payload at
// each slot. Rows of the tenant table `schedules` (migration 0021).
//
// Running them (run_due_user_schedules, called by Schedule::run_due at each scheduler round):
// every schedule whose next_run_at has come is run at its latest slot at or before `at`, and its
// next_run_at moves to the slot after. The move is a compare-and-set on next_run_at, in the
// transaction that dispatches the job: of several schedulers (any hosts) exactly one moves it and
// dispatches, and a scheduler that dies mid-way leaves neither the move nor the job. Catch-up rule
// as for the built-in tasks (schedule.h): slots missed while no scheduler ran are not replayed;
// only the latest one runs, once. A schedule added at T is first due at its first slot after T.
// A job that cannot be dispatched (its type no longer registered, its tenant gone) is reported as
// that slot's error and the slot is skipped.
//
// Encryption at rest (queue/payload_crypt.h): the payload of a schedule whose job type is
// encrypted is stored sealed under APP_KEY, as the jobs it dispatches are; it is opened (APP_KEY
// or APP_PREVIOUS_KEYS) only when a slot runs, and the dispatcher seals it again in the job. A
// payload that does not open (no key, another key) is that slot's error: the slot is skipped as
// above, the row and its sealed payload kept.
//
// Tenancy: add and remove act in the connection's tenant (kFailedPrecondition without one). list
// shows the connection's tenant's schedules, or every tenant's without a tenant context (as the
// scheduler sees them: the table has the queue tables' row-level security policy).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "db/connection.h"
#include "queue/schedule.h"

namespace unity::queue {

class Dispatcher;
class JobRegistry;

struct UserSchedule {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string name;
  std::string cron;
  std::string timezone;
  std::string job_type;
  std::string payload;               // a JSON object: the sealed form when `sealed`
  bool sealed = false;               // the payload is sealed ({"sealed":"v1:…"})
  std::optional<std::string> queue;  // nullopt: the type's queue, else DB_QUEUE
  TimePoint next_run_at;
  std::optional<TimePoint> last_run_at;  // the latest slot run
};

struct NewUserSchedule {
  std::string name;      // 1-100 of [A-Za-z0-9._:-], starting with a letter or digit
  std::string cron;      // five fields or a macro (cron.h)
  std::string timezone;  // IANA name; empty: UTC
  std::string job_type;  // a type of `registry`
  std::string payload = "{}";
  std::optional<std::string> queue;  // 1-100 characters
};

// Adds a schedule to the connection's tenant, first due at its first slot after clock.now(); the
// payload of an encrypted job type sealed under config.app_key.
// kInvalidArgument for a bad name, expression, time zone, job type (not in `registry`), payload
// (not a JSON object) or queue; kAlreadyExists when the tenant has a schedule of that name;
// kFailedPrecondition without a tenant context, or for an encrypted type without APP_KEY.
UserSchedule add_user_schedule(db::Connection& conn, const JobRegistry& registry,
                               const Config& config, const NewUserSchedule& schedule,
                               const Clock& clock);

// The connection's tenant's schedules (every tenant's without a tenant context), by tenant then
// name.
std::vector<UserSchedule> list_user_schedules(db::Connection& conn);

// Removes the connection's tenant's schedule `name`: kNotFound when it has none of that name
// (another tenant's is as unknown as a missing one); kFailedPrecondition without a tenant.
void remove_user_schedule(db::Connection& conn, const std::string& name);

// Runs the schedules due at `at` (see above), dispatching through `dispatcher` (whose config's
// keys open sealed payloads); one TaskRun each, its task "NAME (tenant N)". Must be called outside
// a transaction (kFailedPrecondition); database errors of the search propagate, a schedule's own
// errors are its run's error.
std::vector<TaskRun> run_due_user_schedules(db::Connection& conn, Dispatcher& dispatcher,
                                            TimePoint at, const Clock& clock);

}  // namespace unity::queue
