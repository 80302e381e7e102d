// The worker registry (queue/workers.h, `queue:workers`) on both drivers: the store's expiry with
// a manual clock, and real `unity queue:work` processes that appear, beat, exit or are killed.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>

#include "db/tenancy.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "queue/workers.h"
#include "support/cli.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using namespace std::chrono_literals;
using testing::Driver;
using testing::eventually;
using testing::Process;
using testing::TestDatabase;

class WorkerRegistryTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
  }

  // A worker beating every 200 ms: dead 600 ms after its last beat.
  Process worker(const std::string& name) {
    auto env = db_->cli_env();
    env["QUEUE_WORKER_HEARTBEAT_MS"] = "200";
    return Process::start({testing::unity_binary(), "queue:work", "--sleep=0.1", "--name=" + name},
                          env, db_->dir(), db_->dir() + "/worker.out");
  }

  std::optional<WorkerInfo> alive(const std::string& name) {
    for (auto& w : workers_alive(*conn_, system_clock())) {
      if (w.name == name) return w;
    }
    return std::nullopt;
  }

  nlohmann::json cli_workers() {
    auto run = testing::run_cli(db_->dir(), db_->env_for_cli(), "queue:workers --json");
    EXPECT_EQ(run.exit, 0) << run.err;
    return nlohmann::json::parse(run.out);
  }

  int64_t rows() { return db_->owner()->query_int("SELECT count(*) FROM queue_workers"); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
};

TEST_P(WorkerRegistryTest, AWorkerIsAliveUntilThreeHeartbeatPeriodsPassWithoutABeat) {
  ManualClock clock(TimePoint(std::chrono::seconds(1'800'000'000)));
  WorkerInfo w{.name = "w1",
               .host = "h",
               .pid = 42,
               .queues = {"high", "default"},
               .concurrency = 4,
               .heartbeat_ms = 1000};
  worker_register(*conn_, clock, w);
  ASSERT_EQ(workers_alive(*conn_, clock).size(), 1u);
  clock.advance(2900ms);
  worker_beat(*conn_, clock, w, 7);
  clock.advance(2900ms);  // 2.9 s after the beat: still alive
  auto listed = workers_alive(*conn_, clock);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].jobs_done, 7);
  EXPECT_EQ(listed[0].queues, (std::vector<std::string>{"high", "default"}));
  EXPECT_EQ(listed[0].concurrency, 4);
  EXPECT_EQ(listed[0].pid, 42);
  clock.advance(200ms);  // 3.1 s: dead, but its row is still there until pruned
  EXPECT_TRUE(workers_alive(*conn_, clock).empty());
  EXPECT_EQ(rows(), 1);
  WorkerInfo other{.name = "w2", .host = "h", .pid = 43, .queues = {"default"}};
  worker_register(*conn_, clock, other);  // prunes the dead one
  EXPECT_EQ(rows(), 1);
  EXPECT_EQ(workers_alive(*conn_, clock).at(0).name, "w2");
  worker_unregister(*conn_, other.id);
  EXPECT_EQ(rows(), 0);
}

TEST_P(WorkerRegistryTest, AStalledWorkersBeatRecordsItAgainAfterItWasPruned) {
  ManualClock clock(TimePoint(std::chrono::seconds(1'800'000'000)));
  WorkerInfo w{.name = "slow", .host = "h", .pid = 1, .queues = {"default"}, .heartbeat_ms = 100};
  worker_register(*conn_, clock, w);
  clock.advance(1s);
  EXPECT_EQ(workers_prune(*conn_, clock), 1);
  worker_beat(*conn_, clock, w, 3);
  auto listed = workers_alive(*conn_, clock);
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].id, w.id);
  EXPECT_EQ(listed[0].jobs_done, 3);
}

TEST_P(WorkerRegistryTest, ARunningWorkerIsListedWithItsJobsAndLeavesWhenItExits) {
  auto w = worker("reg-a");
  ASSERT_TRUE(eventually([&] { return alive("reg-a").has_value(); }, 30s));
  const int64_t tenant = db::create_tenant(*conn_, "Acme").id;
  JobRegistry registry;
  register_diag_jobs(registry);
  for (int i = 0; i < 3; ++i) {
    Dispatcher(db_->config(), registry).dispatch(*conn_, tenant, "diag.noop", "{}");
  }
  // The count of jobs done arrives with a heartbeat.
  ASSERT_TRUE(eventually([&] { return alive("reg-a") && alive("reg-a")->jobs_done == 3; }, 30s));
  const auto listed = cli_workers();
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["name"], "reg-a");
  EXPECT_EQ(listed[0]["pid"], w.pid());
  EXPECT_EQ(listed[0]["queues"], nlohmann::json::array({"high", "default", "low"}));  // no --queue
  EXPECT_EQ(listed[0]["concurrency"], 1);
  EXPECT_EQ(listed[0]["jobs_done"], 3);
  auto table = testing::run_cli(db_->dir(), db_->env_for_cli(), "queue:workers");
  EXPECT_NE(table.out.find("reg-a"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("last heartbeat"), std::string::npos) << table.out;
  w.signal(SIGTERM);
  ASSERT_EQ(w.wait(20s), 0);
  EXPECT_EQ(cli_workers(), nlohmann::json::array());  // gone at once: it unregistered
  EXPECT_EQ(rows(), 0);
}

TEST_P(WorkerRegistryTest, AKilledWorkerDropsOutWhenItsHeartbeatExpires) {
  auto killed = worker("reg-killed");
  auto survivor = worker("reg-survivor");
  ASSERT_TRUE(eventually([&] { return alive("reg-killed") && alive("reg-survivor"); }, 30s));
  killed.signal(SIGKILL);
  EXPECT_EQ(killed.wait(10s), 128 + SIGKILL);
  EXPECT_TRUE(eventually([&] { return !alive("reg-killed"); }, 30s));
  // The survivor keeps beating, and its beats prune the dead worker's row.
  EXPECT_TRUE(eventually([&] { return rows() == 1; }, 30s));
  const auto listed = cli_workers();
  ASSERT_EQ(listed.size(), 1u) << listed.dump();
  EXPECT_EQ(listed[0]["name"], "reg-survivor");
  survivor.signal(SIGTERM);
  EXPECT_EQ(survivor.wait(20s), 0);
}

TEST_P(WorkerRegistryTest, QueueWorkersExplainsItselfAndSaysWhenNoneIsAlive) {
  auto help = testing::run_cli(db_->dir(), db_->env_for_cli(), "queue:workers --help");
  EXPECT_EQ(help.exit, 0);
  EXPECT_NE(help.out.find("heartbeat"), std::string::npos) << help.out;
  auto none = testing::run_cli(db_->dir(), db_->env_for_cli(), "queue:workers");
  EXPECT_EQ(none.exit, 0) << none.err;
  EXPECT_NE(none.out.find("No worker alive"), std::string::npos) << none.out;
}

INSTANTIATE_TEST_SUITE_P(Drivers, WorkerRegistryTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
