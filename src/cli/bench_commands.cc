// `queue:bench`: the peer workloads W1–W4 of bench/peers/RESULTS.md ("How to add a new
// contender"; bench/peers/lib/workloads.js is the reference) against the configured database,
// printed as that document's JSON object (peer "unity").
//
// One binary plays three roles, as the Node harnesses do: the driver (`queue:bench`), a worker
// process (`queue:bench --role=worker`, hidden) freshly spawned from /proc/self/exe for every
// drain and latency run, and the W3 producer process (`--role=producer`, hidden). Children print
// their figures as one JSON line on a pipe to the driver; everything else goes to stderr. For
// profiling, `--role=enqueue --expected=N` enqueues W1's jobs and `--role=worker --mode=drain
// --expected=N --concurrency=C --cap-ms=MS` drains them, each alone (docs/PERFORMANCE.md).
//
// The bench registers its own job types (next to the diag.* ones) in every role's registry:
//   bench.noop     counts handler starts and duplicates by payload n (W1)
//   bench.latency  as its first action records clock() - payload.t (W3)
//   bench.ready    the W3 worker's start-up probe: once it ran, the worker is claiming
// Jobs go to queue "bench" as system jobs (tenant 0). Reset before every run deletes EVERY row
// of the queue table, so the command refuses a queue holding other jobs unless --force.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <mutex>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/clock.h"
#include "core/error.h"
#include "queue/audit_log.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "queue/store.h"
#include "queue/worker.h"

extern char** environ;

namespace unity::cli {

namespace {

using nlohmann::json;

constexpr const char* kPeer = "unity";
constexpr const char* kVersion = "0.1.0";
constexpr const char* kBenchQueue = "bench";
constexpr int kMonitorPollMs = 20;

// --- time, rounding, statistics
// -------------------------------------------------------------------

// The workloads' clock: wall-clock ms since the epoch, sub-millisecond, comparable across
// processes (RESULTS.md "Common rules").
double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t wall_ms() { return static_cast<int64_t>(now_ms()); }
void sleep_ms(double ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
}

double r1(double x) { return std::round(x * 10) / 10; }
double r3(double x) { return std::round(x * 1000) / 1000; }
json finite_or_null(double x) { return std::isfinite(x) ? json(r3(x)) : json(nullptr); }

json median(std::vector<double> xs) {
  std::erase_if(xs, [](double x) { return !std::isfinite(x); });
  if (xs.empty()) return nullptr;
  std::sort(xs.begin(), xs.end());
  const size_t m = xs.size() / 2;
  return xs.size() % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

std::vector<double> field_of(const json& runs, const char* key) {
  std::vector<double> out;
  for (const auto& r : runs) {
    if (r.contains(key) && r[key].is_number()) out.push_back(r[key].get<double>());
  }
  return out;
}

// Nearest rank: the value at rank ceil(p/100 · n) of the sorted list.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::infinity();
  const auto rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(p / 100 * sorted.size())));
  return sorted[std::min(sorted.size(), rank) - 1];
}

// --- /proc
// ------------------------------------------------------------------------------------------

json vm_hwm_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return nullptr;
}

// Whole-machine CPU ticks: user nice system idle iowait irq softirq steal (noise indicators).
std::vector<int64_t> cpu_snap() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;
  std::vector<int64_t> out(8, 0);
  for (auto& v : out) stat >> v;
  return out;
}

json cpu_delta(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> d(8);
  int64_t total = 0;
  for (size_t i = 0; i < 8; ++i) total += d[i] = b[i] - a[i];
  if (total <= 0) total = 1;
  auto pct = [&](int64_t x) { return r1(100.0 * static_cast<double>(x) / total); };
  return {{"busy_pct", pct(total - d[3] - d[4] - d[7])},
          {"iowait_pct", pct(d[4])},
          {"steal_pct", pct(d[7])}};
}

double process_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
  return ms(u.ru_utime) + ms(u.ru_stime);
}

// --- payloads
// ---------------------------------------------------------------------------------------

std::string noop_payload(int64_t n) { return "{\"n\":" + std::to_string(n) + "}"; }

std::string latency_payload(int64_t n, double t) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, t);
  return "{\"n\":" + std::to_string(n) + ",\"t\":" + std::string(buf, end) + "}";
}

// A number field of the flat payloads above, without a JSON parser: the handlers stay no-ops.
double number_field(const std::string& payload, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  const size_t at = payload.find(needle);
  if (at == std::string::npos)
    throw invalid_argument("bench payload without \"" + std::string(key) + "\"");
  return std::strtod(payload.c_str() + at + needle.size(), nullptr);
}

// --- the bench job types
// ---------------------------------------------------------------------------

// What the handlers of this process saw. One per process (the worker role runs one workload).
class Tally {
 public:
  void reset(int64_t expected) {
    expected_ = expected;
    seen_ = std::vector<std::atomic<uint8_t>>(static_cast<size_t>(expected));
    latency_ms_.assign(static_cast<size_t>(expected), std::numeric_limits<double>::infinity());
  }
  int64_t expected() const { return expected_; }
  int64_t started() const { return started_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  const std::vector<double>& latency_ms() const { return latency_ms_; }

  // A handler started for payload number n; false when n was seen before (a duplicate).
  bool start(int64_t n, double latency = 0) {
    if (n < 0 || n >= expected_) throw invalid_argument("bench job n out of range");
    if (seen_[static_cast<size_t>(n)].exchange(1)) {
      ++duplicates_;
      return false;
    }
    latency_ms_[static_cast<size_t>(n)] = latency;
    if (++started_ == expected_) wake();
    return true;
  }
  void mark_ready() {
    ready_ = true;
    wake();
  }
  void wake() {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  // Waits until `done()` or the wall clock passes `deadline_ms`; returns done().
  bool wait(const std::function<bool()>& done, double deadline_ms) {
    std::unique_lock lock(mu_);
    while (!done() && now_ms() < deadline_ms) {
      cv_.wait_for(lock, std::chrono::milliseconds(50));
    }
    return done();
  }
  bool ready() const { return ready_.load(); }

 private:
  int64_t expected_ = 0;
  std::vector<std::atomic<uint8_t>> seen_;  // by n
  std::vector<double> latency_ms_;          // by n; each slot written once, by its first start
  std::atomic<int64_t> started_{0};
  std::atomic<int64_t> duplicates_{0};
  std::atomic<bool> ready_{false};
  std::mutex mu_;  // guards nothing but the wait on cv_
  std::condition_variable cv_;
};

Tally& tally() {
  static Tally t;
  return t;
}

class NoopJob : public queue::Job {
 public:
  void handle(queue::JobContext& ctx) override {
    tally().start(static_cast<int64_t>(number_field(ctx.payload(), "n")));
  }
};

class LatencyJob : public queue::Job {
 public:
  void handle(queue::JobContext& ctx) override {
    const double t = now_ms();  // the handler's first action
    const std::string& p = ctx.payload();
    tally().start(static_cast<int64_t>(number_field(p, "n")), t - number_field(p, "t"));
  }
};

class ReadyJob : public queue::Job {
 public:
  void handle(queue::JobContext&) override { tally().mark_ready(); }
};

// The diag.* types and the bench types. `transactional` picks Guarantee 3 for the bench types:
// off by default (acknowledged in batches), on for --transactional.
std::unique_ptr<queue::JobRegistry> bench_registry(bool transactional) {
  auto registry = std::make_unique<queue::JobRegistry>();
  queue::register_diag_jobs(*registry);
  queue::JobOptions o;
  o.queue = kBenchQueue;
  o.transactional = transactional;
  registry->add<NoopJob>("bench.noop", o);
  registry->add<LatencyJob>("bench.latency", o);
  registry->add<ReadyJob>("bench.ready", o);
  return registry;
}

// --- options shared by the roles
// ------------------------------------------------------------------

struct BenchArgs {
  std::string workload = "all";
  std::optional<int64_t> jobs;
  std::optional<int> concurrency;
  int batch = 0;  // the worker's claim batch (WorkerOptions::batch); 0: free slots
  int enqueue_batch = 1000;
  int runs = 3;
  int cap_s = 300;
  std::string variant;
  std::string before_run;  // shell command run (untimed) before each timed run, e.g. a quiet gate
  bool transactional = false;
  bool audit_log = false;
  bool force = false;
  // Hidden: the role of a spawned process and its settings.
  std::string role = "driver";
  std::string mode;
  int64_t expected = 0;
  double cap_ms = 0;
  double interval_ms = 5;
};

bool is_tty() { return isatty(STDERR_FILENO) == 1; }

void progress(const std::string& text) {
  if (is_tty()) std::cerr << "[queue:bench] " << text << std::endl;
}

std::string thousands(double v) {
  const int64_t n = std::llround(v);
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// --- the worker role
// --------------------------------------------------------------------------------

// A queue::Worker running on its own thread; a failure of run() ends every wait on the tally.
class WorkerThread {
 public:
  WorkerThread(const Config& config, const queue::JobRegistry& registry,
               queue::WorkerOptions options, queue::AuditLog* log)
      : worker_(db::connection_factory(config), config, registry, std::move(options), log),
        thread_([this] { run(); }) {}
  ~WorkerThread() { stop(); }

  void stop() {
    worker_.request_stop();
    if (thread_.joinable()) thread_.join();
  }
  bool finished() const { return finished_.load(); }
  // Throws the worker's failure, if it failed.
  void check() {
    std::lock_guard lock(mu_);
    if (!error_.empty()) throw unavailable("bench worker failed: " + error_);
  }
  queue::WorkerStats stats() const { return worker_.stats(); }

 private:
  void run() {
    try {
      worker_.run();
    } catch (const std::exception& e) {
      std::lock_guard lock(mu_);
      error_ = e.what();
    }
    finished_ = true;
    tally().wake();
  }

  queue::Worker worker_;
  std::mutex mu_;  // guards error_
  std::string error_;
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

queue::WorkerOptions worker_options(const BenchArgs& a) {
  queue::WorkerOptions o;
  o.queues = {kBenchQueue};
  o.concurrency = a.concurrency.value_or(1);
  o.batch = a.batch;
  return o;
}

void print_line(const std::string& line) {
  std::cout << line << std::endl;  // flushed: the driver waits for it
}

// W1 step 2: t0 just before the worker starts; count handler starts; once all N started, poll the
// store every 20 ms until no job is unfinished (t1).
json drain_worker(Context& ctx, const BenchArgs& a, queue::AuditLog* log) {
  auto registry = bench_registry(a.transactional);
  queue::JobStore monitor(ctx.app(), ctx.config().queue_table, system_clock());
  Tally& t = tally();
  t.reset(a.expected);
  const double cpu0 = process_cpu_ms();
  const double t0 = now_ms();
  WorkerThread worker(ctx.config(), *registry, worker_options(a), log);
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
json latency_worker(Context& ctx, const BenchArgs& a, queue::AuditLog* log) {
  auto registry = bench_registry(a.transactional);
  Tally& t = tally();
  t.reset(a.expected);
  WorkerThread worker(ctx.config(), *registry, worker_options(a), log);
  queue::Dispatcher(ctx.config(), *registry).dispatch(ctx.app(), 0, "bench.ready", "{}");
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

void run_worker_role(Context& ctx, const BenchArgs& a) {
  std::unique_ptr<queue::AuditLog> log;
  if (a.audit_log)
    log = std::make_unique<queue::AuditLog>(ctx.config().storage_path + "/logs/worker.log",
                                            queue::default_worker_name());
  if (a.mode == "drain") return print_line(drain_worker(ctx, a, log.get()).dump());
  if (a.mode == "latency") return print_line(latency_worker(ctx, a, log.get()).dump());
  throw invalid_argument("unknown bench worker mode '" + a.mode + "'");
}

// --- the producer role (W3)
// -------------------------------------------------------------------------

// One untimed round trip, then job i at slot start + i·interval (at once when late), each call
// waited for; payload {"n":i,"t":clock()} taken just before the call.
void run_producer_role(Context& ctx, const BenchArgs& a) {
  auto registry = bench_registry(a.transactional);
  queue::Dispatcher dispatcher(ctx.config(), *registry);
  db::Connection& conn = ctx.app();
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
void run_enqueue_role(Context& ctx, const BenchArgs& a) {
  auto registry = bench_registry(a.transactional);
  queue::Dispatcher dispatcher(ctx.config(), *registry);
  for (int64_t i = 0; i < a.expected; i += a.enqueue_batch) {
    std::vector<std::string> batch;
    for (int64_t j = i; j < std::min(a.expected, i + a.enqueue_batch); ++j) {
      batch.push_back(noop_payload(j));
    }
    dispatcher.dispatch_many(ctx.app(), 0, "bench.noop", batch);
  }
  print_line(json{{"role", "enqueue"}, {"enqueued", a.expected}}.dump());
}

// --- child processes
// ----------------------------------------------------------------------------------

// A role process of this binary: stdout on a pipe to us, stderr shared, stdin /dev/null.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw internal_error("pipe2 failed");
    read_fd_ = fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("unity"));
    for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    const int rc = posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    if (rc != 0) {
      close(read_fd_);
      throw internal_error("cannot start a bench process: " + std::string(strerror(rc)));
    }
  }
  ~Child() {
    if (!status_) {
      kill(pid_, SIGKILL);  // this child only, by its pid
      waitpid(pid_, nullptr, 0);
    }
    close(read_fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // The first line printed so far or within `timeout_ms` that `match` accepts.
  std::string wait_line(const std::function<bool(const std::string&)>& match, double timeout_ms,
                        const std::string& what) {
    const double deadline = now_ms() + timeout_ms;
    for (;;) {
      for (auto it = lines_.begin(); it != lines_.end(); ++it) {
        if (!match(*it)) continue;
        std::string line = std::move(*it);
        lines_.erase(it);
        return line;
      }
      if (eof_) {
        const int code = wait_exit(5000);
        throw internal_error(what + " exited (status " + std::to_string(code) +
                             ") without the expected output (its errors are above)");
      }
      const double left = deadline - now_ms();
      if (left <= 0) throw deadline_exceeded(what + ": timed out waiting for its output");
      read_some(static_cast<int>(std::min(left, 1000.0)));
    }
  }

  // Waits for the exit; SIGKILLs the child after `timeout_ms`. Returns the exit code (128+signal).
  int wait_exit(double timeout_ms) {
    const double deadline = now_ms() + timeout_ms;
    while (!status_) {
      int st = 0;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      } else if (now_ms() >= deadline) {
        std::cerr << "[queue:bench] process " << pid_ << " did not exit; sending SIGKILL\n";
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
        status_ = 128 + SIGKILL;
      } else {
        sleep_ms(20);
      }
    }
    return *status_;
  }

 private:
  void read_some(int timeout_ms) {
    pollfd p{read_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return;
    char buf[4096];
    const ssize_t n = read(read_fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return;
    }
    partial_.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back(partial_.substr(0, nl));
      partial_.erase(0, nl + 1);
    }
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::optional<int> status_;
};

bool is_json_line(const std::string& l) { return !l.empty() && l.front() == '{'; }

// --- the driver
// -------------------------------------------------------------------------------------

class Driver {
 public:
  Driver(Context& ctx, BenchArgs args)
      : ctx_(ctx),
        a_(std::move(args)),
        registry_(bench_registry(a_.transactional)),
        dispatcher_(ctx.config(), *registry_),
        conn_(ctx.app()) {}

  json run() {
    refuse_foreign_jobs();
    json out = {{"peer", kPeer},
                {"version", kVersion},
                {"variant", variant()},
                {"settings", settings()},
                {"database", conn_.describe()},
                {"started_at", format_iso8601(system_clock().now())}};
    const bool all = a_.workload == "all";
    if (all || a_.workload == "drain") {
      out["w1"] = run_w1();
      out["w4"] = {{"worker_vmhwm_kb_median", out["w1"]["worker_vmhwm_kb_median"]},
                   {"worker_vmhwm_kb_max", out["w1"]["worker_vmhwm_kb_max"]}};
    }
    if (all || a_.workload == "enqueue") out["w2"] = run_w2();
    if (all || a_.workload == "latency") out["w3"] = run_w3();
    out["finished_at"] = format_iso8601(system_clock().now());
    out["reset"] = reset_method_;
    return out;
  }

 private:
  // --jobs and --concurrency apply to the workload named; with all, to W1.
  int64_t jobs_for(const std::string& workload, int64_t standard) const {
    const bool named = a_.workload == workload || (a_.workload == "all" && workload == "drain");
    return named && a_.jobs ? *a_.jobs : standard;
  }
  int concurrency_for(const std::string& workload, int standard) const {
    const bool named = a_.workload == workload || (a_.workload == "all" && workload == "drain");
    return named && a_.concurrency ? *a_.concurrency : standard;
  }
  std::string variant() const {
    if (!a_.variant.empty()) return a_.variant;
    return a_.transactional ? "transactional" : "default";
  }

  void refuse_foreign_jobs() {
    const int64_t foreign = conn_.query_int("SELECT count(*) FROM " + ctx_.config().queue_table +
                                            " WHERE type NOT LIKE 'bench.%'");
    if (foreign > 0 && !a_.force) {
      throw failed_precondition(
          "the queue table holds " + std::to_string(foreign) +
          " job(s) that are not the benchmark's, and queue:bench deletes every job before each "
          "run: use a scratch database, or pass --force");
    }
  }

  std::string settings() {
    std::string storage;
    if (conn_.dialect() == db::Dialect::kPostgres) {
      auto r = conn_.query_one(
          "SELECT current_setting('server_version'), current_setting('fsync'),"
          " current_setting('synchronous_commit')");
      storage = "PostgreSQL " + r->get<std::string>(0) + ", fsync=" + r->get<std::string>(1) +
                ", synchronous_commit=" + r->get<std::string>(2) +
                " (an acknowledged enqueue is fsynced: one WAL flush per commit); wake-up: "
                "LISTEN/NOTIFY, idle poll every 3 s";
    } else {
      auto r = conn_.query_one("SELECT sqlite_version()");
      const int64_t sync = conn_.query_int("PRAGMA synchronous");
      storage = "SQLite " + r->get<std::string>(0) + ", WAL, synchronous=" +
                (sync == 1   ? "NORMAL"
                 : sync == 2 ? "FULL"
                             : std::to_string(sync)) +
                " (an acknowledged enqueue is committed to the WAL: it survives a process crash; "
                "fsync at checkpoint, so a power loss may lose the last commits); wake-up: "
                "PRAGMA data_version polled every 0.5 ms while idle";
    }
    std::string worker =
        "queue::Worker, claim batch " +
        (a_.batch > 0 ? std::to_string(a_.batch) : std::string("= free slots")) +
        (a_.transactional ? ", transactional jobs (Guarantee 3: each job deleted in its "
                            "handler's transaction, one commit per job)"
                          : ", non-transactional jobs (acknowledged in batches by the "
                            "completer thread)") +
        (a_.audit_log ? ", audit log on" : ", no audit log");
    return storage +
           "; enqueue: Dispatcher::dispatch_many (bulk, one transaction per call) / "
           "Dispatcher::dispatch (single, one transaction each); " +
           worker + "; system jobs (tenant 0) on queue 'bench'";
  }

  // Untimed: empties the queue table. PostgreSQL: TRUNCATE + CHECKPOINT where the owner may,
  // else DELETE + VACUUM. SQLite: DELETE + a WAL checkpoint (the file's CHECKPOINT).
  void reset() {
    db::Connection& owner = ctx_.owner();
    const std::string& table = ctx_.config().queue_table;
    if (owner.dialect() == db::Dialect::kSqlite) {
      owner.execute_script("DELETE FROM " + table + "; PRAGMA wal_checkpoint(TRUNCATE);");
      reset_method_ = "DELETE + wal_checkpoint(TRUNCATE)";
      return;
    }
    try {
      owner.execute_script("TRUNCATE " + table);
      owner.execute_script("CHECKPOINT");
      reset_method_ = "TRUNCATE + CHECKPOINT";
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kPermissionDenied) throw;
      owner.execute_script("DELETE FROM " + table);
      owner.execute_script("VACUUM " + table);
      reset_method_ = "DELETE + VACUUM";
    }
  }

  void before_run() {
    if (a_.before_run.empty()) return;
    // Its stdout goes to our stderr: our stdout carries only the result.
    const int rc = std::system(("(" + a_.before_run + ") 1>&2").c_str());
    if (rc != 0) std::cerr << "[queue:bench] --before-run exited with " << rc << "\n";
  }

  std::vector<std::string> role_args(const std::string& role, const std::string& mode,
                                     int64_t expected, int concurrency, double cap_ms) const {
    std::vector<std::string> v = {"queue:bench", "--role=" + role,
                                  "--expected=" + std::to_string(expected)};
    if (!mode.empty()) v.push_back("--mode=" + mode);
    v.push_back("--concurrency=" + std::to_string(concurrency));
    v.push_back("--batch=" + std::to_string(a_.batch));
    v.push_back("--cap-ms=" + std::to_string(static_cast<int64_t>(cap_ms)));
    if (a_.transactional) v.push_back("--transactional");
    if (a_.audit_log) v.push_back("--audit-log");
    return v;
  }

  json w1_run(int r, int64_t n, int concurrency) {
    reset();
    before_run();
    progress("W1 run " + std::to_string(r) + "/" + std::to_string(a_.runs) + ": enqueue " +
             thousands(static_cast<double>(n)) + " jobs in batches of " +
             std::to_string(a_.enqueue_batch));
    const auto c0 = cpu_snap();
    const int64_t wall0 = wall_ms();
    const double t0 = now_ms();
    for (int64_t i = 0; i < n; i += a_.enqueue_batch) {
      std::vector<std::string> batch;
      for (int64_t j = i; j < std::min(n, i + a_.enqueue_batch); ++j)
        batch.push_back(noop_payload(j));
      dispatcher_.dispatch_many(conn_, 0, "bench.noop", batch);
    }
    const double enqueue_ms = now_ms() - t0;
    const auto c1 = cpu_snap();
    const int64_t wall1 = wall_ms();
    progress("W1 run " + std::to_string(r) + ": drain with one worker process, concurrency " +
             std::to_string(concurrency));
    Child worker(role_args("worker", "drain", n, concurrency, a_.cap_s * 1000.0));
    const json res =
        json::parse(worker.wait_line(is_json_line, (a_.cap_s + 120) * 1000.0, "the drain worker"));
    const auto c2 = cpu_snap();
    const int64_t wall2 = wall_ms();
    worker.wait_exit(20000);
    json run = {{"enqueue_ms", r3(enqueue_ms)},
                {"enqueue_jobs_per_s", r1(n / (enqueue_ms / 1000))},
                {"drain_ms", res["elapsed_ms"]},
                {"drain_completed", res["completed"]},
                {"drain_capped", res["capped"]},
                {"drain_jobs_per_s", res["drain_jobs_per_s"]},
                {"duplicates", res["duplicates"]},
                {"worker_vmhwm_kb", res["vmhwm_kb"]},
                {"worker_cpu_ms", res["worker_cpu_ms"]},
                {"start_call_ms", res["start_call_ms"]},
                {"enqueue_cpu", cpu_delta(c0, c1)},
                {"drain_cpu", cpu_delta(c1, c2)},
                {"t_enqueue_start", wall0},
                {"t_drain_start", wall1},
                {"t_drain_end", wall2}};
    progress("W1 run " + std::to_string(r) + ": enqueue " +
             thousands(run["enqueue_jobs_per_s"].get<double>()) + " jobs/s, drain " +
             thousands(res["drain_jobs_per_s"].get<double>()) + " jobs/s, " +
             res["duplicates"].dump() + " duplicates, worker peak RSS " + res["vmhwm_kb"].dump() +
             " kB");
    return run;
  }

  json run_w1() {
    const int64_t n = jobs_for("drain", 50'000);
    const int concurrency = concurrency_for("drain", 16);
    json runs = json::array();
    for (int r = 1; r <= a_.runs; ++r) runs.push_back(w1_run(r, n, concurrency));
    reset();
    bool capped = false;
    int64_t hwm_max = 0;
    for (const auto& r : runs) {
      capped = capped || r["drain_capped"].get<bool>();
      if (r["worker_vmhwm_kb"].is_number())
        hwm_max = std::max(hwm_max, r["worker_vmhwm_kb"].get<int64_t>());
    }
    return {{"jobs", n},
            {"batch", a_.enqueue_batch},
            {"concurrency", concurrency},
            {"runs", runs},
            {"enqueue_jobs_per_s", median(field_of(runs, "enqueue_jobs_per_s"))},
            {"drain_jobs_per_s", median(field_of(runs, "drain_jobs_per_s"))},
            {"drain_capped", capped},
            {"worker_vmhwm_kb_median", median(field_of(runs, "worker_vmhwm_kb"))},
            {"worker_vmhwm_kb_max", hwm_max}};
  }

  json run_w2() {
    const int64_t n = jobs_for("enqueue", 5'000);
    json runs = json::array();
    for (int r = 1; r <= a_.runs; ++r) {
      reset();
      before_run();
      progress("W2 run " + std::to_string(r) + "/" + std::to_string(a_.runs) + ": " +
               thousands(static_cast<double>(n)) + " single enqueues");
      const auto c0 = cpu_snap();
      const int64_t wall0 = wall_ms();
      const double t0 = now_ms();
      for (int64_t i = 0; i < n; ++i) dispatcher_.dispatch(conn_, 0, "bench.noop", noop_payload(i));
      const double ms = now_ms() - t0;
      runs.push_back({{"ms", r3(ms)},
                      {"jobs_per_s", r1(n / (ms / 1000))},
                      {"cpu", cpu_delta(c0, cpu_snap())},
                      {"t_start", wall0},
                      {"t_end", wall_ms()}});
      progress("W2 run " + std::to_string(r) + ": " +
               thousands(runs.back()["jobs_per_s"].get<double>()) + " jobs/s");
    }
    reset();
    return {{"jobs", n}, {"runs", runs}, {"jobs_per_s", median(field_of(runs, "jobs_per_s"))}};
  }

  json run_w3() {
    const int64_t n = jobs_for("latency", 1'000);
    const int concurrency = concurrency_for("latency", 4);
    const int interval = 5;
    const double idle = 1000, grace_s = 10;
    const double window = (std::ceil((idle + n * interval) / 1000) + grace_s) * 1000;
    reset();
    before_run();
    progress("W3: worker (concurrency " + std::to_string(concurrency) + "), 1 s idle, then " +
             thousands(static_cast<double>(n)) + " jobs at 5 ms slots from a producer process");
    Child worker(role_args("worker", "latency", n, concurrency, window));
    worker.wait_line([](const std::string& l) { return l == "READY"; }, 60'000,
                     "the latency worker");
    sleep_ms(idle);
    const auto c0 = cpu_snap();
    const int64_t wall0 = wall_ms();
    auto args = role_args("producer", "", n, 1, 0);
    args.push_back("--interval-ms=" + std::to_string(interval));
    Child producer(args);
    const json pres =
        json::parse(producer.wait_line(is_json_line, n * interval + 120'000, "the producer"));
    producer.wait_exit(20000);
    const json wres = json::parse(worker.wait_line(is_json_line, 120'000, "the latency worker"));
    const auto c1 = cpu_snap();
    worker.wait_exit(20000);
    reset();
    json out = {{"jobs", n},
                {"interval_ms", interval},
                {"concurrency", concurrency},
                {"received", wres["received"]},
                {"duplicates", wres["duplicates"]},
                {"timed_out", wres["timed_out"]},
                {"window_ms", wres["window_ms"]},
                {"latency_ms", wres["latency_ms"]},
                {"producer", pres},
                {"worker_vmhwm_kb", wres["vmhwm_kb"]},
                {"cpu", cpu_delta(c0, c1)},
                {"t_start", wall0},
                {"t_end", wall_ms()}};
    progress("W3: p50 " + out["latency_ms"]["p50"].dump() + " ms, p95 " +
             out["latency_ms"]["p95"].dump() + " ms, p99 " + out["latency_ms"]["p99"].dump() +
             " ms, max " + out["latency_ms"]["max"].dump() + " ms");
    return out;
  }

  Context& ctx_;
  BenchArgs a_;
  std::unique_ptr<queue::JobRegistry> registry_;
  queue::Dispatcher dispatcher_;
  db::Connection& conn_;  // the client's open connection (W1 enqueue, W2)
  std::string reset_method_;
};

void validate(const BenchArgs& a) {
  static const std::vector<std::string> kWorkloads = {"drain", "enqueue", "latency", "all"};
  if (std::find(kWorkloads.begin(), kWorkloads.end(), a.workload) == kWorkloads.end()) {
    throw invalid_argument("--workload must be drain, enqueue, latency or all, got '" + a.workload +
                           "'");
  }
  if (a.jobs && (*a.jobs < 1 || *a.jobs > 10'000'000))
    throw invalid_argument("--jobs must be 1 to 10000000");
}

void define_bench(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BenchArgs>();
  app.description(
      "Run the job-queue peers' workloads (bench/peers/RESULTS.md) on the configured database and "
      "print one JSON object. W1 drain (--jobs, default 50,000, enqueued in batches of 1,000, "
      "then one fresh worker process with --concurrency, default 16), W2 single enqueue (5,000), "
      "W3 latency (1,000 jobs at 5 ms from a producer process, worker concurrency 4), W4 the W1 "
      "worker's peak RSS. --jobs and --concurrency apply to the workload named (with all: to W1). "
      "DELETES EVERY JOB in the queue table before each run: use a scratch database.");
  app.add_option("--workload", a->workload, "drain, enqueue, latency or all (default all)");
  app.add_option("--jobs", a->jobs, "Jobs of the named workload (W1 50000, W2 5000, W3 1000)");
  app.add_option("--concurrency", a->concurrency, "Worker concurrency (W1 16, W3 4)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--batch", a->batch, "The worker's claim batch (default 0: its free slots)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--enqueue-batch", a->enqueue_batch,
                 "Jobs per bulk enqueue call in W1 (default 1000)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--runs", a->runs, "Runs of W1 and W2; medians are reported (default 3)")
      ->check(CLI::Range(1, 100));
  app.add_option("--cap", a->cap_s, "W1 drain cap in seconds (default 300)")
      ->check(CLI::Range(1, 86400));
  app.add_option("--variant", a->variant,
                 "Variant name in the output (default: default or transactional)");
  app.add_flag("--transactional", a->transactional,
               "Run the bench jobs in their handler's transaction (Guarantee 3)");
  app.add_flag("--audit-log", a->audit_log, "Workers write the audit log, as queue:work does");
  app.add_option("--before-run", a->before_run,
                 "Shell command run before each timed run (e.g. a quiet gate)");
  app.add_flag("--force", a->force,
               "Run even if the queue table holds other jobs (they are deleted)");
  // The roles of the processes queue:bench spawns (not for people).
  app.add_option("--role", a->role)->group("");
  app.add_option("--mode", a->mode)->group("");
  app.add_option("--expected", a->expected)->group("");
  app.add_option("--cap-ms", a->cap_ms)->group("");
  app.add_option("--interval-ms", a->interval_ms)->group("");
  app.callback([&ctx, a] {
    if (a->role == "worker") return run_worker_role(ctx, *a);
    if (a->role == "producer") return run_producer_role(ctx, *a);
    if (a->role == "enqueue") return run_enqueue_role(ctx, *a);
    if (a->role != "driver") throw invalid_argument("unknown --role '" + a->role + "'");
    validate(*a);
    json out = Driver(ctx, *a).run();
    std::cout << out.dump() << std::endl;
  });
}

}  // namespace

void add_bench_commands(Commands& commands, Context& ctx) {
  commands.push_back({"queue:bench", "Measure the queue with the peers' workloads (W1-W4), as JSON",
                      [&ctx](CLI::App& app) { define_bench(app, ctx); }});
}

}  // namespace unity::cli
