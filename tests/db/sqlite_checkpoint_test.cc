// SqliteOptions::background_checkpoint: the WAL is copied back into the database file by one
// thread per file, not inside the COMMIT that filled it. SQLite only (PostgreSQL has no WAL of
// ours to checkpoint). Real files in a temporary folder.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "db/sqlite/checkpointer.h"
#include "db/sqlite/sqlite_connection.h"
#include "db/transaction.h"

namespace unity::db {
namespace {

namespace fs = std::filesystem;

class SqliteCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "unity-ckpt-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<Connection> open(const std::string& name, bool background) {
    SqliteOptions o;
    o.path = (dir_ / name).string();
    o.background_checkpoint = background;
    return open_sqlite(o);
  }

  // Commits `pages` transactions of one 4 KiB row each (a WAL page or more per commit).
  static void fill(Connection& conn, int pages) {
    conn.execute_script("CREATE TABLE IF NOT EXISTS t (x BLOB)");
    for (int i = 0; i < pages; ++i) {
      Transaction tx(conn);
      conn.execute("INSERT INTO t VALUES (randomblob(4000))");
      tx.commit();
    }
  }

  fs::path dir_;
};

TEST_F(SqliteCheckpointTest, TheBackgroundThreadCopiesTheWalIntoTheDatabaseFile) {
  auto conn = open("a.sqlite", true);
  const auto checkpointer = Checkpointer::for_path((dir_ / "a.sqlite").string(), 5000);
  fill(*conn, kCheckpointPages + 200);
  // The file grows only when a checkpoint copies the WAL into it; the connection stays open (its
  // close would checkpoint too). Waits on the condition, however busy the machine.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((checkpointer->runs() == 0 || fs::file_size(dir_ / "a.sqlite") < 4'000'000) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(checkpointer->runs(), 1);
  EXPECT_GE(fs::file_size(dir_ / "a.sqlite"), 4'000'000u);
  EXPECT_EQ(conn->query_int("SELECT count(*) FROM t"), kCheckpointPages + 200);
}

// A PASSIVE checkpoint leaves the WAL's size as it is (and cannot copy past a reader's
// snapshot), so every commit after the first 1,000 pages still sees a WAL past the threshold:
// waking the thread for each of them ran a checkpoint per commit, each one preempting the writer
// that woke it. The thread is asked again only once the WAL has grown by another 1,000 pages.
TEST_F(SqliteCheckpointTest, SmallCommitsPastTheThresholdDoNotWakeTheThreadEachTime) {
  auto conn = open("e.sqlite", true);
  const auto checkpointer = Checkpointer::for_path((dir_ / "e.sqlite").string(), 5000);
  conn->execute_script("CREATE TABLE t (x BLOB)");
  // A reader holding its snapshot: no checkpoint can copy (or restart) the WAL past it.
  auto reader = open("e.sqlite", false);
  Transaction read(*reader, TxMode::kRead);
  EXPECT_EQ(reader->query_int("SELECT count(*) FROM t"), 0);
  fill(*conn, kCheckpointPages + 10);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (checkpointer->runs() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(checkpointer->runs(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const long before = checkpointer->runs();
  // Twenty small commits, each given the time a woken thread needs to run.
  for (int i = 0; i < 20; ++i) {
    fill(*conn, 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_LE(checkpointer->runs() - before, 1);
  // Another 1,000 pages ask again.
  fill(*conn, kCheckpointPages);
  const auto again = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (checkpointer->runs() == before && std::chrono::steady_clock::now() < again) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GT(checkpointer->runs(), before);
}

TEST_F(SqliteCheckpointTest, ConnectionsOfOneFileShareOneCheckpointerUntilTheLastCloses) {
  const std::string a = (dir_ / "c.sqlite").string();
  const std::string b = (dir_ / "d.sqlite").string();
  auto first = open("c.sqlite", true);
  auto second = open("c.sqlite", true);
  auto other = open("d.sqlite", true);
  EXPECT_EQ(Checkpointer::for_path(a, 5000), Checkpointer::for_path(a, 5000));
  EXPECT_NE(Checkpointer::for_path(a, 5000), Checkpointer::for_path(b, 5000));
  std::weak_ptr<Checkpointer> shared = Checkpointer::for_path(a, 5000);
  first.reset();
  EXPECT_FALSE(shared.expired());
  second.reset();
  EXPECT_TRUE(shared.expired());  // its thread stopped and joined with the last connection
}

}  // namespace
}  // namespace unity::db
