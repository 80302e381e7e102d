// Reconnect after a real PostgreSQL restart. These restart the shared test cluster, so ctest runs
// them alone (RUN_SERIAL).
#include <gtest/gtest.h>

#include <signal.h>
#include <fstream>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::db {
namespace {

using testing::Driver;
using testing::TestDatabase;

class PostgresFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(Driver::kPostgres);
    db_ = TestDatabase::create(Driver::kPostgres);
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(PostgresFaultTest, ReconnectsAfterServerRestartKeepingRoleAndTenant) {
  if (!std::getenv("UNITY_TEST_PG_CTL")) GTEST_SKIP() << "UNITY_TEST_PG_CTL not set";
  auto conn = db_->app();
  Tenant a = create_tenant(*conn, "Acme");
  Tenant b = create_tenant(*conn, "Globex");
  {
    TenantScope scope(*conn, b.id);
    create_user(*conn, "bob@globex.test", "Bob", "admin");
  }
  conn->set_tenant(a.id);
  create_user(*conn, "ann@acme.test", "Ann", "admin");
  // Warm the statement cache so the reconnect must prepare again.
  EXPECT_EQ(conn->query_int("SELECT count(*) FROM users"), 1);

  ASSERT_EQ(testing::pg_ctl("-w -m fast restart"), 0);

  // The next call reconnects by itself; role and tenant are restored (RLS still filters).
  EXPECT_EQ(conn->query_int("SELECT count(*) FROM users"), 1);
  EXPECT_EQ(conn->query_one("SELECT email FROM users")->get<std::string>(0), "ann@acme.test");
  EXPECT_EQ(conn->query_one("SELECT current_user")->get<std::string>(0), "unity_app");
  // And writes work again, in a transaction too.
  Transaction tx(*conn);
  create_user(*conn, "amy@acme.test", "Amy", "sales");
  tx.commit();
  EXPECT_EQ(list_users(*conn).size(), 2u);
}

TEST_F(PostgresFaultTest, ConnectionLostInsideATransactionIsUnavailable) {
  if (!std::getenv("UNITY_TEST_PG_CTL")) GTEST_SKIP() << "UNITY_TEST_PG_CTL not set";
  auto conn = db_->app();
  create_tenant(*conn, "Acme");
  {
    Transaction tx(*conn);
    create_tenant(*conn, "Lost");
    ASSERT_EQ(testing::pg_ctl("-w -m fast restart"), 0);
    try {
      create_tenant(*conn, "After");
      FAIL() << "a statement in a lost transaction succeeded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
    }
  }
  // The next transaction reconnects; the lost one left nothing.
  EXPECT_EQ(conn->query_int("SELECT count(*) FROM tenants"), 1);
}

TEST_F(PostgresFaultTest, RestartWhileWorkersDrainLosesNoJobAndDuplicatesNoEffect) {
  if (!std::getenv("UNITY_TEST_PG_CTL")) GTEST_SKIP() << "UNITY_TEST_PG_CTL not set";
  using namespace std::chrono_literals;
  auto conn = db_->app();
  const int64_t tenant = create_tenant(*conn, "Acme").id;
  queue::JobRegistry registry;
  queue::register_diag_jobs(registry);
  constexpr int kJobs = 3000;
  std::vector<std::string> payloads;
  for (int i = 0; i < kJobs; ++i) payloads.push_back("{\"mark\":\"" + std::to_string(i) + "\"}");
  queue::Dispatcher(db_->config(), registry).dispatch_many(*conn, tenant, "diag.write", payloads);

  const std::map<std::string, std::string> env{{"DB_CONNECTION", "pgsql"},
                                               {"DB_URL", db_->config().db_url},
                                               {"STORAGE_PATH", db_->config().storage_path},
                                               {"DB_QUEUE_RETRY_AFTER", "3"}};
  std::vector<testing::Process> workers;
  for (const char* name : {"w1", "w2"}) {
    workers.push_back(
        testing::Process::start({testing::unity_binary(), "queue:work", "--concurrency=4",
                                 "--sleep=0.2", "--backoff=0", std::string("--name=") + name},
                                env, db_->dir(), db_->dir() + "/workers.out"));
  }
  auto owner_count = [&](const std::string& sql) {
    try {
      return db_->owner()->query_int(sql);
    } catch (const Error&) {
      return int64_t{-1};
    }
  };
  ASSERT_TRUE(testing::eventually(
      [&] { return owner_count("SELECT count(*) FROM diag_marks") >= 300; }, 60s));
  ASSERT_GT(owner_count("SELECT count(*) FROM jobs"), 0) << "drained before the restart";
  ASSERT_EQ(testing::pg_ctl("-w -m fast restart"), 0);
  EXPECT_TRUE(
      testing::eventually([&] { return owner_count("SELECT count(*) FROM jobs") == 0; }, 120s));
  for (auto& w : workers) {
    w.signal(SIGTERM);
    EXPECT_EQ(w.wait(30s), 0);
  }
  if (HasFailure()) {  // what the workers said, to tell why
    std::ifstream out(db_->dir() + "/workers.out");
    ADD_FAILURE() << std::string(std::istreambuf_iterator<char>(out), {});
  }
  EXPECT_EQ(owner_count("SELECT count(*) FROM diag_marks"), kJobs);
  EXPECT_EQ(owner_count("SELECT count(DISTINCT mark) FROM diag_marks"), kJobs);
  EXPECT_EQ(owner_count("SELECT count(*) FROM failed_jobs"), 0);
}

}  // namespace
}  // namespace unity::db
