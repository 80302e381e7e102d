// Reconnect after a real PostgreSQL restart. These restart the shared test cluster, so ctest runs
// them alone (RUN_SERIAL).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
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

}  // namespace
}  // namespace unity::db
