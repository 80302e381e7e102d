// Chaos: three real worker processes drain transactional jobs (diag.write, one mark each) under a
// short lease while random ones are killed with SIGKILL and started again, as a supervisor would.
// Every effect must land exactly once (Guarantees 2 and 3): one diag_marks row per job, no job
// left, none failed. UNITY_CHAOS_KILLS sets the number of kills (default 10; the release check
// runs 100).
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>

#include "db/tenancy.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using namespace std::chrono_literals;
using testing::Driver;
using testing::eventually;
using testing::Process;
using testing::TestDatabase;

int kills_wanted() {
  const char* v = std::getenv("UNITY_CHAOS_KILLS");
  return v ? std::max(1, std::atoi(v)) : 10;
}

class ChaosTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    register_diag_jobs(registry_);
    tenant_ = db::create_tenant(*conn_, "Acme").id;
  }

  Process worker(int i) {
    auto env = db_->cli_env();
    env["DB_QUEUE_RETRY_AFTER"] = "1";  // a killed worker's jobs are rescued after 1 s
    return Process::start({testing::unity_binary(), "queue:work", "--sleep=0.1", "--backoff=0",
                           "--concurrency=2", "--name=w" + std::to_string(i)},
                          env, db_->dir(), db_->dir() + "/worker" + std::to_string(i) + ".out");
  }

  // `n` more jobs, each writing its own mark inside the transaction that completes it.
  void dispatch(int n) {
    std::vector<std::string> payloads;
    for (int i = 0; i < n; ++i) {
      payloads.push_back("{\"mark\":\"m" + std::to_string(dispatched_++) + "\",\"sleep_ms\":5}");
    }
    // Tries enough that kills alone never make a job fail for good.
    Dispatcher(db_->config(), registry_)
        .dispatch_many(*conn_, tenant_, "diag.write", payloads, {.tries = 1000});
  }

  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  // How many times worker `i` has got as far as claiming (its signal handlers are in place then).
  int started(int i) {
    std::ifstream in(db_->config().storage_path + "/logs/worker.log");
    const std::string name = "\"worker\":\"w" + std::to_string(i) + "\"";
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      n += line.find("\"event\":\"worker.start\"") != std::string::npos &&
           line.find(name) != std::string::npos;
    }
    return n;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  JobRegistry registry_;
  int64_t tenant_ = 0;
  int64_t dispatched_ = 0;
};

TEST_P(ChaosTest, RandomKillsOfWorkersLeaveEveryEffectExactlyOnce) {
  const int kills = kills_wanted();
  std::mt19937 rng(std::random_device{}());
  dispatch(60);
  std::vector<std::optional<Process>> workers(3);
  std::vector<int> starts(3, 1);
  for (int i = 0; i < 3; ++i) workers[i].emplace(worker(i));
  for (int k = 0; k < kills; ++k) {
    if (count("SELECT count(*) FROM jobs WHERE reserved_at IS NULL") < 30) dispatch(30);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 250)(rng)));
    const int victim = std::uniform_int_distribution<int>(0, 2)(rng);
    workers[victim]->signal(SIGKILL);
    ASSERT_TRUE(workers[victim]->wait(10s).has_value()) << "worker " << victim << " did not die";
    workers[victim].reset();
    // The killed one may have died before its log line was written: count from here.
    starts[victim] = started(victim) + 1;
    workers[victim].emplace(worker(victim));  // as its supervisor would
  }
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 60s))
      << count("SELECT count(*) FROM jobs") << " jobs left";
  // A worker killed last may still be starting: SIGTERM before its handlers would kill it.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(eventually([&] { return started(i) >= starts[i]; }, 30s)) << "worker " << i;
  }
  for (auto& w : workers) w->signal(SIGTERM);
  for (auto& w : workers) EXPECT_EQ(w->wait(20s), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), dispatched_);
  EXPECT_EQ(count("SELECT count(DISTINCT mark) FROM diag_marks"), dispatched_);
  // Some attempts were cut short (their marks rolled back with them): the kills did hit jobs.
  RecordProperty("jobs", static_cast<int>(dispatched_));
  RecordProperty("rerun_marks", static_cast<int>(count("SELECT count(*) FROM diag_marks "
                                                       "WHERE attempt > 1")));
}

INSTANTIATE_TEST_SUITE_P(Drivers, ChaosTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
