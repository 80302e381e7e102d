#include "queue/schedule.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>

#include "core/error.h"
#include "core/thread_name.h"
#include "queue/worker.h"

namespace unity::queue {

namespace {

using std::chrono::minutes;

// Floor division for minute counts before the epoch too.
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string two_digits(int n) { return (n < 10 ? "0" : "") + std::to_string(n); }

std::string slot_text(TimePoint slot) { return format_iso8601(slot); }

}  // namespace

Frequency Frequency::daily_at(int hour, int minute) {
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) {
    throw invalid_argument("daily time must be 00:00 to 23:59, got " + std::to_string(hour) + ":" +
                           two_digits(minute));
  }
  return {1440, hour * 60 + minute,
          "daily at " + two_digits(hour) + ":" + two_digits(minute) + " UTC"};
}

Frequency Frequency::hourly_at(int minute) {
  if (minute < 0 || minute > 59) {
    throw invalid_argument("hourly minute must be 0 to 59, got " + std::to_string(minute));
  }
  return {60, minute, "hourly at :" + two_digits(minute)};
}

Frequency Frequency::every_minutes(int n) {
  if (n < 1 || n > 1440) {
    throw invalid_argument("every N minutes needs N from 1 to 1440, got " + std::to_string(n));
  }
  return {n, 0, n == 1 ? "every minute" : "every " + std::to_string(n) + " minutes"};
}

TimePoint Frequency::slot_at_or_before(TimePoint t) const {
  const int64_t m = std::chrono::floor<minutes>(t).time_since_epoch().count();
  const int64_t k = floor_div(m - offset_min_, period_min_);
  return TimePoint(minutes(k * period_min_ + offset_min_));
}

TimePoint Frequency::next_after(TimePoint t) const {
  return slot_at_or_before(t) + minutes(period_min_);
}

std::string Frequency::describe() const { return text_; }

std::optional<std::string> Frequency::cron() const {
  const int m = offset_min_ % 60, h = offset_min_ / 60;
  if (period_min_ == 1440) return std::to_string(m) + " " + std::to_string(h) + " * * *";
  if (period_min_ == 60) return std::to_string(m) + " * * * *";
  if (offset_min_ != 0) return std::nullopt;
  if (period_min_ == 1) return "* * * * *";
  if (60 % period_min_ == 0) return "*/" + std::to_string(period_min_) + " * * * *";
  if (period_min_ % 60 == 0 && 24 % (period_min_ / 60) == 0) {
    return "0 */" + std::to_string(period_min_ / 60) + " * * *";
  }
  return std::nullopt;
}

Schedule::Schedule(const Clock& clock) : clock_(clock) {}

void Schedule::add(std::string name, Frequency frequency, TaskFunction run,
                   std::string description) {
  if (name.empty()) throw invalid_argument("a scheduled task needs a name");
  if (!run) throw invalid_argument("scheduled task " + name + " has no function");
  for (const auto& t : tasks_) {
    if (t.name == name) throw already_exists("scheduled task " + name + " is already added");
  }
  tasks_.push_back({std::move(name), std::move(frequency), std::move(description), std::move(run)});
}

bool Schedule::claim(db::Connection& conn, const ScheduledTask& task, TimePoint slot,
                     const std::string& runner) const {
  // Catch-up rule: a slot older than one already run (or claimed) is never run.
  if (conn.query_one("SELECT 1 FROM schedule_runs WHERE task = $1 AND slot >= $2",
                     {task.name, slot_text(slot)})) {
    return false;
  }
  return conn.execute(
             "INSERT INTO schedule_runs (task, slot, runner, started_at) VALUES ($1, $2, $3, $4) "
             "ON CONFLICT (task, slot) DO NOTHING",
             {task.name, slot_text(slot), runner, format_iso8601(clock_.now())}) == 1;
}

TaskRun Schedule::run_one(db::Connection& conn, const ScheduledTask& task, TimePoint slot) const {
  TaskRun run{task.name, slot, std::nullopt, {}};
  const TimePoint started = clock_.now();
  try {
    task.run(slot);
  } catch (const std::exception& e) {
    run.error = e.what();
  } catch (...) {
    run.error = "unknown exception";
  }
  const TimePoint finished = clock_.now();
  run.duration = finished - started;
  conn.execute(
      "UPDATE schedule_runs SET finished_at = $3, error = $4 WHERE task = $1 AND slot = $2",
      {task.name, slot_text(slot), format_iso8601(finished), db::opt_value(run.error)});
  return run;
}

std::vector<TaskRun> Schedule::run_due(db::Connection& conn, TimePoint at,
                                       const std::string& runner) const {
  if (conn.transaction_depth() > 0) {
    throw failed_precondition("Schedule::run_due must be called outside a transaction");
  }
  const std::string who = runner.empty() ? default_worker_name() : runner;
  std::vector<TaskRun> runs;
  for (const auto& task : tasks_) {
    const TimePoint slot = task.frequency.slot_at_or_before(at);
    if (claim(conn, task, slot, who)) runs.push_back(run_one(conn, task, slot));
  }
  if (!runs.empty()) prune_runs(conn, at - retention_);
  if (more_) {
    for (auto& r : more_(conn, at)) runs.push_back(std::move(r));
  }
  return runs;
}

std::vector<TaskStatus> Schedule::status(db::Connection& conn, TimePoint at) const {
  std::vector<TaskStatus> out;
  for (const auto& task : tasks_) {
    TaskStatus s;
    s.task = &task;
    s.next_due = task.frequency.next_after(at);
    if (auto r =
            conn.query_one("SELECT slot, finished_at, error FROM schedule_runs WHERE task = $1 "
                           "ORDER BY slot DESC LIMIT 1",
                           {task.name})) {
      s.last_slot = parse_iso8601(r->get<std::string>(0));
      s.last_error = r->get<std::optional<std::string>>(2);
      s.last_status = r->is_null(1) ? "running" : s.last_error ? "failed" : "ok";
    }
    out.push_back(std::move(s));
  }
  return out;
}

int64_t Schedule::prune_runs(db::Connection& conn, TimePoint before) {
  return conn.execute("DELETE FROM schedule_runs WHERE slot < $1", {slot_text(before)});
}

ScheduleWorker::ScheduleWorker(const Schedule& schedule, db::Connection& conn, const Clock& clock,
                               ScheduleWorkerOptions options)
    : schedule_(schedule), conn_(conn), clock_(clock), options_(std::move(options)) {
  if (options_.runner.empty()) options_.runner = default_worker_name();
}

ScheduleWorker::~ScheduleWorker() { stop(); }

void ScheduleWorker::start() {
  if (thread_.joinable()) throw failed_precondition("the schedule worker is already started");
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void ScheduleWorker::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

void ScheduleWorker::run(std::stop_token stop) {
  name_this_thread("unity schedule");
  round();  // catch-up: the latest slot of each task, if nobody ran it
  while (!stop.stop_requested()) {
    const TimePoint next = std::chrono::floor<minutes>(clock_.now()) + minutes(1);
    if (!sleep_until(next, stop)) break;
    round();
  }
}

void ScheduleWorker::round() {
  try {
    auto runs = schedule_.run_due(conn_, clock_.now(), options_.runner);
    if (!runs.empty() && options_.on_runs) options_.on_runs(runs);
  } catch (const std::exception& e) {
    if (options_.on_error) options_.on_error(e.what());
  }
  ++rounds_;
}

bool ScheduleWorker::sleep_until(TimePoint t, const std::stop_token& stop) const {
  std::mutex m;
  std::condition_variable_any cv;
  for (;;) {
    const TimePoint now = clock_.now();
    if (now >= t) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(t - now) +
                      std::chrono::milliseconds(1);
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, std::min(left, options_.poll), [] { return false; });
    if (stop.stop_requested()) return false;
  }
}

}  // namespace unity::queue
