// PostgreSQL-only behaviours: LISTEN/NOTIFY, an unreachable server.
#include <gtest/gtest.h>

#include <chrono>

#include "core/error.h"
#include "db/transaction.h"
#include "support/test_db.h"

namespace unity::db {
namespace {

using testing::Driver;
using testing::TestDatabase;

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(Driver::kPostgres);
    db_ = TestDatabase::create(Driver::kPostgres);
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_F(PostgresTest, ListenReceivesNotifyFromAnotherSession) {
  auto listener = db_->app();
  auto sender = db_->app();
  listener->listen("unity_jobs");
  EXPECT_FALSE(listener->wait_notification(std::chrono::milliseconds(10)));
  sender->notify("unity_jobs", "default");
  auto n = listener->wait_notification(std::chrono::seconds(5));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->channel, "unity_jobs");
  EXPECT_EQ(n->payload, "default");
}

TEST_F(PostgresTest, NotifyInsideARolledBackTransactionIsNeverDelivered) {
  auto listener = db_->app();
  auto sender = db_->app();
  listener->listen("unity_jobs");
  {
    Transaction tx(*sender);
    sender->notify("unity_jobs", "rolled-back");
  }
  {
    Transaction tx(*sender);
    sender->notify("unity_jobs", "committed");
    tx.commit();
  }
  auto n = listener->wait_notification(std::chrono::seconds(5));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->payload, "committed");
  EXPECT_FALSE(listener->wait_notification(std::chrono::milliseconds(100)));
}

TEST_F(PostgresTest, UnreachableServerIsUnavailableWithAClearMessage) {
  Config c = Config::from_vars(
      {{"DB_CONNECTION", "pgsql"}, {"DB_URL", "postgresql://postgres@127.0.0.1:1/none"}});
  try {
    open_connection(c);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    EXPECT_NE(std::string(e.what()).find("cannot connect to PostgreSQL"), std::string::npos);
  }
}

}  // namespace
}  // namespace unity::db
