#include "driver.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "bench_jobs.h"
#include "child.h"
#include "core/clock.h"
#include "core/error.h"
#include "measure.h"
#include "queue/dispatch.h"

namespace unity::bench {

namespace {

using nlohmann::json;

constexpr const char* kPeer = "unity";
constexpr const char* kVersion = "0.1.0";

class Driver {
 public:
  Driver(BenchEnv& env, BenchArgs args)
      : env_(env),
        a_(std::move(args)),
        registry_(bench_registry(a_.transactional)),
        dispatcher_(env.config(), *registry_),
        conn_(env.app()) {}

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
    const int64_t foreign = conn_.query_int("SELECT count(*) FROM " + env_.config().queue_table +
                                            " WHERE type NOT LIKE 'bench.%'");
    if (foreign > 0 && !a_.force) {
      throw failed_precondition(
          "the queue table holds " + std::to_string(foreign) +
          " job(s) that are not the benchmark's, and unity-bench deletes every job before each "
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
    db::Connection& owner = env_.owner();
    const std::string& table = env_.config().queue_table;
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
    if (rc != 0) std::cerr << "[unity-bench] --before-run exited with " << rc << "\n";
  }

  std::vector<std::string> role_args(const std::string& role, const std::string& mode,
                                     int64_t expected, int concurrency, double cap_ms) const {
    std::vector<std::string> v = {"--role=" + role, "--expected=" + std::to_string(expected)};
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

  BenchEnv& env_;
  BenchArgs a_;
  std::unique_ptr<queue::JobRegistry> registry_;
  queue::Dispatcher dispatcher_;
  db::Connection& conn_;  // the client's open connection (W1 enqueue, W2)
  std::string reset_method_;
};

}  // namespace

void validate(const BenchArgs& a) {
  static const std::vector<std::string> kWorkloads = {"drain", "enqueue", "latency", "all"};
  if (std::find(kWorkloads.begin(), kWorkloads.end(), a.workload) == kWorkloads.end()) {
    throw invalid_argument("--workload must be drain, enqueue, latency or all, got '" + a.workload +
                           "'");
  }
  if (a.jobs && (*a.jobs < 1 || *a.jobs > 10'000'000))
    throw invalid_argument("--jobs must be 1 to 10000000");
}

json run_driver(BenchEnv& env, const BenchArgs& a) { return Driver(env, a).run(); }

}  // namespace unity::bench
