// schedule:run, schedule:work, schedule:list: the daily scans and the pruning of jobs/scans.h on
// the scheduler of queue/schedule.h (each slot runs once, however many schedulers run).
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
#include "queue/schedule.h"
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

void define_list(CLI::App& app, Context& ctx) {
  auto at = std::make_shared<std::string>();
  app.add_option("--at", *at, "Show next due times after this ISO 8601 time (default: now)");
  app.callback([&ctx, at] {
    const TimePoint t = at_or_now(*at);
    const jobs::ScanContext scans = scan_context(ctx);
    const queue::Schedule schedule = jobs::make_schedule(scans);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : schedule.status(ctx.app(), t)) {
      const std::string last = s.last_slot ? format_iso8601(*s.last_slot) : "";
      out.push_back({{"task", s.task->name},
                     {"frequency", s.task->frequency.describe()},
                     {"description", s.task->description},
                     {"next_due", format_iso8601(s.next_due)},
                     {"last_slot", s.last_slot ? nlohmann::json(last) : nlohmann::json()},
                     {"last_status", s.last_status ? nlohmann::json(*s.last_status) : nullptr},
                     {"last_error", s.last_error ? nlohmann::json(*s.last_error) : nullptr}});
      rows.push_back({s.task->name, s.task->frequency.describe(), format_iso8601(s.next_due),
                      last.empty() ? "-" : last, s.last_status.value_or("-")});
    }
    ctx.emit(out,
             render_table({"task", "frequency", "next_due", "last_slot", "last_status"}, rows));
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
                      "The scheduled tasks, when each is next due and its last run",
                      with(define_list)});
}

}  // namespace unity::cli
