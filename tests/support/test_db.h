#pragma once
// Fresh state per test (STYLE.md "Tests"): a TestDatabase is a new SQLite file in its own temp
// folder, or a new database on the PostgreSQL server named by UNITY_TEST_PG_URL (a superuser URL;
// ./scripts/test starts a private cluster and sets it). Dropped when the TestDatabase goes.
//
// Without UNITY_TEST_PG_URL, PostgreSQL cases skip, unless UNITY_REQUIRE_PG=1 (set by
// ./scripts/test and so by CI), where they fail: CI must never pass on SQLite alone.

#include <map>
#include <memory>
#include <string>

#include "core/config.h"
#include "db/connection.h"

namespace unity::testing {

enum class Driver { kSqlite, kPostgres };

std::string driver_name(Driver d);

class TestDatabase {
 public:
  // Creates an empty database; migrated when `migrate` (the usual case).
  static std::unique_ptr<TestDatabase> create(Driver driver, bool migrate = true);
  ~TestDatabase();

  Driver driver() const { return driver_; }
  const Config& config() const { return config_; }
  // New connections: the schema owner, or the restricted app role RLS applies to.
  std::unique_ptr<db::Connection> owner() const;
  std::unique_ptr<db::Connection> app() const;
  // The folder this test may write to (the SQLite file lives here).
  const std::string& dir() const { return dir_; }
  // Environment assignments (KEY=value …) that point the `unity` binary at this database.
  std::string env_for_cli() const;
  // The same settings as a map, for Process::start.
  std::map<std::string, std::string> cli_env() const;

 private:
  TestDatabase() = default;
  Driver driver_ = Driver::kSqlite;
  Config config_;
  std::string dir_;
  std::string pg_database_;
};

// True when PostgreSQL tests can run; otherwise calls GTEST_SKIP/FAIL itself via the macro below.
bool postgres_available();
std::string postgres_admin_url();
// Runs the cluster's pg_ctl with `args` (UNITY_TEST_PG_CTL); returns the exit status.
int pg_ctl(const std::string& args);

// Use at the start of a test: skips (or fails under UNITY_REQUIRE_PG=1) when PostgreSQL is absent.
#define UNITY_REQUIRE_DRIVER(driver)                                                 \
  do {                                                                               \
    if ((driver) == ::unity::testing::Driver::kPostgres &&                           \
        !::unity::testing::postgres_available()) {                                   \
      if (std::getenv("UNITY_REQUIRE_PG")) FAIL() << "UNITY_TEST_PG_URL is not set"; \
      GTEST_SKIP() << "PostgreSQL not available (set UNITY_TEST_PG_URL)";            \
    }                                                                                \
  } while (0)

}  // namespace unity::testing
