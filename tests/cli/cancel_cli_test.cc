// queue:cancel end to end: the real binary, real databases, a real `unity queue:work` process. A
// delayed job is cancelled (and listed by queue:jobs --state=cancelled); a running diag.sleep is
// asked to stop, stops early and is recorded as cancelled, never failed; an unknown or another
// tenant's job is not found (exit 3, one line on stderr); the uuid form works; --user is recorded
// on a batch and shown by batch:show.
#include <gtest/gtest.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::cli {
namespace {

using namespace std::chrono_literals;
using testing::CliRun;
using testing::Driver;
using testing::eventually;
using testing::line_count;
using testing::Process;
using testing::run_cli;
using testing::TestDatabase;

class CancelCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
    a_ = " --tenant=" + std::to_string(tenant("Acme"));
    b_ = " --tenant=" + std::to_string(tenant("Globex"));
  }
  int64_t tenant(const std::string& name) {
    CliRun t = unity("tenant:create " + name + " --json");
    EXPECT_EQ(t.exit, 0) << t.err;
    return nlohmann::json::parse(t.out)["id"];
  }
  CliRun unity(const std::string& args) {
    return run_cli(db_->dir(), db_->env_for_cli() + " QUEUE_KEEP_COMPLETED_MINUTES=60", args);
  }
  nlohmann::json json_of(const std::string& args) {
    CliRun r = unity(args + " --json");
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  void expect_not_found(const std::string& args) {
    CliRun r = unity(args);
    EXPECT_EQ(r.exit, 3) << args << ": " << r.out << r.err;
    EXPECT_EQ(line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  }
  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  std::unique_ptr<TestDatabase> db_;
  std::string a_, b_;
};

TEST_P(CancelCliTest, ADelayedJobIsCancelledAndListedAsCancelled) {
  auto job = json_of("queue:dispatch diag.noop --delay=3600" + a_);
  const std::string id = std::to_string(job["id"].get<int64_t>());
  auto out = json_of("queue:cancel " + id + a_);
  EXPECT_EQ(out, (nlohmann::json{{"id", job["id"]}, {"state", "cancelled"}}));
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  auto listed = json_of("queue:jobs --state=cancelled" + a_);
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["id"], job["id"]);
  EXPECT_EQ(listed[0]["state"], "cancelled");
  expect_not_found("queue:cancel " + id + a_);  // finished now
  CliRun table = unity("queue:cancel " + id + a_);
  EXPECT_EQ(table.exit, 3);
}

TEST_P(CancelCliTest, TheUuidFormWorksAndATableIsPrintedForPeople) {
  json_of("queue:dispatch diag.noop --delay=3600" + a_);
  auto listed = json_of("queue:jobs" + a_);
  ASSERT_EQ(listed.size(), 1u);
  const std::string uuid = listed[0]["uuid"];
  CliRun r = unity("queue:cancel " + uuid + a_);
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("cancelled"), std::string::npos) << r.out;
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(unity("queue:cancel --help").exit, 0);
}

TEST_P(CancelCliTest, UnknownAndOtherTenantsJobsAreNotFound) {
  auto theirs = json_of("queue:dispatch diag.noop --delay=3600" + b_);
  expect_not_found("queue:cancel " + std::to_string(theirs["id"].get<int64_t>()) + a_);
  expect_not_found("queue:cancel 424242" + a_);
  expect_not_found("queue:cancel 00000000-0000-0000-0000-000000000000" + a_);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);  // theirs, untouched
}

TEST_P(CancelCliTest, ARunningJobInAWorkerProcessStopsEarlyAndIsRecordedCancelled) {
  auto env = db_->cli_env();
  env["DB_QUEUE_RETRY_AFTER"] = "3";  // heartbeats (and so cancels heard) every second
  env["QUEUE_KEEP_COMPLETED_MINUTES"] = "60";
  auto worker = Process::start({testing::unity_binary(), "queue:work", "--sleep=0.1"}, env,
                               db_->dir(), db_->dir() + "/worker.out");
  auto job = json_of(R"(queue:dispatch diag.sleep --data='{"ms":60000}')" + a_);
  const std::string id = std::to_string(job["id"].get<int64_t>());
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL") == 1; }, 30s));
  const auto asked = std::chrono::steady_clock::now();
  auto out = json_of("queue:cancel " + id + a_);
  EXPECT_EQ(out["state"], "cancelling");
  EXPECT_EQ(out["id"], job["id"]);
  EXPECT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 20s));
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 30s);  // long before its 60 s
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  auto listed = json_of("queue:jobs --state=cancelled" + a_);
  ASSERT_EQ(listed.size(), 1u) << listed;
  EXPECT_EQ(listed[0]["id"], job["id"]);
  EXPECT_EQ(listed[0]["attempts"], 1);  // never retried
  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait(20s), 0);
}

TEST_P(CancelCliTest, BatchesAndChainsTakeUserAndBatchShowSaysWhoCreatedIt) {
  CliRun u = unity("user:create --email=ann@example.com --name=Ann --role=admin --json" + a_);
  ASSERT_EQ(u.exit, 0) << u.err;
  const int64_t user = nlohmann::json::parse(u.out)["id"];
  const std::string data = R"({"name":"n","jobs":[{"type":"diag.noop"}]})";
  auto b = json_of("queue:batch --user=" + std::to_string(user) + " --data='" + data + "'" + a_);
  auto shown = json_of("batch:show " + b["batch_id"].get<std::string>() + a_);
  EXPECT_EQ(shown["user_id"], user);
  EXPECT_EQ(shown["cancelled_jobs"], 0);
  auto anon = json_of("queue:batch --data='" + data + "'" + a_);
  EXPECT_TRUE(
      json_of("batch:show " + anon["batch_id"].get<std::string>() + a_)["user_id"].is_null());
  // Another tenant's user is not found, and nothing is written.
  expect_not_found("queue:batch --user=" + std::to_string(user) + " --data='" + data + "'" + b_);
  expect_not_found("queue:chain --user=" + std::to_string(user) +
                   R"( --data='{"jobs":[{"type":"diag.noop"}]}')" + b_);
  EXPECT_EQ(count("SELECT count(*) FROM job_batches"), 2);
  auto chain = json_of("queue:chain --user=" + std::to_string(user) +
                       R"( --data='{"jobs":[{"type":"diag.noop"}]}')" + a_);
  EXPECT_TRUE(chain.contains("chain_id"));
}

INSTANTIATE_TEST_SUITE_P(Drivers, CancelCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::cli
