#pragma once
// The scheduler behind `unity schedule:run` and `schedule:work` (DESIGN.md layer `queue`): named
// tasks, each due at the slots of its Frequency, run at most once per slot however many
// schedulers run, on any number of hosts.
//
// Once per slot: before running a task, run_due() claims its (task, slot) in the system table
// `schedule_runs` with INSERT … ON CONFLICT DO NOTHING; only the scheduler whose insert landed runs
// it, then records finished_at and the error (NULL when it succeeded). A task whose scheduler
// dies mid-run keeps its claim (finished_at NULL): that slot is not run again, the next one is.
//
// Catch-up rule (like cron, no backlog replay): run_due(at) only ever considers each task's
// latest slot at or before `at`. After a gap (the scheduler was down for three days), the three
// missed daily slots are not replayed: the latest one runs once, and the earlier ones never do.
// A slot older than one the task has already run is skipped too (a host whose clock lags does
// not run yesterday's slot again); to redo a past day, run the task's own command
// (`stock:check-expiry --as-of=DATE`). So a scheduler started mid-day runs today's 00:00 daily
// slot if nobody has.
//
// Slots are whole minutes, UTC. Tasks run one after the other on the caller's thread; whatever a
// task throws is caught and recorded on its run (the scheduler is the boundary for tasks, as the
// worker is for handlers), and the other tasks still run.
//
// Threading: a Schedule is immutable once built and may be shared; run_due() uses the connection
// it is given (one thread at a time, as always).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "db/connection.h"

namespace unity::queue {

// When a task is due: daily at HH:MM UTC, hourly at minute M, or every N minutes.
class Frequency {
 public:
  // kInvalidArgument outside 00:00..23:59.
  static Frequency daily_at(int hour, int minute);
  // kInvalidArgument outside 0..59.
  static Frequency hourly_at(int minute);
  // Every n minutes (1..1440), at the multiples of n minutes since the Unix epoch: aligned on
  // midnight UTC whenever n divides 1440 (5, 15, 30, 60, …). kInvalidArgument otherwise.
  static Frequency every_minutes(int n);

  // The latest slot at or before `t`.
  TimePoint slot_at_or_before(TimePoint t) const;
  // The first slot strictly after `t`.
  TimePoint next_after(TimePoint t) const;
  // "daily at 00:00 UTC", "hourly at :05", "every 15 minutes".
  std::string describe() const;
  // The same slots as a cron expression ("0 0 * * *", "5 * * * *", "*/15 * * * *"), or nullopt
  // for every N minutes where no expression has exactly those slots (N = 7, 90, …).
  std::optional<std::string> cron() const;

 private:
  Frequency(int period_min, int offset_min, std::string text)
      : period_min_(period_min), offset_min_(offset_min), text_(std::move(text)) {}
  int period_min_;  // minutes between slots
  int offset_min_;  // slots are offset + k * period minutes since the epoch
  std::string text_;
};

using TaskFunction = std::function<void(TimePoint slot)>;

struct ScheduledTask {
  std::string name;  // "stock:check-expiry": the schedule_runs.task key
  Frequency frequency;
  std::string description;
  TaskFunction run;
};

// One task run by run_due().
struct TaskRun {
  std::string task;
  TimePoint slot;
  std::optional<std::string> error;  // what it threw; nullopt: it succeeded
  std::chrono::microseconds duration{0};
};

// A task's state for `schedule:list`.
struct TaskStatus {
  const ScheduledTask* task = nullptr;
  TimePoint next_due;                      // first slot after `at`
  std::optional<TimePoint> last_slot;      // latest recorded run
  std::optional<std::string> last_status;  // "ok" | "failed" | "running" (no finished_at yet)
  std::optional<std::string> last_error;
};

class Schedule {
 public:
  // `clock` stamps started_at/finished_at; it must outlive the schedule.
  explicit Schedule(const Clock& clock = system_clock());

  // Adds a task. kInvalidArgument for an empty name or no function; kAlreadyExists for a name
  // already added.
  void add(std::string name, Frequency frequency, TaskFunction run, std::string description = "");
  const std::vector<ScheduledTask>& tasks() const { return tasks_; }

  // How long schedule_runs keeps a row (by slot); default 30 days.
  void set_retention(std::chrono::hours retention) { retention_ = retention; }

  // Runs that keep their own once-per-slot record (the tenants' schedules of user_schedules.h):
  // run_due() calls `more` after its tasks and returns its runs too. Errors it throws propagate.
  using MoreRuns = std::function<std::vector<TaskRun>(db::Connection&, TimePoint at)>;
  void also_run(MoreRuns more) { more_ = std::move(more); }

  // Runs every task whose latest slot at or before `at` is due and unclaimed (see the catch-up
  // rule above), in the order added, and returns what ran (empty: nothing was due). After running
  // anything, deletes schedule_runs rows whose slot is older than `at` minus the retention.
  // `runner` names this scheduler in schedule_runs (default host:pid). Must be called outside a
  // transaction (the claim must be visible to other schedulers at once): kFailedPrecondition
  // otherwise. Database errors of the claim itself propagate (kUnavailable, …); tasks' do not.
  std::vector<TaskRun> run_due(db::Connection& conn, TimePoint at,
                               const std::string& runner = "") const;

  // Every task with its next slot after `at` and its latest recorded run.
  std::vector<TaskStatus> status(db::Connection& conn, TimePoint at) const;

  // Deletes schedule_runs rows whose slot is before `before`; returns how many.
  static int64_t prune_runs(db::Connection& conn, TimePoint before);

 private:
  bool claim(db::Connection& conn, const ScheduledTask& task, TimePoint slot,
             const std::string& runner) const;
  TaskRun run_one(db::Connection& conn, const ScheduledTask& task, TimePoint slot) const;

  const Clock& clock_;
  std::vector<ScheduledTask> tasks_;
  std::chrono::hours retention_{24 * 30};
  MoreRuns more_;
};

struct ScheduleWorkerOptions {
  // Longest real sleep between looks at the clock while waiting for the next minute (a wall clock
  // that jumps, or a ManualClock in tests, is noticed within this).
  std::chrono::milliseconds poll{1000};
  std::string runner;  // schedule_runs.runner; default host:pid
  // Called with each round's runs (never with an empty list) and with each round's error (a
  // database that cannot be reached: the loop goes on and retries at the next minute). Both are
  // called on the worker's thread.
  std::function<void(const std::vector<TaskRun>&)> on_runs;
  std::function<void(const std::string&)> on_error;
};

// The loop of `schedule:work`: runs run_due(now) at start (the catch-up round), then at each
// minute boundary of `clock`, until stopped.
//
// Lifecycle (STYLE.md): start() runs the loop on a std::jthread; stop() requests stop and joins,
// letting a task in progress finish; stop() is safe twice and without start(), and the destructor
// calls it. run() runs the loop on the caller's thread instead, until `stop` is requested.
// `schedule`, `conn` and `clock` must outlive the worker; `conn` is used only by the loop's thread.
class ScheduleWorker {
 public:
  ScheduleWorker(const Schedule& schedule, db::Connection& conn, const Clock& clock,
                 ScheduleWorkerOptions options = {});
  ~ScheduleWorker();
  ScheduleWorker(const ScheduleWorker&) = delete;
  ScheduleWorker& operator=(const ScheduleWorker&) = delete;

  // kFailedPrecondition when already started.
  void start();
  void stop();
  void run(std::stop_token stop);

  // Rounds finished so far (run_due calls, successful or not). Thread-safe.
  int64_t rounds() const { return rounds_.load(); }

 private:
  void round();
  // Sleeps until clock_ reaches `t`; false when stop was requested first.
  bool sleep_until(TimePoint t, const std::stop_token& stop) const;

  const Schedule& schedule_;
  db::Connection& conn_;
  const Clock& clock_;
  ScheduleWorkerOptions options_;
  std::atomic<int64_t> rounds_{0};
  std::jthread thread_;
};

}  // namespace unity::queue
