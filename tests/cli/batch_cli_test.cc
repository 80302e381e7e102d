// queue:batch, queue:chain, batch:show, queue:batches and batch:cancel end to end: the real
// binary, real databases, the output contract, exit codes and one line on stderr for bad input.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/test_db.h"

namespace unity::cli {
namespace {

using testing::CliRun;
using testing::Driver;
using testing::run_cli;
using testing::TestDatabase;

class BatchCliTest : public ::testing::TestWithParam<Driver> {
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
  CliRun unity(const std::string& args) { return run_cli(db_->dir(), db_->env_for_cli(), args); }
  nlohmann::json json_of(const std::string& args) {
    CliRun r = unity(args + " --json");
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  std::unique_ptr<TestDatabase> db_;
  std::string a_, b_;
};

TEST_P(BatchCliTest, BatchChainShowListAndCancelSpeakTheOutputContract) {
  const std::string data =
      R"({"name":"invoices","jobs":[{"type":"diag.write","data":{"mark":"1"}},)"
      R"({"chain":[{"type":"diag.noop"},{"type":"diag.write","data":{"mark":"2"}}]}],)"
      R"("then":{"type":"diag.write","data":{"mark":"then"}}})";
  auto dispatched = json_of("queue:batch" + a_ + " --data='" + data + "'");
  ASSERT_TRUE(dispatched.contains("batch_id")) << dispatched;
  const std::string id = dispatched["batch_id"];
  EXPECT_EQ(dispatched["job_ids"].size(), 2u);

  auto shown = json_of("batch:show " + id + a_);
  for (const char* key :
       {"id", "name", "tenant_id", "total_jobs", "pending_jobs", "processed_jobs", "failed_jobs",
        "failed_job_ids", "progress", "cancelled_at", "created_at", "finished_at"}) {
    EXPECT_TRUE(shown.contains(key)) << key << " in " << shown;
  }
  EXPECT_EQ(shown["id"], id);
  EXPECT_EQ(shown["total_jobs"], 3);
  EXPECT_EQ(shown["pending_jobs"], 3);
  EXPECT_EQ(shown["progress"], 0);
  EXPECT_TRUE(shown["finished_at"].is_null());

  // The worker's log goes with the checks: a then job left behind (seen once on SQLite on a
  // busy machine, not reproduced since) should say why.
  CliRun work = unity("queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(work.exit, 0) << work.err;
  shown = json_of("batch:show " + id + a_);
  EXPECT_EQ(shown["pending_jobs"], 0);
  EXPECT_EQ(shown["processed_jobs"], 3);
  EXPECT_EQ(shown["progress"], 100);
  EXPECT_TRUE(shown["finished_at"].is_string());
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'then'"), 1)
      << "worker stdout:\n"
      << work.out << "\nworker stderr:\n"
      << work.err << "\njobs left: " << count("SELECT count(*) FROM jobs")
      << ", failed: " << count("SELECT count(*) FROM failed_jobs") << ", left: "
      << db_->owner()->query_int("SELECT count(*) FROM jobs WHERE reserved_at IS NULL")
      << " unclaimed";
  CliRun table = unity("batch:show " + id + a_);
  EXPECT_EQ(table.exit, 0);
  EXPECT_NE(table.out.find("100%"), std::string::npos) << table.out;

  auto chain = json_of("queue:chain" + a_ +
                       R"( --data='{"jobs":[{"type":"diag.noop"},{"type":"diag.noop"}]}')");
  EXPECT_TRUE(chain["chain_id"].is_string());
  EXPECT_GT(chain["job_id"].get<int64_t>(), 0);

  auto second =
      json_of("queue:batch" + a_ + R"( --data='{"name":"later","jobs":[{"type":"diag.noop"}]}')");
  auto list = json_of("queue:batches" + a_);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], second["batch_id"]);
  EXPECT_EQ(json_of("queue:batches --limit=1" + a_).size(), 1u);
  EXPECT_EQ(json_of("queue:batches" + b_).size(), 0u);
  CliRun listed = unity("queue:batches" + a_);
  EXPECT_NE(listed.out.find("invoices"), std::string::npos) << listed.out;

  auto cancelled = json_of("batch:cancel " + second["batch_id"].get<std::string>() + a_);
  EXPECT_TRUE(cancelled["cancelled_at"].is_string()) << cancelled;
  ASSERT_EQ(unity("queue:work --stop-when-empty --sleep=0.1").exit, 0);
  EXPECT_EQ(json_of("batch:show " + second["batch_id"].get<std::string>() + a_)["pending_jobs"], 0);
  CliRun again = unity("batch:cancel " + id + a_);  // finished
  EXPECT_EQ(again.exit, 5) << again.err;

  for (const char* cmd :
       {"queue:batch", "queue:chain", "batch:show", "queue:batches", "batch:cancel"}) {
    CliRun help = unity(std::string(cmd) + " --help");
    EXPECT_EQ(help.exit, 0) << cmd;
    EXPECT_NE(help.out.find("--tenant"), std::string::npos) << cmd << help.out;
  }
}

TEST_P(BatchCliTest, BadInputIsRefusedWithOneLineAndWritesNothing) {
  auto id = json_of("queue:batch" + a_ +
                    R"( --data='{"name":"a","jobs":[{"type":"diag.noop"}]}')")["batch_id"]
                .get<std::string>();
  struct Case {
    std::string args;
    int exit;
  };
  const std::vector<Case> cases = {
      {"queue:batch" + a_ + " --data='{not json'", 2},
      {"queue:batch" + a_ + R"( --data='{"name":"x","jobs":[{"type":"no.such.type"}]}')", 2},
      {"queue:batch" + a_ +
           R"( --data='{"name":"x","jobs":[{"type":"diag.noop"}],"then":{"type":"nope"}}')",
       2},
      {"queue:batch" + a_ + R"( --data='{"name":"x","jobs":[]}')", 2},
      {"queue:batch --tenant=99999" + std::string(R"( --data='{"jobs":[{"type":"diag.noop"}]}')"),
       3},
      {"queue:chain" + a_ + R"( --data='{"jobs":[{"type":"diag.noop"},{"type":"x.y"}]}')", 2},
      {"queue:chain" + a_ + " --data='[]'", 2},
      {"batch:show 00000000-0000-0000-0000-000000000000" + a_, 3},
      {"batch:show " + id + b_, 3},
      {"batch:cancel " + id + b_, 3},
      {"batch:cancel nope" + a_, 3},
  };
  for (const auto& c : cases) {
    CliRun r = unity(c.args);
    EXPECT_EQ(r.exit, c.exit) << c.args << ": " << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << c.args << ": " << r.err;
  }
  EXPECT_EQ(count("SELECT count(*) FROM job_batches"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
  EXPECT_TRUE(json_of("batch:show " + id + a_)["cancelled_at"].is_null());
}

INSTANTIATE_TEST_SUITE_P(Drivers, BatchCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::cli
