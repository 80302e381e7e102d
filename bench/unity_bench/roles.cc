#include "roles.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_jobs.h"
#include "core/clock.h"
#include "core/error.h"
#include "measure.h"
#include "queue/audit_log.h"
#include "queue/dispatch.h"
#include "queue/store.h"
#include "queue/worker.h"

namespace unity::bench {

namespace {

using nlohmann::json;

constexpr int kMonitorPollMs = 20;

// The one place the bench constructs a queue::Worker: the worker's queues are the bench's.
std::unique_ptr<queue::Worker> make_worker(const Config& config, const queue::JobRegistry& registry,
                                           const BenchArgs& a, queue::AuditLog* log) {
  queue::WorkerOptions o;
  o.queues = {kBenchQueue};
  o.concurrency = a.concurrency.value_or(1);
  o.batch = a.batch;
  return std::make_unique<queue::Worker>(db::connection_factory(config), config, registry,
                                         std::move(o), log);
}

// A queue::Worker running on its own thread; a failure of run() ends every wait on the tally.
class WorkerThread {
 public:
  WorkerThread(const Config& config, const queue::JobRegistry& registry, const BenchArgs& a,
               queue::AuditLog* log)
      : worker_(make_worker(config, registry, a, log)), thread_([this] { run(); }) {}
  ~WorkerThread() { stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void stop() {
    worker_->request_stop();
    if (thread_.joinable()) thread_.join();
  }
  bool finished() const { return finished_.load(); }
  // Throws the worker's failure, if it failed.
  void check() {
    std::lock_guard lock(mu_);
    if (!error_.empty()) throw unavailable("bench worker failed: " + error_);
  }
  queue::WorkerStats stats() const { return worker_->stats(); }

 private:
  void run() {
    try {
      worker_->run();
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      error_ = e.what();
    }
    finished_ = true;
    tally().wake();
  }

  std::unique_ptr<queue::Worker> worker_;
  std::mutex mu_;  // guards error_
  std::string error_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

void print_line(const std::string& line) {
  std::cout << line << std::endl;  // flushed: the driver waits for it
}

// W1 step 2: t0 just before the worker starts; count handler starts; once all N started, poll the
// store every 20 ms until no job is unfinished (t1).
json drain_worker(BenchEnv& env, const BenchArgs& a, queue::AuditLog* log) {
  auto registry = bench_registry(a.transactional);
  queue::JobStore monitor(env.app(), env.config().queue_table, system_clock());
  Tally& t = tally();
  t.reset(a.expected);
  const double cpu0 = process_cpu_ms();
  const double t0 = now_ms();
  WorkerThread worker(env.config(), *registry, a, log);
  const double started_call = now_ms();
  const double deadline = t0 + a.cap_ms;
  t.wait([&] { return t.started() >= a.expected || worker.finished(); }, deadline);
  worker.check();
  int64_t remaining = monitor.job_count_unfinished(kBenchQueue);
  while (remaining > 0 && now_ms() < deadline) {
    sleep_ms(kMonitorPollMs);
    remaining = monitor.job_count_unfinished(kBenchQueue);
  }
  const double t1 = now_ms();
  json hwm = vm_hwm_kb();
  const double cpu = process_cpu_ms() - cpu0;
  const int64_t completed = a.expected - remaining;
  const auto stats = worker.stats();
  return {{"role", "worker"},
          {"mode", "drain"},
          {"concurrency", a.concurrency.value_or(1)},
          {"expected", a.expected},
          {"completed", completed},
          {"handled", t.started()},
          {"duplicates", t.duplicates()},
          {"capped", remaining > 0},
          {"start_call_ms", r3(started_call - t0)},
          {"elapsed_ms", r3(t1 - t0)},
          {"drain_jobs_per_s", r1(completed / ((t1 - t0) / 1000))},
          {"vmhwm_kb", hwm},
          {"worker_cpu_ms", r1(cpu)},
          {"worker_completed", stats.completed},
          {"worker_retried", stats.retried},
          {"worker_failed", stats.failed}};
}

json latency_summary(const Tally& t) {
  std::vector<double> all = t.latency_ms();
  std::sort(all.begin(), all.end());
  double sum = 0;
  int64_t got = 0;
  for (double x : all) {
    if (!std::isfinite(x)) continue;
    sum += x;
    ++got;
  }
  return {{"min", finite_or_null(all.empty() ? INFINITY : all.front())},
          {"p50", finite_or_null(percentile(all, 50))},
          {"p95", finite_or_null(percentile(all, 95))},
          {"p99", finite_or_null(percentile(all, 99))},
          {"max", finite_or_null(all.empty() ? INFINITY : all.back())},
          {"mean_of_received", r3(sum / static_cast<double>(got ? got : 1))},
          {"censored", t.started() < t.expected()}};
}

// W3 worker: start, prove it claims (one bench.ready job), print READY, then record latencies
// until all N started or the window (cap) closes.
json latency_worker(BenchEnv& env, const BenchArgs& a, queue::AuditLog* log) {
  auto registry = bench_registry(a.transactional);
  Tally& t = tally();
  t.reset(a.expected);
  WorkerThread worker(env.config(), *registry, a, log);
  queue::Dispatcher(env.config(), *registry).dispatch(env.app(), 0, "bench.ready", "{}");
  if (!t.wait([&] { return t.ready() || worker.finished(); }, now_ms() + 60'000)) {
    worker.check();
    throw deadline_exceeded("the bench worker did not run its start-up probe within 60 s");
  }
  print_line("READY");
  const double ready_at = now_ms();
  const bool ok =
      t.wait([&] { return t.started() >= a.expected || worker.finished(); }, ready_at + a.cap_ms);
  worker.check();
  return {{"role", "worker"},
          {"mode", "latency"},
          {"concurrency", a.concurrency.value_or(1)},
          {"expected", a.expected},
          {"received", t.started()},
          {"duplicates", t.duplicates()},
          {"timed_out", !ok},
          {"window_ms", r3(a.cap_ms)},
          {"latency_ms", latency_summary(t)},
          {"vmhwm_kb", vm_hwm_kb()}};
}

}  // namespace

void run_worker_role(BenchEnv& env, const BenchArgs& a) {
  std::unique_ptr<queue::AuditLog> log;
  if (a.audit_log)
    log = std::make_unique<queue::AuditLog>(env.config().storage_path + "/logs/worker.log",
                                            queue::default_worker_name());
  if (a.mode == "drain") return print_line(drain_worker(env, a, log.get()).dump());
  if (a.mode == "latency") return print_line(latency_worker(env, a, log.get()).dump());
  throw invalid_argument("unknown bench worker mode '" + a.mode + "'");
}

// --- the producer role (W3)
// -------------------------------------------------------------------------

// One untimed round trip, then job i at slot start + i·interval (at once when late), each call
// waited for; payload {"n":i,"t":clock()} taken just before the call.
void run_producer_role(BenchEnv& env, const BenchArgs& a) {
  auto registry = bench_registry(a.transactional);
  queue::Dispatcher dispatcher(env.config(), *registry);
  db::Connection& conn = env.app();
  conn.query_int("SELECT 1");
  const double start = now_ms() + 20;
  int64_t late = 0;
  double max_call = 0;
  for (int64_t i = 0; i < a.expected; ++i) {
    const double target = start + static_cast<double>(i) * a.interval_ms;
    double now = now_ms();
    if (target - now > 2) sleep_ms(target - now - 1.5);
    while ((now = now_ms()) < target) {
      // a short spin (at most ~2 ms) for a precise schedule
    }
    if (now - target > 1) ++late;
    const double t = now_ms();
    dispatcher.dispatch(conn, 0, "bench.latency", latency_payload(i, t));
    max_call = std::max(max_call, now_ms() - t);
  }
  print_line(json{{"role", "producer"},
                  {"sent", a.expected},
                  {"elapsed_ms", r3(now_ms() - start)},
                  {"late_starts_gt_1ms", late},
                  {"max_enqueue_call_ms", r3(max_call)}}
                 .dump());
}

// --- the enqueue role (profiling)
// --------------------------------------------------------------------

// Enqueues `--expected` bench.noop jobs as W1 does, without reset or worker, so that a worker
// (`--role=worker --mode=drain`) can be run alone under a profiler.
void run_enqueue_role(BenchEnv& env, const BenchArgs& a) {
  auto registry = bench_registry(a.transactional);
  queue::Dispatcher dispatcher(env.config(), *registry);
  for (int64_t i = 0; i < a.expected; i += a.enqueue_batch) {
    std::vector<std::string> batch;
    for (int64_t j = i; j < std::min(a.expected, i + a.enqueue_batch); ++j) {
      batch.push_back(noop_payload(j));
    }
    dispatcher.dispatch_many(env.app(), 0, "bench.noop", batch);
  }
  print_line(json{{"role", "enqueue"}, {"enqueued", a.expected}}.dump());
}

}  // namespace unity::bench
