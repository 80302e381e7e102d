// schedule:run, schedule:work, schedule:list, schedule:add, schedule:remove: the daily scans and
// the pruning of jobs/scans.h on the scheduler of queue/schedule.h (each slot runs once, however
// many schedulers run), and the tenants' own cron schedules of queue/user_schedules.h, which
// the same rounds run.
// schedule:run prints what ran; when a task failed it then exits 1 with one line on stderr naming
// it (the other tasks still ran). schedule:work prints each run as it happens and exits 0 on
// SIGTERM/SIGINT after the task in progress.
#include <pthread.h>

#include <csignal>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/scans.h"
#include "core/error.h"
#include "core/json.h"
#include "queue/schedule.h"
#include "queue/user_schedules.h"
#include "queue/worker.h"

namespace unity::cli {

namespace {

TimePoint at_or_now(const std::string& at) {
  return at.empty() ? system_clock().now() : parse_iso8601(at);
}

nlohmann::json run_json(const queue::TaskRun& r) {
  return {
      {"task", r.task},
      {"slot", format_iso8601(r.slot)},
      {"status", r.error ? "failed" : "ok"},
      {"error", r.error ? nlohmann::json(*r.error) : nlohmann::json()},
      {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(r.duration).count()}};
}

std::vector<std::string> run_row(const queue::TaskRun& r) {
  return {
      r.task, format_iso8601(r.slot), r.error ? "failed: " + *r.error : "ok",
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(r.duration).count()) +
          " ms"};
}

const std::vector<std::string> kRunHeaders = {"task", "slot", "outcome", "duration"};

void define_run(CLI::App& app, Context& ctx) {
  auto at = std::make_shared<std::string>();
  app.add_option("--at", *at, "Run the tasks due at this ISO 8601 time (default: now)");
  app.callback([&ctx, at] {
    const TimePoint t = at_or_now(*at);
    const jobs::ScanContext scans = scan_context(ctx);
    const queue::Schedule schedule = jobs::make_schedule(scans);
    const auto runs = schedule.run_due(ctx.app(), t);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> failed;
    for (const auto& r : runs) {
      out.push_back(run_json(r));
      rows.push_back(run_row(r));
      if (r.error) failed.push_back(r.task + ": " + *r.error);
    }
    ctx.emit(out, runs.empty() ? "Nothing due at " + format_iso8601(t) +
                                     " (every task's latest slot has run)"
                               : render_table(kRunHeaders, rows));
    if (!failed.empty()) {
      std::string msg = std::to_string(failed.size()) + " of " + std::to_string(runs.size()) +
                        " task(s) failed: " + failed[0];
      for (size_t i = 1; i < failed.size(); ++i) msg += "; " + failed[i];
      throw internal_error(msg);
    }
  });
}

// SIGTERM/SIGINT are blocked in every thread (the scheduler's thread inherits the mask) and taken
// by sigwait() on the main thread.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

void define_work(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  app.add_option("--name", *name, "This scheduler's name in schedule_runs (default host:pid)");
  app.callback([&ctx, name] {
    // Blocked from the start: a signal during start-up waits for sigwait() below.
    const sigset_t stop_signals = block_stop_signals();
    db::Connection& conn = ctx.app();  // schema check before starting the thread
    const jobs::ScanContext scans = scan_context(ctx);
    const queue::Schedule schedule = jobs::make_schedule(scans);
    queue::ScheduleWorkerOptions o;
    o.runner = name->empty() ? queue::default_worker_name() : *name;
    int64_t ran = 0;  // written by the scheduler's thread only, read after it stopped
    o.on_runs = [&ctx, &ran](const std::vector<queue::TaskRun>& runs) {
      for (const auto& r : runs) {
        ++ran;
        if (ctx.json) {
          std::cout << run_json(r).dump() << '\n';
        } else {
          const auto row = run_row(r);
          std::cout << row[1] << "  " << row[0] << "  " << row[2] << " (" << row[3] << ")\n";
        }
      }
      std::cout.flush();
    };
    o.on_error = [](const std::string& e) { std::cerr << "unity schedule:work: " << e << '\n'; };
    queue::ScheduleWorker worker(schedule, conn, system_clock(), o);
    // Once this line is out, SIGTERM/SIGINT stop the scheduler cleanly.
    ctx.emit({{"started", o.runner}, {"tasks", schedule.tasks().size()}},
             "Scheduler " + o.runner + " started (" + std::to_string(schedule.tasks().size()) +
                 " tasks); SIGTERM or SIGINT stops it");
    std::cout.flush();
    worker.start();
    int sig = SIGTERM;
    sigwait(&stop_signals, &sig);
    worker.stop();  // lets a task in progress finish
    ctx.emit({{"exit", "stopped"}, {"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}, {"runs", ran}},
             "Scheduler " + o.runner + " stopped (" + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
                 "): " + std::to_string(ran) + " task run(s)");
  });
}

nlohmann::json or_null(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(format_iso8601(*t)) : nlohmann::json();
}

// A tenant's schedule in the shape of schedule:list (and schedule:add's answer).
nlohmann::json user_json(const queue::UserSchedule& s) {
  return {{"name", s.name},
          {"cron", s.cron},
          {"job", s.job_type},
          {"tenant_id", s.tenant_id},
          {"timezone", s.timezone},
          {"queue", s.queue ? nlohmann::json(*s.queue) : nlohmann::json()},
          // An encrypted type's payload only in its sealed form: the clear data never leaves the
          // scheduler.
          {"data", parse_json(s.payload, "the schedule's payload")},
          {"sealed", s.sealed},
          {"next_run_at", format_iso8601(s.next_run_at)},
          {"last_run_at", or_null(s.last_run_at)}};
}

std::vector<std::string> user_row(const queue::UserSchedule& s) {
  return {s.name,
          std::to_string(s.tenant_id),
          s.cron,
          s.timezone,
          s.sealed ? s.job_type + " (sealed)" : s.job_type,
          format_iso8601(s.next_run_at),
          s.last_run_at ? format_iso8601(*s.last_run_at) : "-"};
}

const std::vector<std::string> kListHeaders = {"name", "tenant",   "cron",       "timezone",
                                               "job",  "next_due", "last_run_at"};

void define_list(CLI::App& app, Context& ctx) {
  auto at = std::make_shared<std::string>();
  auto tenant = std::make_shared<std::optional<int64_t>>();
  app.add_option("--at", *at, "Show next due times after this ISO 8601 time (default: now)");
  app.add_option("--tenant", *tenant, "Only this tenant's schedules (and the built-in tasks)");
  app.callback([&ctx, at, tenant] {
    const TimePoint t = at_or_now(*at);
    const jobs::ScanContext scans = scan_context(ctx);
    const queue::Schedule schedule = jobs::make_schedule(scans);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : schedule.status(ctx.app(), t)) {
      const std::string last = s.last_slot ? format_iso8601(*s.last_slot) : "";
      const auto cron = s.task->frequency.cron();
      out.push_back({{"name", s.task->name},
                     {"cron", cron ? nlohmann::json(*cron) : nlohmann::json()},
                     {"job", nullptr},
                     {"tenant_id", nullptr},
                     {"timezone", "UTC"},
                     {"next_run_at", format_iso8601(s.next_due)},
                     {"last_run_at", or_null(s.last_slot)},
                     {"task", s.task->name},
                     {"frequency", s.task->frequency.describe()},
                     {"description", s.task->description},
                     {"next_due", format_iso8601(s.next_due)},
                     {"last_slot", s.last_slot ? nlohmann::json(last) : nlohmann::json()},
                     {"last_status", s.last_status ? nlohmann::json(*s.last_status) : nullptr},
                     {"last_error", s.last_error ? nlohmann::json(*s.last_error) : nullptr}});
      rows.push_back({s.task->name, "-", cron.value_or(s.task->frequency.describe()), "UTC",
                      "(built-in)", format_iso8601(s.next_due), last.empty() ? "-" : last});
    }
    db::Connection& conn = *tenant ? ctx.tenant_app(**tenant) : ctx.app();
    for (const auto& s : queue::list_user_schedules(conn)) {
      out.push_back(user_json(s));
      rows.push_back(user_row(s));
    }
    ctx.emit(out, render_table(kListHeaders, rows));
  });
}

struct AddArgs {
  std::string name, cron, job, data = "{}", queue, timezone = "UTC";
  int64_t tenant = 0;
};

void define_add(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<AddArgs>();
  app.add_option("name", a->name, "The schedule's name, unique in the tenant")->required();
  app.add_option("--cron", a->cron, "\"MIN HOUR DOM MON DOW\" (or @hourly, @daily, ...)")
      ->required();
  app.add_option("--job", a->job, "The job type to dispatch at each slot")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--data", a->data, "The job's payload, a JSON object (default {})");
  app.add_option("--queue", a->queue, "Queue (default: the type's, else DB_QUEUE)");
  app.add_option("--timezone", a->timezone, "IANA time zone of the expression (default UTC)");
  app.callback([&ctx, a] {
    queue::NewUserSchedule n{a->name, a->cron, a->timezone, a->job, a->data, std::nullopt};
    if (!a->queue.empty()) n.queue = a->queue;
    const auto s = queue::add_user_schedule(ctx.tenant_app(a->tenant), ctx.registry(), ctx.config(),
                                            n, system_clock());
    ctx.emit(user_json(s), "Schedule " + s.name + " added for tenant " +
                               std::to_string(s.tenant_id) + ": " + s.job_type + " at '" + s.cron +
                               "' (" + s.timezone + "), next at " + format_iso8601(s.next_run_at));
  });
}

void define_remove(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  auto tenant = std::make_shared<int64_t>(0);
  app.add_option("name", *name, "The schedule's name")->required();
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.callback([&ctx, name, tenant] {
    queue::remove_user_schedule(ctx.tenant_app(*tenant), *name);
    ctx.emit({{"name", *name}, {"tenant_id", *tenant}, {"removed", true}},
             "Schedule " + *name + " removed from tenant " + std::to_string(*tenant));
  });
}

}  // namespace

void add_schedule_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"schedule:run", "Run the scheduled tasks due now (or --at=TIME), once each",
                      with(define_run)});
  commands.push_back(
      {"schedule:work", "Keep running the scheduled tasks at each minute", with(define_work)});
  commands.push_back({"schedule:list",
                      "The built-in tasks and the tenants' schedules, when each is next due and "
                      "its last run",
                      with(define_list)});
  commands.push_back(
      {"schedule:add", "Add a tenant's cron schedule that dispatches a job", with(define_add)});
  commands.push_back(
      {"schedule:remove", "Remove a tenant's schedule by name", with(define_remove)});
}

}  // namespace unity::cli
