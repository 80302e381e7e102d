// queue:work, queue:dispatch, queue:failed, queue:retry, queue:forget, queue:flush, queue:stats,
// queue:restart, queue:pause, queue:resume, queue:workers, tenant:weight.
#include <csignal>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/signals.h"
#include "core/error.h"
#include "db/tenancy.h"
#include "queue/dispatch.h"
#include "queue/store.h"
#include "queue/views.h"
#include "queue/worker.h"
#include "queue/workers.h"

namespace unity::cli {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

queue::JobStore store_of(Context& ctx) {
  return queue::JobStore(ctx.app(), ctx.config().queue_table, system_clock());
}

struct WorkArgs {
  std::string queues, backoff, name;
  int concurrency = 1, batch = 0, memory = 0, max_time = 0;
  std::optional<int> timeout, tries;
  double sleep = 3;
  int64_t max_jobs = 0;
  bool stop_when_empty = false, once = false;
};

void define_work(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<WorkArgs>();
  app.add_option("--queue", a->queues,
                 "Queues in strict priority order (default high,DB_QUEUE,low)");
  app.add_option("--concurrency", a->concurrency, "Jobs run at once (default 1)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--batch", a->batch,
                 "Jobs to hold claimed ahead of the free slots: 0 (default) as many as start "
                 "within 2 ms while jobs are short, 1 none, N at least N")
      ->check(CLI::Range(0, 10000));
  app.add_option("--timeout", a->timeout,
                 "Seconds per attempt for jobs without their own (default 60)")
      ->check(CLI::Range(1, 86400));
  app.add_option("--memory", a->memory, "Exit (code 12) once the worker uses this many MB")
      ->check(CLI::Range(0, 1 << 20));
  app.add_option("--tries", a->tries, "Attempts for jobs without their own (default 3)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--backoff", a->backoff,
                 "Seconds between retries: 10, 1,5,10 or exp[:BASE[:CAP]] (default exp)");
  app.add_option("--sleep", a->sleep,
                 "Longest idle wait in seconds when no wake-up arrives (default 3)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--max-time", a->max_time, "Exit after this many seconds")
      ->check(CLI::Range(0, 1 << 30));
  app.add_option("--max-jobs", a->max_jobs, "Exit after this many jobs")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_flag("--stop-when-empty", a->stop_when_empty, "Exit when no job is ready");
  app.add_flag("--once", a->once, "Run one job, then exit");
  app.add_option("--name", a->name, "Worker name in logs (default host:pid)");
  app.callback([&ctx, a] {
    // A stop or pause during start-up waits for the signal thread below instead of killing us.
    block_signals({SIGTERM, SIGINT, SIGUSR2, SIGCONT});
    queue::WorkerOptions o;
    o.queues = split(a->queues, ',');
    o.concurrency = a->concurrency;
    o.batch = a->batch;
    o.timeout_s = a->timeout;
    o.tries = a->tries;
    if (!a->backoff.empty()) o.backoff = queue::Backoff::parse(a->backoff);
    o.memory_mb = a->memory;
    o.sleep_s = a->sleep;
    o.max_time_s = a->max_time;
    o.max_jobs = a->max_jobs;
    o.stop_when_empty = a->stop_when_empty;
    o.once = a->once;
    o.name = a->name.empty() ? queue::default_worker_name() : a->name;
    ctx.app();  // schema check before starting threads
    queue::Worker logged(db::connection_factory(ctx.config()), ctx.config(), ctx.registry(), o,
                         &ctx.audit_log(o.name));
    // SIGTERM/SIGINT: finish the running jobs and exit 0; SIGUSR2: pause; SIGCONT: resume.
    const SignalThread signals({SIGTERM, SIGINT, SIGUSR2, SIGCONT}, [&logged](int sig) {
      if (sig == SIGUSR2) {
        logged.pause();
      } else if (sig == SIGCONT) {
        logged.resume();
      } else {
        logged.request_stop();
      }
    });
    const queue::WorkerExit exit = logged.run();
    const auto s = logged.stats();
    ctx.emit({{"exit", queue::worker_exit_name(exit)},
              {"processed", s.processed},
              {"completed", s.completed},
              {"retried", s.retried},
              {"failed", s.failed},
              {"deferred", s.deferred}},
             "Worker " + logged.name() + " exited (" + queue::worker_exit_name(exit) + "): " +
                 std::to_string(s.processed) + " processed, " + std::to_string(s.completed) +
                 " completed, " + std::to_string(s.retried) + " retried, " +
                 std::to_string(s.failed) + " failed, " + std::to_string(s.deferred) + " deferred");
    if (exit == queue::WorkerExit::kMemory) std::exit(12);
  });
}

struct DispatchArgs {
  std::string type, queue, data = "{}", unique;
  int64_t tenant = -1;
  double delay = 0;
  int count = 1;
  int priority = 0;
};

void define_dispatch(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DispatchArgs>();
  app.add_option("type", a->type, "A registered job type (e.g. diag.noop)")->required();
  app.add_option("--tenant", a->tenant, "Tenant id (0: a system job)")->required();
  app.add_option("--queue", a->queue, "Queue (default: the type's, else DB_QUEUE)");
  app.add_option("--delay", a->delay, "Seconds before it may run")
      ->check(CLI::Range(0.0, 31536000.0));
  app.add_option("--data", a->data, "The payload, a JSON object; - reads stdin");
  app.add_option("--unique", a->unique, "Refuse if a job with this key is waiting or running");
  app.add_option("--priority", a->priority,
                 "Higher runs first within its queue and tenant (-1000..1000, default 0)");
  app.add_option("--count", a->count, "Enqueue this many copies in one transaction")
      ->check(CLI::Range(1, 1000000));
  app.callback([&ctx, a] {
    if (a->data == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      a->data = ss.str();
    }
    queue::DispatchOptions o;
    if (!a->queue.empty()) o.queue = a->queue;
    o.delay = std::chrono::milliseconds(static_cast<int64_t>(a->delay * 1000));
    if (!a->unique.empty()) o.unique_key = a->unique;
    o.priority = a->priority;
    queue::Dispatcher& d = ctx.dispatcher();
    // tenant_app checks that the tenant exists before its context is set.
    db::Connection& conn = a->tenant > 0 ? ctx.tenant_app(a->tenant) : ctx.app();
    auto jobs =
        d.dispatch_many(conn, a->tenant, a->type,
                        std::vector<std::string>(static_cast<size_t>(a->count), a->data), o);
    nlohmann::json out = {
        {"id", jobs.front().id}, {"uuid", jobs.front().uuid}, {"queue", jobs.front().queue}};
    if (jobs.size() > 1) out["count"] = jobs.size();
    ctx.emit(out, "Dispatched " + a->type + " as job " + std::to_string(jobs.front().id) +
                      (jobs.size() > 1 ? " (+" + std::to_string(jobs.size() - 1) + " more)" : "") +
                      " on queue " + jobs.front().queue);
  });
}

void define_failed(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<std::optional<int64_t>>();
  auto limit = std::make_shared<int>(100);
  app.add_option("--tenant", *tenant, "Only this tenant's failed jobs");
  app.add_option("--limit", *limit, "Newest N (default 100)")->check(CLI::Range(1, 100000));
  app.callback([&ctx, tenant, limit] {
    auto store = store_of(ctx);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : store.failed_list(*tenant, *limit)) {
      out.push_back(queue::failed_job_json(f));
      const std::string shown = out.back()["exception"];
      std::string ex = shown.size() > 60 ? shown.substr(0, 57) + "..." : shown;
      rows.push_back({std::to_string(f.id), f.uuid, f.queue, std::to_string(f.tenant_id), f.type,
                      f.failed_at, ex});
    }
    ctx.emit(out, render_table({"id", "uuid", "queue", "tenant", "type", "failed at", "exception"},
                               rows));
  });
}

void define_retry(CLI::App& app, Context& ctx) {
  auto ids = std::make_shared<std::vector<std::string>>();
  auto q = std::make_shared<std::string>();
  app.add_option("ids", *ids, "Failed job ids or uuids, or all")->required();
  app.add_option("--queue", *q, "With all: only this queue's failures");
  app.callback([&ctx, ids, q] {
    auto store = store_of(ctx);
    auto jobs = store.failed_retry(*ids, q->empty() ? std::nullopt : std::optional(*q));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& j : jobs) out.push_back({{"id", j.id}, {"uuid", j.uuid}, {"queue", j.queue}});
    ctx.emit(out, "Pushed " + std::to_string(jobs.size()) + " failed job(s) back onto the queue");
  });
}

void define_forget(CLI::App& app, Context& ctx) {
  auto id = std::make_shared<std::string>();
  app.add_option("id", *id, "Failed job id or uuid")->required();
  app.callback([&ctx, id] {
    if (!store_of(ctx).failed_forget(*id)) {
      throw not_found("failed job " + *id + " not found (see `unity queue:failed`)");
    }
    ctx.emit({{"forgotten", *id}}, "Failed job " + *id + " deleted");
  });
}

void define_flush(CLI::App& app, Context& ctx) {
  auto hours = std::make_shared<std::optional<int>>();
  app.add_option("--hours", *hours, "Only failures older than this many hours")
      ->check(CLI::Range(0, 1000000));
  app.callback([&ctx, hours] {
    const int64_t n = store_of(ctx).failed_flush(*hours);
    ctx.emit({{"deleted", n}}, "Deleted " + std::to_string(n) + " failed job(s)");
  });
}

void define_stats(CLI::App& app, Context& ctx) {
  app.callback([&ctx] {
    auto store = store_of(ctx);
    nlohmann::json out = queue::stats_json(store, std::nullopt);
    std::vector<std::vector<std::string>> qrows, trows;
    auto cell = [](const nlohmann::json& v) { return v.dump(); };
    for (const auto& q : out["queues"]) {
      qrows.push_back({q["queue"].get<std::string>(), cell(q["ready"]), cell(q["reserved"]),
                       cell(q["delayed"]), cell(q["failed"])});
    }
    for (const auto& t : out["tenants"]) {
      trows.push_back({cell(t["tenant_id"]), cell(t["ready"]), cell(t["reserved"]),
                       cell(t["delayed"]), cell(t["failed"])});
    }
    auto [done, failed] = store.stats_throughput(1);
    auto [done5, failed5] = store.stats_throughput(5);
    // The 5-minute rate as the JSON gives it (done5 / 5.0), in tenths: "1.2", "0.8", "3".
    const std::string rate5 =
        std::to_string(done5 / 5) + (done5 % 5 == 0 ? "" : "." + std::to_string(done5 % 5 * 2));
    out["throughput"] = {{"completed_last_minute", done},
                         {"failed_last_minute", failed},
                         {"completed_per_minute_5m", done5 / 5.0},
                         {"failed_last_5m", failed5}};
    ctx.emit(out, render_table({"queue", "ready", "reserved", "delayed", "failed"}, qrows) + "\n" +
                      render_table({"tenant", "ready", "reserved", "delayed", "failed"}, trows) +
                      "\nCompleted " + std::to_string(done) + " job(s) in the current minute, " +
                      rate5 + "/min over 5 minutes; failed " + std::to_string(failed5) +
                      " in 5 minutes.");
  });
}

void define_workers(CLI::App& app, Context& ctx) {
  app.callback([&ctx] {
    const auto workers = queue::workers_alive(ctx.app(), system_clock());
    const int64_t now_s = system_clock().now().time_since_epoch().count() / 1'000'000;
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& w : workers) {
      out.push_back(queue::worker_json(w));
      std::string queues;
      for (const auto& q : w.queues) queues += (queues.empty() ? "" : ",") + q;
      rows.push_back({w.name, w.host, std::to_string(w.pid), queues, std::to_string(w.concurrency),
                      std::to_string(w.jobs_done),
                      std::to_string(now_s - w.started_at_us / 1'000'000) + " s ago",
                      std::to_string(now_s - w.last_heartbeat_us / 1'000'000) + " s ago"});
    }
    ctx.emit(out, workers.empty() ? std::string("No worker alive.")
                                  : render_table({"name", "host", "pid", "queues", "concurrency",
                                                  "jobs done", "started", "last heartbeat"},
                                                 rows));
  });
}

void define_restart(CLI::App& app, Context& ctx) {
  app.callback([&ctx] {
    store_of(ctx).signal_restart();
    ctx.emit({{"restart", true}}, "Every worker will exit after its current jobs.");
  });
}

void define_pause(CLI::App& app, Context& ctx, bool pause) {
  auto tenant = std::make_shared<int64_t>(0);
  auto q = std::make_shared<std::string>("*");
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.add_option("--queue", *q, "Only this queue (default: every queue)");
  app.callback([&ctx, tenant, q, pause] {
    auto store = store_of(ctx);
    db::find_tenant(ctx.app(), *tenant);
    if (pause) {
      store.tenant_pause(*tenant, *q);
    } else if (store.tenant_resume(*tenant, *q) == 0) {
      throw not_found("tenant " + std::to_string(*tenant) + " is not paused" +
                      (*q == "*" ? "" : " on queue " + *q));
    }
    const std::string what = *q == "*" ? "every queue" : "queue " + *q;
    ctx.emit({{"tenant_id", *tenant}, {"queue", *q}, {"paused", pause}},
             std::string(pause ? "Paused " : "Resumed ") + "tenant " + std::to_string(*tenant) +
                 " on " + what);
  });
}

void define_weight(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<int64_t>(0);
  auto weight = std::make_shared<int>(1);
  auto cap = std::make_shared<std::optional<int>>();
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.add_option("--weight", *weight, "Share in round-robin, 1-1000 (default 1)")->required();
  app.add_option("--max-concurrency", *cap,
                 "Most of its jobs running at once across workers; 0 removes the cap (default: "
                 "keep the current one)");
  app.callback([&ctx, tenant, weight, cap] {
    auto store = store_of(ctx);
    std::optional<int> new_cap = *cap;
    if (!cap->has_value()) {  // not given: the cap stays as it is
      for (const auto& t : store.tenant_settings()) {
        if (t.tenant_id == *tenant) new_cap = t.max_concurrency;
      }
    } else if (**cap == 0) {
      new_cap.reset();
    }
    store.tenant_set_weight(*tenant, *weight, new_cap);
    nlohmann::json out = {{"tenant_id", *tenant}, {"weight", *weight}};
    out["max_concurrency"] = new_cap ? nlohmann::json(*new_cap) : nlohmann::json();
    ctx.emit(out, "Tenant " + std::to_string(*tenant) + " weight " + std::to_string(*weight) +
                      (new_cap ? ", at most " + std::to_string(*new_cap) + " job(s) at once"
                               : ", no concurrency cap"));
  });
}

}  // namespace

void add_queue_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"queue:work", "Run a worker", with(define_work)});
  commands.push_back({"queue:dispatch", "Enqueue any registered job type", with(define_dispatch)});
  commands.push_back({"queue:failed", "List failed jobs", with(define_failed)});
  commands.push_back({"queue:retry", "Push failed jobs (ids, uuids or all) back onto the queue",
                      with(define_retry)});
  commands.push_back({"queue:forget", "Delete a failed job", with(define_forget)});
  commands.push_back(
      {"queue:flush", "Delete failed jobs (all, or older than --hours)", with(define_flush)});
  commands.push_back({"queue:stats",
                      "Ready, reserved, delayed and failed jobs per queue and tenant",
                      with(define_stats)});
  commands.push_back({"queue:workers",
                      "Workers alive (by heartbeat): name, host, pid, queues, jobs done",
                      with(define_workers)});
  commands.push_back(
      {"queue:restart", "Ask every worker to exit after its current jobs", with(define_restart)});
  commands.push_back({"queue:pause", "Hold one tenant's jobs",
                      [&ctx](CLI::App& app) { define_pause(app, ctx, true); }});
  commands.push_back({"queue:resume", "Release one tenant's held jobs",
                      [&ctx](CLI::App& app) { define_pause(app, ctx, false); }});
  commands.push_back(
      {"tenant:weight", "Set a tenant's share in round-robin (and its cap)", with(define_weight)});
}

}  // namespace unity::cli
