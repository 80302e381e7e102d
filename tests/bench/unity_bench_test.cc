// `unity-bench` end to end: the real binary (its worker and producer processes spawned from
// itself) on a fresh database migrated by the real `unity`, on both drivers. Runs are tiny, so
// the figures are checked for presence and consistency, never for speed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::bench {
namespace {

using testing::CliRun;
using testing::Driver;
using testing::TestDatabase;

class UnityBenchTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
  }
  CliRun unity(const std::string& args) {
    return testing::run_cli(db_->dir(), db_->env_for_cli(), args);
  }
  CliRun bench(const std::string& args) {
    return testing::run_program(testing::unity_bench_binary(), db_->dir(), db_->env_for_cli(),
                                args);
  }
  nlohmann::json ok(const std::string& args) {
    CliRun r = bench(args);
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  int64_t jobs_left() { return db_->owner()->query_int("SELECT count(*) FROM jobs"); }

  std::unique_ptr<TestDatabase> db_;
};

TEST(UnityBenchHelpTest, HelpListsTheWorkloadsAndOptions) {
  CliRun r = testing::run_program(testing::unity_bench_binary(), "/tmp", "", "--help");
  EXPECT_EQ(r.exit, 0) << r.err;
  for (const char* option : {"--workload", "--jobs", "--concurrency", "--transactional", "--runs",
                             "--force", "W1", "DELETES EVERY JOB"}) {
    EXPECT_NE(r.out.find(option), std::string::npos) << option << " not in:\n" << r.out;
  }
  EXPECT_EQ(r.out.find("--role"), std::string::npos) << "the roles' options are hidden";
}

TEST_P(UnityBenchTest, DrainReportsEveryFigureOfW1AndW4) {
  auto out = ok("--workload=drain --jobs=300 --enqueue-batch=100 --runs=2 --concurrency=2");
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out["peer"], "unity");
  EXPECT_EQ(out["variant"], "default");
  EXPECT_FALSE(out["settings"].get<std::string>().empty());
  EXPECT_FALSE(out.contains("w2"));
  EXPECT_FALSE(out.contains("w3"));
  const auto& w1 = out["w1"];
  EXPECT_EQ(w1["jobs"], 300);
  EXPECT_EQ(w1["concurrency"], 2);
  EXPECT_EQ(w1["drain_capped"], false);
  EXPECT_GT(w1["drain_jobs_per_s"].get<double>(), 0);
  EXPECT_GT(w1["enqueue_jobs_per_s"].get<double>(), 0);
  ASSERT_EQ(w1["runs"].size(), 2u);
  for (const auto& run : w1["runs"]) {
    EXPECT_EQ(run["drain_completed"], 300) << run.dump();
    EXPECT_EQ(run["duplicates"], 0) << run.dump();
    EXPECT_GT(run["worker_vmhwm_kb"].get<int64_t>(), 0) << run.dump();
  }
  EXPECT_GT(out["w4"]["worker_vmhwm_kb_max"].get<int64_t>(), 0);
  EXPECT_EQ(jobs_left(), 0) << "the queue table is reset after the runs";
}

TEST_P(UnityBenchTest, TransactionalDrainCompletesEveryJobOnce) {
  auto out = ok("--workload=drain --transactional --jobs=100 --runs=1 --concurrency=2 --json");
  ASSERT_TRUE(out.is_object());
  EXPECT_EQ(out["variant"], "transactional");
  EXPECT_EQ(out["w1"]["runs"][0]["drain_completed"], 100);
  EXPECT_EQ(out["w1"]["runs"][0]["duplicates"], 0);
}

TEST_P(UnityBenchTest, EnqueueAndLatencyReportTheirFigures) {
  auto w2 = ok("--workload=enqueue --jobs=50 --runs=1");
  ASSERT_TRUE(w2.is_object());
  EXPECT_EQ(w2["w2"]["jobs"], 50);
  EXPECT_GT(w2["w2"]["jobs_per_s"].get<double>(), 0);
  auto w3 = ok("--workload=latency --jobs=40");
  ASSERT_TRUE(w3.is_object());
  const auto& lat = w3["w3"];
  EXPECT_EQ(lat["received"], 40) << lat.dump();
  EXPECT_EQ(lat["duplicates"], 0);
  EXPECT_EQ(lat["timed_out"], false);
  EXPECT_EQ(lat["producer"]["sent"], 40);
  EXPECT_GE(lat["latency_ms"]["p99"].get<double>(), lat["latency_ms"]["p50"].get<double>());
  EXPECT_EQ(jobs_left(), 0);
}

TEST_P(UnityBenchTest, RefusesAQueueHoldingOtherJobsAndLeavesThem) {
  ASSERT_EQ(unity("tenant:create Acme").exit, 0);
  ASSERT_EQ(unity("queue:dispatch diag.noop --tenant=1").exit, 0);
  CliRun r = bench("--workload=drain --jobs=10 --runs=1");
  EXPECT_EQ(r.exit, 5) << r.err;
  EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("unity-bench: ", 0), 0u) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_EQ(jobs_left(), 1);
}

TEST_P(UnityBenchTest, BadOptionsAreOneLineAndExitTwo) {
  for (const char* args : {"--workload=nope", "--jobs=0", "--concurrency=0", "--nope"}) {
    CliRun r = bench(args);
    EXPECT_EQ(r.exit, 2) << args << ": " << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << args << ": " << r.out;
  }
  CliRun r = bench("--workload=nope --json");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(nlohmann::json::parse(r.err)["error"]["code"], "invalid_argument") << r.err;
}

INSTANTIATE_TEST_SUITE_P(Drivers, UnityBenchTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::bench
