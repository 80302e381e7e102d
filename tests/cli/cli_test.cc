// End-to-end tests of the `unity` binary: real processes, real databases, exit codes and the one
// line on stderr that bad input gets (DESIGN.md Guarantee 10).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/test_db.h"

namespace unity::cli {
namespace {

using testing::Driver;
using testing::TestDatabase;

using testing::CliRun;
using testing::run_cli;

size_t lines(const std::string& s) { return testing::line_count(s); }

class CliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
  }
  CliRun unity(const std::string& args) { return run_cli(db_->dir(), db_->env_for_cli(), args); }
  std::unique_ptr<TestDatabase> db_;
  int count_ = 0;
};

TEST_P(CliTest, MigrateThenCreateTenantAndUserAsJson) {
  CliRun m = unity("migrate --json");
  ASSERT_EQ(m.exit, 0) << m.err;
  EXPECT_EQ(nlohmann::json::parse(m.out)["applied"][0], "0001_foundation");
  EXPECT_EQ(nlohmann::json::parse(unity("migrate --json").out)["applied"].size(), 0u);

  CliRun t = unity("tenant:create 'Acme Ltd' --json");
  ASSERT_EQ(t.exit, 0) << t.err;
  const int64_t tenant = nlohmann::json::parse(t.out)["id"];
  CliRun u = unity("user:create --tenant " + std::to_string(tenant) +
                   " --email ann@acme.test --name Ann --role manager --json");
  ASSERT_EQ(u.exit, 0) << u.err;
  auto user = nlohmann::json::parse(u.out);
  EXPECT_GT(user["id"].get<int64_t>(), 0);
  EXPECT_EQ(user["role"], "manager");

  CliRun list = unity("user:list --tenant " + std::to_string(tenant));
  EXPECT_EQ(list.exit, 0);
  EXPECT_NE(list.out.find("ann@acme.test"), std::string::npos);

  CliRun status = unity("migrate:status");
  const auto line = status.out.substr(status.out.find("0001_foundation"));
  EXPECT_NE(line.substr(0, line.find('\n')).find("applied"), std::string::npos) << status.out;
}

TEST_P(CliTest, CommandsBeforeMigrateSayToMigrate) {
  if (GetParam() == Driver::kPostgres) unity("migrate");  // the app role exists after a migrate
  if (GetParam() == Driver::kPostgres) {
    auto owner = db_->owner();
    owner->execute("DELETE FROM schema_migrations");
  }
  CliRun r = unity("tenant:create Acme");
  EXPECT_EQ(r.exit, 5);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("run `unity migrate`"), std::string::npos) << r.err;
}

TEST_P(CliTest, BadInputGetsOneLineAndNonZeroExit) {
  ASSERT_EQ(unity("migrate").exit, 0);
  struct Case {
    std::string args;
    int exit;
    std::string says;
  } cases[] = {
      {"user:create --tenant 999 --email a@b.test --name A --role admin", 3,
       "tenant 999 not found"},
      {"user:create --tenant 1 --email nope --name A --role admin", 3, "not found"},
      {"tenant:create ''", 2, "1 to 200 characters"},
      {"no:such-command", 2, "unknown command"},
      {"user:create --tenant 1", 2, "--email is required"},
      {"user:create --tenant x --email a@b.test --name A --role admin", 2, "--tenant"},
  };
  for (const auto& c : cases) {
    CliRun r = unity(c.args);
    EXPECT_EQ(r.exit, c.exit) << c.args << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1u) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
  }
  ASSERT_EQ(unity("tenant:create Acme").exit, 0);
  CliRun role = unity("user:create --tenant 1 --email a@b.test --name A --role boss");
  EXPECT_EQ(role.exit, 2);
  EXPECT_NE(role.err.find("unknown role 'boss'"), std::string::npos);
  CliRun email = unity("user:create --tenant 1 --email not-an-email --name A --role admin");
  EXPECT_EQ(email.exit, 2);
  ASSERT_EQ(unity("user:create --tenant 1 --email a@b.test --name A --role admin").exit, 0);
  CliRun dup = unity("user:create --tenant 1 --email a@b.test --name A --role admin");
  EXPECT_EQ(dup.exit, 4);
  // Nothing half-written: exactly one user.
  auto app = db_->app();
  app->set_tenant(1);
  EXPECT_EQ(app->query_int("SELECT count(*) FROM users WHERE tenant_id = 1"), 1);
}

TEST_P(CliTest, ChangedMigrationStopsMigrateNamingIt) {
  ASSERT_EQ(unity("migrate").exit, 0);
  auto owner = db_->owner();
  owner->execute("UPDATE schema_migrations SET checksum = '0' WHERE version = '0001'");
  CliRun r = unity("migrate");
  EXPECT_EQ(r.exit, 5);
  EXPECT_EQ(lines(r.err), 1u);
  EXPECT_NE(r.err.find("0001_foundation changed after it was applied"), std::string::npos) << r.err;
  EXPECT_NE(unity("migrate:status").out.find("changed"), std::string::npos);
}

TEST_P(CliTest, QueueCommandsSpeakTheOutputContract) {
  ASSERT_EQ(unity("migrate").exit, 0);
  ASSERT_EQ(unity("tenant:create Acme").exit, 0);
  auto d =
      nlohmann::json::parse(unity("queue:dispatch diag.noop --tenant 1 --queue high --json").out);
  EXPECT_GT(d["id"].get<int64_t>(), 0);
  EXPECT_EQ(d["queue"], "high");
  ASSERT_EQ(unity("queue:dispatch diag.fail --tenant 1 --data '{\"times\":9}' --json").exit, 0);
  ASSERT_EQ(unity("queue:dispatch diag.noop --tenant 1 --delay 3600").exit, 0);

  auto stats = nlohmann::json::parse(unity("queue:stats --json").out);
  ASSERT_EQ(stats["queues"].size(), 2u);
  for (const auto& q : stats["queues"]) {
    for (const char* k : {"queue", "ready", "reserved", "delayed", "failed"})
      EXPECT_TRUE(q.contains(k)) << k;
  }
  EXPECT_EQ(stats["tenants"][0]["tenant_id"], 1);
  // The job delayed an hour is not ready (the per-tenant rows counted it as ready).
  EXPECT_EQ(stats["tenants"][0]["ready"], 2);
  EXPECT_EQ(stats["tenants"][0]["delayed"], 1);
  EXPECT_EQ(stats["tenants"][0]["reserved"], 0);

  CliRun work =
      unity("queue:work --queue high,default --stop-when-empty --tries 2 --backoff 0 --json");
  ASSERT_EQ(work.exit, 0) << work.err;
  auto w = nlohmann::json::parse(work.out);
  EXPECT_EQ(w["exit"], "empty");
  EXPECT_EQ(w["completed"], 1);
  EXPECT_EQ(w["failed"], 1);

  auto failed = nlohmann::json::parse(unity("queue:failed --json").out);
  ASSERT_EQ(failed.size(), 1u);
  for (const char* k : {"id", "uuid", "queue", "tenant_id", "type", "exception", "failed_at"}) {
    EXPECT_TRUE(failed[0].contains(k)) << k;
  }
  EXPECT_EQ(failed[0]["type"], "diag.fail");
  const std::string uuid = failed[0]["uuid"];
  EXPECT_EQ(unity("queue:retry " + uuid + " --json").exit, 0);
  EXPECT_EQ(nlohmann::json::parse(unity("queue:failed --json").out).size(), 0u);
  ASSERT_EQ(unity("queue:work --stop-when-empty --tries 1 --backoff 0").exit, 0);
  EXPECT_EQ(unity("queue:forget 424242").exit, 3);
  CliRun forget = unity("queue:forget " + uuid);
  EXPECT_EQ(forget.exit, 0) << forget.err;
  EXPECT_EQ(unity("queue:retry 424242").exit, 3);
  EXPECT_EQ(nlohmann::json::parse(unity("queue:flush --json").out)["deleted"], 0);

  // Pause and resume one tenant; weights.
  EXPECT_EQ(unity("queue:pause --tenant 1").exit, 0);
  EXPECT_EQ(unity("queue:resume --tenant 1").exit, 0);
  EXPECT_EQ(unity("queue:resume --tenant 1").exit, 3);
  EXPECT_EQ(unity("queue:pause --tenant 77").exit, 3);
  EXPECT_EQ(unity("tenant:weight --tenant 1 --weight 5").exit, 0);
  EXPECT_EQ(unity("tenant:weight --tenant 1 --weight 0").exit, 2);
  EXPECT_EQ(unity("tenant:weight --tenant 9 --weight 2").exit, 3);
}

// The text said "1/min" (integer division) where the JSON said 1.2.
TEST_P(CliTest, QueueStatsTextShowsTheSameRateAsTheJson) {
  ASSERT_EQ(unity("migrate").exit, 0);
  const int64_t minute = std::chrono::duration_cast<std::chrono::minutes>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  db_->owner()->execute(
      "INSERT INTO queue_metrics (minute, queue, completed, failed) VALUES ($1, 'default', 6, 0)",
      {minute});
  auto stats = nlohmann::json::parse(unity("queue:stats --json").out);
  EXPECT_EQ(stats["throughput"]["completed_per_minute_5m"], 1.2);
  CliRun text = unity("queue:stats");
  EXPECT_NE(text.out.find(" 1.2/min over 5 minutes"), std::string::npos) << text.out;
}

// tenant:weight without --max-concurrency cleared the cap.
TEST_P(CliTest, TenantWeightWithoutMaxConcurrencyKeepsTheCap) {
  ASSERT_EQ(unity("migrate").exit, 0);
  ASSERT_EQ(unity("tenant:create Acme").exit, 0);
  auto cap_of = [&] {
    return db_->owner()
        ->query_one("SELECT max_concurrency FROM tenants WHERE id = 1")
        ->get<std::optional<int64_t>>(0);
  };
  ASSERT_EQ(unity("tenant:weight --tenant 1 --weight 2 --max-concurrency 3").exit, 0);
  EXPECT_EQ(cap_of(), 3);
  auto kept = nlohmann::json::parse(unity("tenant:weight --tenant 1 --weight 5 --json").out);
  EXPECT_EQ(kept["weight"], 5);
  EXPECT_EQ(kept["max_concurrency"], 3);
  EXPECT_EQ(cap_of(), 3);
  auto cleared = nlohmann::json::parse(
      unity("tenant:weight --tenant 1 --weight 5 --max-concurrency 0 --json").out);
  EXPECT_TRUE(cleared["max_concurrency"].is_null());
  EXPECT_FALSE(cap_of().has_value());
}

TEST_P(CliTest, QueueBadInputIsRefusedWithOneLine) {
  ASSERT_EQ(unity("migrate").exit, 0);
  ASSERT_EQ(unity("tenant:create Acme").exit, 0);
  struct Case {
    std::string args;
    int exit;
  } cases[] = {
      {"queue:dispatch no.such --tenant 1", 2},
      {"queue:dispatch diag.noop --tenant 1 --data '{oops'", 2},
      {"queue:dispatch diag.noop --tenant 1 --data '[1]'", 2},
      {"queue:dispatch diag.noop --tenant 42", 3},
      {"queue:dispatch diag.noop --tenant 1 --delay -1", 2},
      {"queue:dispatch diag.noop --tenant 1 --priority 1001", 2},
      {"queue:dispatch diag.noop --tenant 1 --priority high", 2},
      {"queue:work --concurrency 0", 2},
      {"queue:work --backoff soon", 2},
      {"queue:work --tries 0", 2},
      {"queue:retry nope", 3},
  };
  for (const auto& c : cases) {
    CliRun r = unity(c.args);
    EXPECT_EQ(r.exit, c.exit) << c.args << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1u) << c.args << ": " << r.err;
  }
  EXPECT_EQ(nlohmann::json::parse(unity("queue:stats --json").out)["queues"].size(), 0u);
}

TEST_P(CliTest, QueueTableNameComesFromDbQueueTable) {
  auto run = [&](const std::string& args) {
    return run_cli(db_->dir(), db_->env_for_cli() + " DB_QUEUE_TABLE=erp_jobs DB_QUEUE=normal",
                   args);
  };
  ASSERT_EQ(run("migrate").exit, 0);
  ASSERT_EQ(run("tenant:create Acme").exit, 0);
  auto d = nlohmann::json::parse(run("queue:dispatch diag.noop --tenant 1 --json").out);
  EXPECT_EQ(d["queue"], "normal");
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM erp_jobs"), 1);
  EXPECT_EQ(run("queue:work --stop-when-empty").exit, 0);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM erp_jobs"), 0);
}

TEST_P(CliTest, AuditTrailAndNotificationsCommands) {
  ASSERT_EQ(unity("migrate").exit, 0);
  ASSERT_EQ(unity("tenant:create Acme").exit, 0);
  ASSERT_EQ(unity("tenant:create Globex").exit, 0);
  ASSERT_EQ(unity("user:create --tenant 1 --email a@a.test --name A --role admin").exit, 0);
  auto owner = db_->owner();
  for (int t : {1, 1, 2}) {
    owner->execute(
        "INSERT INTO domain_events (uuid, tenant_id, user_id, name, aggregate_type, aggregate_id,"
        " payload, occurred_at) VALUES ($1, $2, 1, $3, 'product', '42', '{\"sku\":\"W-1\"}', $4)",
        {"018f0000-0000-7000-8000-00000000000" + std::to_string(count_++), t,
         count_ == 1 ? "ProductCreated" : "ProductUpdated", "2026-11-01T10:00:00Z"});
  }
  auto list = nlohmann::json::parse(unity("events:list --tenant 1 --json").out);
  ASSERT_EQ(list.size(), 2u);
  for (const char* k : {"id", "name", "tenant_id", "user_id", "occurred_at", "payload"}) {
    EXPECT_TRUE(list[0].contains(k)) << k;
  }
  EXPECT_EQ(list[0]["name"], "ProductCreated");
  EXPECT_EQ(list[0]["payload"]["sku"], "W-1");
  EXPECT_EQ(list[0]["occurred_at"], "2026-11-01T10:00:00.000000Z");
  EXPECT_EQ(nlohmann::json::parse(unity("events:list --tenant 1 --type ProductUpdated --json").out)
                .size(),
            1u);
  EXPECT_EQ(
      nlohmann::json::parse(unity("events:list --tenant 1 --since 2026-11-02 --json").out).size(),
      0u);
  EXPECT_EQ(nlohmann::json::parse(unity("events:list --tenant 1 --aggregate product:42 --json").out)
                .size(),
            2u);
  EXPECT_EQ(unity("events:list --tenant 1 --since yesterday").exit, 2);
  EXPECT_EQ(unity("events:list --tenant 9").exit, 3);
  auto listeners = nlohmann::json::parse(unity("listeners:list --json").out);
  bool low_stock = false;
  for (const auto& l : listeners) {
    low_stock = low_stock || (l["event"] == "LowStockDetected" &&
                              l["listener"] == "SendLowStockNotification" && l["queued"] == true);
  }
  EXPECT_TRUE(low_stock) << listeners.dump();

  owner->execute(
      "INSERT INTO notifications (id, tenant_id, type, notifiable_type, notifiable_id, data,"
      " created_at, updated_at) VALUES ('018f0000-0000-7000-8000-0000000000aa', 1,"
      " 'AlertNotification', 'user', 1, '{\"title\":\"Hi\"}', $1, $1)",
      {std::string("2026-11-01T10:00:00Z")});
  auto inbox =
      nlohmann::json::parse(unity("notifications:list --tenant 1 --user 1 --unread --json").out);
  ASSERT_EQ(inbox.size(), 1u);
  for (const char* k : {"id", "type", "data", "read_at", "created_at"})
    EXPECT_TRUE(inbox[0].contains(k)) << k;
  EXPECT_EQ(inbox[0]["type"], "AlertNotification");
  EXPECT_EQ(
      nlohmann::json::parse(unity("notifications:unread --tenant 1 --user 1 --json").out)["unread"],
      1);
  // The list's JSON stays DESIGN.md's array; the count its text shows is notifications:unread's
  // "unread_count" (the HTTP API's name).
  EXPECT_EQ(nlohmann::json::parse(
                unity("notifications:unread --tenant 1 --user 1 --json").out)["unread_count"],
            1);
  EXPECT_TRUE(
      nlohmann::json::parse(unity("notifications:list --tenant 1 --user 1 --json").out).is_array());
  EXPECT_NE(unity("notifications:list --tenant 1 --user 1").out.find("1 unread"),
            std::string::npos);
  EXPECT_EQ(
      unity("notifications:read 018f0000-0000-7000-8000-0000000000aa --tenant 1 --user 1").exit, 0);
  EXPECT_EQ(
      nlohmann::json::parse(unity("notifications:list --tenant 1 --user 1 --unread --json").out)
          .size(),
      0u);
  EXPECT_EQ(unity("notifications:read nope --tenant 1 --user 1").exit, 3);
  EXPECT_EQ(unity("notifications:list --tenant 2 --user 1").exit, 3);  // another tenant's user
}

INSTANTIATE_TEST_SUITE_P(Drivers, CliTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

// --- configuration and environment failures (no database needed) -------------------------------

class CliConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("unity-cli-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write_env(const std::string& text) { std::ofstream(dir_ / ".env") << text; }
  CliRun unity(const std::string& args, const std::string& env = "",
               const std::string& prefix = "") {
    return run_cli(dir_.string(), env, args, prefix);
  }
  std::filesystem::path dir_;
};

TEST_F(CliConfigTest, DefaultsToSqliteUnderStorage) {
  CliRun r = unity("migrate");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir_ / "storage" / "unity.sqlite"));
}

TEST_F(CliConfigTest, DotEnvIsReadAndTheEnvironmentWins) {
  write_env("# comment\nDB_DATABASE=\"from-dotenv.sqlite\"\n");
  ASSERT_EQ(unity("migrate").exit, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "from-dotenv.sqlite"));
  ASSERT_EQ(unity("migrate", "DB_DATABASE=from-env.sqlite").exit, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "from-env.sqlite"));
}

TEST_F(CliConfigTest, BadValuesAreRejectedNamingTheVariable) {
  struct Case {
    std::string env, says;
  } cases[] = {
      {"DB_CONNECTION=mysql", "DB_CONNECTION"},
      {"QUEUE_CONNECTION=redis", "QUEUE_CONNECTION"},
      {"DB_QUEUE_RETRY_AFTER=soon", "DB_QUEUE_RETRY_AFTER"},
      {"DB_PORT=99999 DB_CONNECTION=pgsql", "DB_PORT"},
      {"DB_QUEUE_TABLE='jobs;drop'", "DB_QUEUE_TABLE"},
  };
  for (const auto& c : cases) {
    CliRun r = unity("migrate", c.env);
    EXPECT_EQ(r.exit, 2) << c.env << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "storage")) << c.env;
  }
}

TEST_F(CliConfigTest, MalformedDotEnvNamesTheLine) {
  write_env("DB_CONNECTION=sqlite\nTHIS LINE IS BROKEN\n");
  CliRun r = unity("migrate");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(":2"), std::string::npos) << r.err;
}

TEST_F(CliConfigTest, UnreadableDotEnvIsAnError) {
  std::filesystem::create_directories(dir_ / ".env");  // a folder cannot be read as a file
  CliRun r = unity("migrate");
  EXPECT_EQ(r.exit, 2) << r.err;
  EXPECT_NE(r.err.find(".env"), std::string::npos) << r.err;
}

TEST_F(CliConfigTest, UnreachablePostgresIsUnavailable) {
  CliRun r = unity("migrate", "DB_CONNECTION=pgsql DB_URL=postgresql://postgres@127.0.0.1:1/x");
  EXPECT_EQ(r.exit, 7);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
}

TEST_F(CliConfigTest, DatabaseInAReadOnlyFolderIsAClearError) {
  std::filesystem::create_directories(dir_ / "ro");
  std::filesystem::permissions(
      dir_ / "ro", std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                       std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  // root ignores folder permissions, so run as an unprivileged user where we are root.
  const std::string prefix = getuid() == 0 ? "runuser -u nobody --" : "";
  CliRun r = unity("migrate", "DB_DATABASE=ro/unity.sqlite", prefix);
  EXPECT_EQ(r.exit, 7) << r.err;
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("cannot open SQLite database 'ro/unity.sqlite'"), std::string::npos)
      << r.err;
}

// `unity` alone exited 2 and `--version` was an unknown command.
TEST_F(CliConfigTest, UnityAlonePrintsTheHelpAndVersionIsKnown) {
  CliRun bare = unity("");
  EXPECT_EQ(bare.exit, 0) << bare.err;
  EXPECT_NE(bare.out.find("migrate:status"), std::string::npos) << bare.out;
  CliRun version = unity("--version");
  EXPECT_EQ(version.exit, 0) << version.err;
  EXPECT_EQ(version.out.rfind("unity ", 0), 0u) << version.out;
  EXPECT_TRUE(nlohmann::json::parse(unity("--version --json").out)["version"].is_string());
  EXPECT_FALSE(std::filesystem::exists(dir_ / "storage"));
}

// Read commands on a missing database created it and reported pending migrations.
TEST_F(CliConfigTest, CommandsOnAMissingDatabaseSaySoAndCreateNothing) {
  for (const char* args : {"queue:stats", "migrate:status", "db:show", "tenant:list",
                           "queue:failed", "events:list --tenant 1"}) {
    CliRun r = unity(args);
    EXPECT_EQ(r.exit, 5) << args << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1u) << args << ": " << r.err;
    EXPECT_NE(r.err.find("no database at 'storage/unity.sqlite'"), std::string::npos)
        << args << ": " << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "storage")) << args;
  }
  CliRun other = unity("tenant:list", "DB_DATABASE=elsewhere.sqlite");
  EXPECT_EQ(other.exit, 5) << other.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "elsewhere.sqlite"));
  ASSERT_EQ(unity("migrate").exit, 0);  // migrate creates it
  EXPECT_EQ(unity("tenant:list").exit, 0);
}

// With --json, errors were still plain text.
TEST_F(CliConfigTest, JsonErrorsAreJsonObjectsOnStderr) {
  struct Case {
    std::string args;
    int exit;
    std::string code;
  } cases[] = {
      {"tenant:list --json", 5, "failed_precondition"},
      {"queue:stats --bogus --json", 2, "invalid_argument"},
      {"no:such-command --json", 2, "invalid_argument"},
  };
  for (const auto& c : cases) {
    CliRun r = unity(c.args);
    EXPECT_EQ(r.exit, c.exit) << c.args << ": " << r.err;
    EXPECT_EQ(lines(r.err), 1u) << c.args << ": " << r.err;
    nlohmann::json error;
    ASSERT_NO_THROW(error = nlohmann::json::parse(r.err)) << c.args << ": " << r.err;
    EXPECT_EQ(error["error"]["code"], c.code) << r.err;
    EXPECT_TRUE(error["error"]["message"].is_string()) << r.err;
  }
  CliRun config = unity("tenant:list --json", "DB_CONNECTION=mysql");
  EXPECT_EQ(nlohmann::json::parse(config.err)["error"]["code"], "invalid_argument") << config.err;
}

// A malformed DB_URL was echoed with its password by libpq's message.
TEST_F(CliConfigTest, MalformedDbUrlNeverShowsItsPassword) {
  const std::string urls[] = {
      "postgress://bob:s3cr3tpw@127.0.0.1:1/db",      // not a URI: libpq quotes it whole
      "postgresql://bob:s3cr3tpw@[127.0.0.1/db",      // quoted in the IPv6 message
      "postgresql://bob:s3cr3tpw%zz@127.0.0.1:1/db",  // the bad token is the password
      "postgresql://bob@127.0.0.1:1/db?password=s3cr3tpw%zz",
      "host=127.0.0.1 port=1 password=s3cr3tpw bogus",
      "host=127.0.0.1 password='s3cr3tpw' 'bogus",
  };
  for (const auto& url : urls) {
    for (const char* args : {"migrate", "tenant:list --json"}) {
      CliRun r = unity(args, "DB_CONNECTION=pgsql DB_URL=\"" + url + "\"");
      EXPECT_EQ(r.exit, 7) << url << ": " << r.err;
      EXPECT_EQ(lines(r.err), 1u) << url << ": " << r.err;
      EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
      EXPECT_EQ(r.err.find("s3cr3tpw"), std::string::npos) << url << ": " << r.err;
    }
  }
}

TEST_F(CliConfigTest, HelpListsEveryCommandAndEachCommandHasHelp) {
  CliRun r = unity("--help");
  EXPECT_EQ(r.exit, 0);
  for (const char* c : {"migrate", "migrate:status", "tenant:create", "user:create", "db:show"}) {
    EXPECT_NE(r.out.find(c), std::string::npos) << c;
    CliRun h = unity(std::string(c) + " --help");
    EXPECT_EQ(h.exit, 0) << c;
    EXPECT_NE(h.out.find("--json"), std::string::npos) << c;
  }
}

}  // namespace
}  // namespace unity::cli
