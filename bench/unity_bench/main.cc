// `unity-bench`: the job-queue peers' workloads W1–W4 (../shared/bench/peers/RESULTS.md, "How to
// add a new contender"; its lib/workloads.js is the reference) against the database `unity` is
// configured for (.env in the working directory, then the environment), printed as that
// document's JSON object (peer "unity") on stdout.
//
// One binary plays three roles, as the peers' Node harnesses do: the driver (what people run), a
// worker process (`--role=worker`, hidden) freshly spawned from /proc/self/exe for every drain and
// latency run, and the W3 producer process (`--role=producer`, hidden). For profiling,
// `--role=enqueue --expected=N` enqueues W1's jobs and `--role=worker --mode=drain --expected=N
// --concurrency=C --cap-ms=MS` drains them, each alone (docs/PERFORMANCE.md).
//
// Errors: one line on stderr ("unity-bench: <message>", or {"error":{"code","message"}} with
// --json), exit code by error kind as `unity`'s (core/error.h), secrets masked.
#include <iostream>
#include <memory>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bench_env.h"
#include "core/allocator.h"
#include "core/error.h"
#include "driver.h"
#include "options.h"
#include "roles.h"

namespace {

using unity::bench::BenchArgs;
using unity::bench::BenchEnv;

constexpr std::string_view kName = "unity-bench";

void print_error(const BenchEnv& env, bool json, unity::ErrorCode code, std::string_view message) {
  const std::string text = env.redact(message);
  if (json) {
    const nlohmann::json error = {
        {"error", {{"code", std::string(unity::error_code_name(code))}, {"message", text}}}};
    std::cerr << error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  } else {
    std::cerr << kName << ": " << text << '\n';
  }
}

void add_options(CLI::App& app, BenchArgs& a, bool& json) {
  app.add_option("--workload", a.workload, "drain, enqueue, latency or all (default all)");
  app.add_option("--jobs", a.jobs, "Jobs of the named workload (W1 50000, W2 5000, W3 1000)");
  app.add_option("--concurrency", a.concurrency, "Worker concurrency (W1 16, W3 4)")
      ->check(CLI::Range(1, 1024));
  app.add_option("--batch", a.batch, "The worker's claim batch (default 0: its free slots)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--enqueue-batch", a.enqueue_batch,
                 "Jobs per bulk enqueue call in W1 (default 1000)")
      ->check(CLI::Range(1, 100000));
  app.add_option("--runs", a.runs, "Runs of W1 and W2; medians are reported (default 3)")
      ->check(CLI::Range(1, 100));
  app.add_option("--cap", a.cap_s, "W1 drain cap in seconds (default 300)")
      ->check(CLI::Range(1, 86400));
  app.add_option("--variant", a.variant,
                 "Variant name in the output (default: default or transactional)");
  app.add_flag("--transactional", a.transactional,
               "Run the bench jobs in their handler's transaction (Guarantee 3)");
  app.add_flag("--audit-log", a.audit_log, "Workers write the audit log, as queue:work does");
  app.add_option("--before-run", a.before_run,
                 "Shell command run before each timed run (e.g. a quiet gate)");
  app.add_flag("--force", a.force,
               "Run even if the queue table holds other jobs (they are deleted)");
  app.add_flag("--json", json, "Errors as JSON too (the result is always JSON)");
  // The roles of the processes the driver spawns (not for people).
  app.add_option("--role", a.role)->group("");
  app.add_option("--mode", a.mode)->group("");
  app.add_option("--expected", a.expected)->group("");
  app.add_option("--cap-ms", a.cap_ms)->group("");
  app.add_option("--interval-ms", a.interval_ms)->group("");
}

void run(BenchEnv& env, const BenchArgs& a) {
  if (a.role == "worker") return unity::bench::run_worker_role(env, a);
  if (a.role == "producer") return unity::bench::run_producer_role(env, a);
  if (a.role == "enqueue") return unity::bench::run_enqueue_role(env, a);
  if (a.role != "driver") throw unity::invalid_argument("unknown --role '" + a.role + "'");
  unity::bench::validate(a);
  std::cout << unity::bench::run_driver(env, a).dump() << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();  // as `unity` does: the drain measures the product
  CLI::App app{
      "Run the job-queue peers' workloads (../shared/bench/peers/RESULTS.md) on the database "
      "`unity` is configured for (.env, environment) and print one JSON object. W1 drain (--jobs, "
      "default 50,000, enqueued in batches of 1,000, then one fresh worker process with "
      "--concurrency, default 16), W2 single enqueue (5,000), W3 latency (1,000 jobs at 5 ms from "
      "a producer process, worker concurrency 4), W4 the W1 worker's peak RSS. --jobs and "
      "--concurrency apply to the workload named (with all: to W1). DELETES EVERY JOB in the "
      "queue table before each run: use a scratch database.",
      std::string(kName)};
  BenchArgs a;
  bool json = false;
  // Errors of a command line that does not parse are JSON too when it asked for JSON.
  for (int i = 1; i < argc; ++i) json = json || std::string_view(argv[i]) == "--json";
  add_options(app, a, json);
  BenchEnv env;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(env, json, unity::ErrorCode::kInvalidArgument,
                std::string(e.what()) + " (see `unity-bench --help`)");
    return 2;
  }
  try {
    run(env, a);
    return 0;
  } catch (const unity::Error& e) {
    print_error(env, json, e.code(), e.what());
    return unity::exit_code(e.code());
  } catch (const std::exception& e) {
    print_error(env, json, unity::ErrorCode::kInternal, std::string("internal error: ") + e.what());
    return 1;
  }
}
