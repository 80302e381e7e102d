// Micro-benchmarks of the queue's hot statements in one process (Google Benchmark), for profiling
// what `unity-bench` measures end to end: bulk and single dispatch, and one worker round
// (claim a batch, acknowledge it). SQLite on a fresh temp file by default; with
// UNITY_BENCH_PG_URL=postgresql://… the same on PostgreSQL (the database is migrated and its
// queue table emptied: use a scratch database).
//
//   build/bench-release/bench/unity_queue_store_bench --benchmark_min_time=2
//   valgrind --tool=callgrind build/bench-release/bench/unity_queue_store_bench
//       --benchmark_filter=ClaimComplete --benchmark_min_time=0.5   (one line)
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "core/config.h"
#include "db/connection.h"
#include "db/migrate.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "queue/store.h"

namespace {

using unity::Config;
namespace db = unity::db;
namespace queue = unity::queue;

// One migrated database per process, emptied by each benchmark before it starts.
struct Fixture {
  Config config;
  std::unique_ptr<db::Connection> conn;
  queue::JobRegistry registry;
  std::filesystem::path dir;  // the temp folder of the SQLite file, removed at exit

  Fixture() {
    const char* pg = std::getenv("UNITY_BENCH_PG_URL");
    if (pg && *pg) {
      config = Config::from_vars({{"DB_CONNECTION", "pgsql"}, {"DB_URL", pg}});
    } else {
      dir = std::filesystem::temp_directory_path() /
            ("unity-store-bench-" + std::to_string(getpid()));
      std::filesystem::create_directories(dir);
      config = Config::from_vars(
          {{"DB_CONNECTION", "sqlite"}, {"DB_DATABASE", (dir / "bench.sqlite").string()}});
    }
    auto owner = db::open_connection(config, db::Role::kOwner);
    db::Migrator(*owner, config.db_app_role, config.queue_table).migrate();
    conn = db::open_connection(config, db::Role::kApp);
    queue::register_diag_jobs(registry);
  }

  ~Fixture() {
    conn.reset();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }

  void empty_queue() { conn->execute("DELETE FROM " + config.queue_table); }

  void fill(int64_t n) {
    queue::Dispatcher d(config, registry);
    for (int64_t i = 0; i < n; i += 1000) {
      std::vector<std::string> payloads;
      for (int64_t j = i; j < std::min(n, i + 1000); ++j)
        payloads.push_back("{\"n\":" + std::to_string(j) + "}");
      d.dispatch_many(*conn, 0, "diag.noop", payloads);
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

// W1's enqueue: one dispatch_many call of range(0) jobs (one transaction).
void BM_DispatchMany(benchmark::State& state) {
  Fixture& f = fixture();
  f.empty_queue();
  queue::Dispatcher d(f.config, f.registry);
  std::vector<std::string> payloads;
  for (int64_t i = 0; i < state.range(0); ++i)
    payloads.push_back("{\"n\":" + std::to_string(i) + "}");
  for (auto _ : state) d.dispatch_many(*f.conn, 0, "diag.noop", payloads);
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DispatchMany)->Arg(1000)->Unit(benchmark::kMillisecond);

// W2: one dispatch call (one transaction, one commit).
void BM_DispatchOne(benchmark::State& state) {
  Fixture& f = fixture();
  f.empty_queue();
  queue::Dispatcher d(f.config, f.registry);
  int64_t n = 0;
  for (auto _ : state) d.dispatch(*f.conn, 0, "diag.noop", "{\"n\":" + std::to_string(n++) + "}");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DispatchOne)->Unit(benchmark::kMicrosecond);

// One fetcher round of the worker for range(0) free slots: the tenant scan, the claim, then the
// batched acknowledgement the completer writes (non-transactional jobs).
void BM_ClaimComplete(benchmark::State& state) {
  Fixture& f = fixture();
  f.empty_queue();
  queue::JobStore store(*f.conn, f.config.queue_table, unity::system_clock());
  const int batch = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    if (store.job_count_unfinished() < batch) f.fill(20'000);
    state.ResumeTiming();
    auto tenants = store.job_tenants_waiting("default");
    auto jobs = store.job_claim(
        {"default", tenants.at(0), batch, queue::new_lease_token(), "bench", 90'000'000});
    std::vector<queue::Lease> acks;
    for (const auto& j : jobs) acks.push_back(j.lease());
    store.job_complete_many(acks);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(BM_ClaimComplete)->Arg(1)->Arg(16)->Arg(100)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
