#include "core/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "core/error.h"
#include "core/secretbox.h"

namespace unity {
namespace {

namespace fs = std::filesystem;
using Vars = std::map<std::string, std::string>;

// Sets (or unsets) an environment variable for one scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    set(value);
  }
  ~ScopedEnv() { set(old_ ? old_->c_str() : nullptr); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  void set(const char* value) {
    if (value) {
      ::setenv(name_, value, 1);
    } else {
      ::unsetenv(name_);
    }
  }

  const char* name_;
  std::optional<std::string> old_;
};

// A fresh directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "unity-config-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }

 private:
  fs::path path_;
};

void expect_invalid_vars(const Vars& vars, const std::string& expected_message) {
  try {
    Config::from_vars(vars);
    ADD_FAILURE() << "no error; expected: " << expected_message;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), expected_message);
  }
}

TEST(Config, DefaultsWhenNothingIsSet) {
  const Config c = Config::from_vars({});
  EXPECT_EQ(c.db_connection, DbConnection::kSqlite);
  EXPECT_EQ(c.queue_connection, QueueConnection::kDatabase);
  EXPECT_EQ(c.queue_table, "jobs");
  EXPECT_EQ(c.queue_default, "default");
  EXPECT_EQ(c.queue_retry_after_s, 90);
  EXPECT_EQ(c.db_port, 5432);
  EXPECT_EQ(c.db_busy_timeout_ms, 5000);
  EXPECT_EQ(c.db_app_role, "unity_app");
  EXPECT_EQ(c.storage_path, "storage");
  EXPECT_EQ(c.sqlite_path(), "storage/unity.sqlite");
}

TEST(Config, ReadsEveryVariable) {
  const Vars vars{{"DB_CONNECTION", "pgsql"},
                  {"DB_DATABASE", "erp"},
                  {"DB_HOST", "db.internal"},
                  {"DB_PORT", "6543"},
                  {"DB_USERNAME", "app"},
                  {"DB_PASSWORD", "pw"},
                  {"DB_APP_ROLE", "erp_app"},
                  {"DB_BUSY_TIMEOUT_MS", "0"},
                  {"QUEUE_CONNECTION", "sync"},
                  {"DB_QUEUE_TABLE", "queue_jobs"},
                  {"DB_QUEUE", "high"},
                  {"DB_QUEUE_RETRY_AFTER", "86400"},
                  {"STORAGE_PATH", "/var/unity"},
                  {"SYNC_TOKEN", "t0k"},
                  {"MAIL_FROM", "ops@example.com"}};
  const Config c = Config::from_vars(vars);
  EXPECT_EQ(c.db_connection, DbConnection::kPgsql);
  EXPECT_EQ(c.db_database, "erp");
  EXPECT_EQ(c.db_host, "db.internal");
  EXPECT_EQ(c.db_port, 6543);
  EXPECT_EQ(c.db_username, "app");
  EXPECT_EQ(c.db_password, "pw");
  EXPECT_EQ(c.db_app_role, "erp_app");
  EXPECT_EQ(c.db_busy_timeout_ms, 0);
  EXPECT_EQ(c.queue_connection, QueueConnection::kSync);
  EXPECT_EQ(c.queue_table, "queue_jobs");
  EXPECT_EQ(c.queue_default, "high");
  EXPECT_EQ(c.queue_retry_after_s, 86400);
  EXPECT_EQ(c.storage_path, "/var/unity");
  EXPECT_EQ(c.sync_token, "t0k");
  EXPECT_EQ(c.raw, vars);
}

TEST(Config, LimitsHaveDefaultsAndBounds) {
  Config c = Config::from_vars({});
  EXPECT_TRUE(c.sync_allowed_hosts.empty());
  EXPECT_EQ(c.sync_max_response_mb, 16);
  EXPECT_EQ(c.import_max_columns, 1000);
  EXPECT_EQ(c.import_max_mb, 200);
  c = Config::from_vars(
      {{"SYNC_MAX_RESPONSE_MB", "2"}, {"IMPORT_MAX_COLUMNS", "50"}, {"IMPORT_MAX_MB", "1024"}});
  EXPECT_EQ(c.sync_max_response_mb, 2);
  EXPECT_EQ(c.import_max_columns, 50);
  EXPECT_EQ(c.import_max_mb, 1024);
  expect_invalid_vars({{"IMPORT_MAX_MB", "1025"}},
                      "IMPORT_MAX_MB must be an integer from 1 to 1024, got \"1025\"");
  expect_invalid_vars({{"IMPORT_MAX_MB", "0"}},
                      "IMPORT_MAX_MB must be an integer from 1 to 1024, got \"0\"");
  expect_invalid_vars({{"SYNC_MAX_RESPONSE_MB", "0"}},
                      "SYNC_MAX_RESPONSE_MB must be an integer from 1 to 1024, got \"0\"");
  expect_invalid_vars({{"IMPORT_MAX_COLUMNS", "100001"}},
                      "IMPORT_MAX_COLUMNS must be an integer from 1 to 100000, got \"100001\"");
}

TEST(Config, OtlpEndpointIsAnHttpUrlWithoutTrailingSlash) {
  EXPECT_EQ(Config::from_vars({}).otel_endpoint, "");
  EXPECT_EQ(
      Config::from_vars({{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318/"}}).otel_endpoint,
      "http://127.0.0.1:4318");
  expect_invalid_vars({{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}},
                      "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL, got "
                      "\"collector:4318\"");
}

TEST(Config, QueueKeepCompletedMinutesDefaultsToZeroAndIsBounded) {
  EXPECT_EQ(Config::from_vars({}).queue_keep_completed_minutes, 0);
  EXPECT_EQ(
      Config::from_vars({{"QUEUE_KEEP_COMPLETED_MINUTES", "60"}}).queue_keep_completed_minutes, 60);
  expect_invalid_vars(
      {{"QUEUE_KEEP_COMPLETED_MINUTES", "-1"}},
      "QUEUE_KEEP_COMPLETED_MINUTES must be an integer from 0 to 525600, got \"-1\"");
  expect_invalid_vars(
      {{"QUEUE_KEEP_COMPLETED_MINUTES", "525601"}},
      "QUEUE_KEEP_COMPLETED_MINUTES must be an integer from 0 to 525600, got \"525601\"");
}

TEST(Config, SyncAllowedHostsAreHostOrHostPortSeparatedByCommas) {
  const Config c = Config::from_vars(
      {{"SYNC_ALLOWED_HOSTS", " ERP.Example.com , 10.0.0.7:8443,[::1]:8080,[FE80::1],, "}});
  ASSERT_EQ(c.sync_allowed_hosts.size(), 4u);
  EXPECT_EQ(c.sync_allowed_hosts[0].host, "erp.example.com");
  EXPECT_EQ(c.sync_allowed_hosts[0].port, 0);
  EXPECT_EQ(c.sync_allowed_hosts[1].host, "10.0.0.7");
  EXPECT_EQ(c.sync_allowed_hosts[1].port, 8443);
  EXPECT_EQ(c.sync_allowed_hosts[2].host, "::1");
  EXPECT_EQ(c.sync_allowed_hosts[2].port, 8080);
  EXPECT_EQ(c.sync_allowed_hosts[3].host, "fe80::1");
  EXPECT_TRUE(Config::from_vars({{"SYNC_ALLOWED_HOSTS", ""}}).sync_allowed_hosts.empty());
  const std::string tail = " (expected host or host:port, separated by commas)";
  expect_invalid_vars(
      {{"SYNC_ALLOWED_HOSTS", "a.test,http://b.test"}},
      "SYNC_ALLOWED_HOSTS: \"http://b.test\" has a port that is not 1 to 65535" + tail);
  expect_invalid_vars({{"SYNC_ALLOWED_HOSTS", "a.test:0"}},
                      "SYNC_ALLOWED_HOSTS: \"a.test:0\" has a port that is not 1 to 65535" + tail);
  expect_invalid_vars({{"SYNC_ALLOWED_HOSTS", "user@a.test"}},
                      "SYNC_ALLOWED_HOSTS: \"user@a.test\" is not a host name" + tail);
  expect_invalid_vars({{"SYNC_ALLOWED_HOSTS", "[::1"}},
                      "SYNC_ALLOWED_HOSTS: \"[::1\" has no closing ]" + tail);
}

TEST(Config, EmptyFreeTextValuesKeepTheirDefaults) {
  const Config c = Config::from_vars({{"DB_HOST", ""}, {"STORAGE_PATH", ""}, {"DB_DATABASE", ""}});
  EXPECT_EQ(c.db_host, "127.0.0.1");
  EXPECT_EQ(c.storage_path, "storage");
  EXPECT_EQ(c.sqlite_path(), "storage/unity.sqlite");
}

TEST(Config, EveryValidationErrorNamesItsVariable) {
  expect_invalid_vars({{"DB_CONNECTION", "mysql"}},
                      "DB_CONNECTION must be \"sqlite\" or \"pgsql\", got \"mysql\"");
  expect_invalid_vars({{"DB_CONNECTION", ""}},
                      "DB_CONNECTION must be \"sqlite\" or \"pgsql\", got \"\"");
  expect_invalid_vars({{"QUEUE_CONNECTION", "redis"}},
                      "QUEUE_CONNECTION must be \"database\" or \"sync\", got \"redis\"");
  expect_invalid_vars({{"DB_QUEUE_RETRY_AFTER", "0"}},
                      "DB_QUEUE_RETRY_AFTER must be an integer from 1 to 86400, got \"0\"");
  expect_invalid_vars({{"DB_QUEUE_RETRY_AFTER", "86401"}},
                      "DB_QUEUE_RETRY_AFTER must be an integer from 1 to 86400, got \"86401\"");
  expect_invalid_vars({{"DB_QUEUE_RETRY_AFTER", "90s"}},
                      "DB_QUEUE_RETRY_AFTER must be an integer from 1 to 86400, got \"90s\"");
  expect_invalid_vars({{"DB_PORT", "0"}}, "DB_PORT must be an integer from 1 to 65535, got \"0\"");
  expect_invalid_vars({{"DB_PORT", "65536"}},
                      "DB_PORT must be an integer from 1 to 65535, got \"65536\"");
  expect_invalid_vars({{"DB_PORT", ""}}, "DB_PORT must be an integer from 1 to 65535, got \"\"");
  expect_invalid_vars({{"DB_PORT", " 5432"}},
                      "DB_PORT must be an integer from 1 to 65535, got \" 5432\"");
  expect_invalid_vars({{"DB_PORT", "99999999999999999999"}},
                      "DB_PORT must be an integer from 1 to 65535, got \"99999999999999999999\"");
  expect_invalid_vars({{"DB_BUSY_TIMEOUT_MS", "-1"}},
                      "DB_BUSY_TIMEOUT_MS must be an integer from 0 to 600000, got \"-1\"");
  expect_invalid_vars({{"DB_BUSY_TIMEOUT_MS", "600001"}},
                      "DB_BUSY_TIMEOUT_MS must be an integer from 0 to 600000, got \"600001\"");
  expect_invalid_vars({{"DB_QUEUE", ""}}, "DB_QUEUE must not be empty");
}

TEST(Config, QueueTableAndAppRoleMustBeSqlIdentifiers) {
  const std::string kRule =
      " must be an SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 characters), got ";
  expect_invalid_vars({{"DB_QUEUE_TABLE", "jobs; DROP TABLE x"}},
                      "DB_QUEUE_TABLE" + kRule + "\"jobs; DROP TABLE x\"");
  expect_invalid_vars({{"DB_QUEUE_TABLE", "1jobs"}}, "DB_QUEUE_TABLE" + kRule + "\"1jobs\"");
  expect_invalid_vars({{"DB_QUEUE_TABLE", ""}}, "DB_QUEUE_TABLE" + kRule + "\"\"");
  expect_invalid_vars({{"DB_APP_ROLE", "app-role"}}, "DB_APP_ROLE" + kRule + "\"app-role\"");
  const std::string long_name(64, 'a');
  expect_invalid_vars({{"DB_APP_ROLE", long_name}},
                      "DB_APP_ROLE" + kRule + "\"" + long_name + "\"");
  EXPECT_EQ(Config::from_vars({{"DB_APP_ROLE", std::string(63, 'a')}}).db_app_role,
            std::string(63, 'a'));
  EXPECT_EQ(Config::from_vars({{"DB_QUEUE_TABLE", "_Jobs2"}}).queue_table, "_Jobs2");
}

TEST(Config, SqlitePathIsDbDatabaseOnlyForSqlite) {
  EXPECT_EQ(Config::from_vars({{"DB_DATABASE", "/data/erp.sqlite"}}).sqlite_path(),
            "/data/erp.sqlite");
  EXPECT_EQ(Config::from_vars({{"DB_CONNECTION", "pgsql"}, {"DB_DATABASE", "erp"}}).sqlite_path(),
            "storage/unity.sqlite");
}

TEST(Config, PostgresConninfoQuotesEveryValue) {
  const Config c = Config::from_vars({{"DB_CONNECTION", "pgsql"},
                                      {"DB_HOST", "db host"},
                                      {"DB_PORT", "6543"},
                                      {"DB_DATABASE", "erp"},
                                      {"DB_USERNAME", "o'brien"},
                                      {"DB_PASSWORD", "p\\w 'x'"}});
  EXPECT_EQ(c.postgres_conninfo(),
            "host='db host' port='6543' dbname='erp' user='o\\'brien' password='p\\\\w \\'x\\''");
}

TEST(Config, PostgresConninfoDefaultsAndOmitsEmptyCredentials) {
  EXPECT_EQ(Config::from_vars({{"DB_CONNECTION", "pgsql"}}).postgres_conninfo(),
            "host='127.0.0.1' port='5432' dbname='unity'");
}

TEST(Config, PostgresConninfoIsDbUrlWhenSet) {
  const Config c = Config::from_vars(
      {{"DB_URL", "postgresql://u@h/erp?sslmode=require"}, {"DB_HOST", "ignored"}});
  EXPECT_EQ(c.postgres_conninfo(), "postgresql://u@h/erp?sslmode=require");
}

TEST(Config, LoadWithoutDotenvUsesDefaultsAndEnvironment) {
  TempDir dir;
  ScopedEnv queue("DB_QUEUE", "from-env");
  const Config c = Config::load(dir.path().string());
  EXPECT_EQ(c.queue_default, "from-env");
  EXPECT_EQ(c.raw.at("DB_QUEUE"), "from-env");
}

TEST(Config, EnvironmentOverridesDotenv) {
  TempDir dir;
  dir.write(".env", "DB_QUEUE=from-file\nDB_QUEUE_TABLE=file_jobs\nUNITY_CONFIG_TEST_ONLY=1\n");
  ScopedEnv queue("DB_QUEUE", "from-env");
  ScopedEnv table("DB_QUEUE_TABLE", nullptr);
  const Config c = Config::load(dir.path().string());
  EXPECT_EQ(c.queue_default, "from-env");
  EXPECT_EQ(c.queue_table, "file_jobs");
  EXPECT_EQ(c.raw.at("UNITY_CONFIG_TEST_ONLY"), "1");
}

TEST(Config, LoadValidatesTheMergedValues) {
  TempDir dir;
  dir.write(".env", "DB_CONNECTION=sqlite\n");
  ScopedEnv connection("DB_CONNECTION", "mysql");
  EXPECT_THROW(Config::load(dir.path().string()), Error);
}

TEST(Config, MalformedDotenvNamesTheFileAndLine) {
  TempDir dir;
  dir.write(".env", "A=1\nNOEQUALS\n");
  const std::string path = (dir.path() / ".env").string();
  try {
    Config::load(dir.path().string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ":2: expected \"=\" after \"NOEQUALS\"");
  }
}

TEST(Config, UnreadableDotenvIsAnError) {
  // chmod 000 does not stop root, so a directory named .env stands in for an unreadable file.
  TempDir dir;
  fs::create_directory(dir.path() / ".env");
  const std::string path = (dir.path() / ".env").string();
  try {
    Config::load(dir.path().string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), "cannot read " + path + ": Is a directory");
  }
}

// A malformed DB_URL was echoed with its password (libpq quotes the string or a bad token of it).
TEST(Redaction, MasksUriAndKeyValuePasswords) {
  EXPECT_EQ(redact_secrets("missing \"=\" after \"postgress://bob:s3cr3t@db/x\" in connection"),
            "missing \"=\" after \"postgress://bob:***@db/x\" in connection");
  EXPECT_EQ(redact_secrets("postgresql://bob:p@ss/w@db:5432/x?sslmode=require"),
            "postgresql://bob:***@db:5432/x?sslmode=require");
  EXPECT_EQ(redact_secrets("postgresql://db/x?user=bob&password=s3cr3t&sslmode=require"),
            "postgresql://db/x?user=bob&password=***&sslmode=require");
  EXPECT_EQ(redact_secrets("host=db password='s3 cr\\'et' user=bob"),
            "host=db password='***' user=bob");
  EXPECT_EQ(redact_secrets("host=db PASSWORD = s3cr3t sslpassword=k3y"),
            "host=db PASSWORD = *** sslpassword=***");
  EXPECT_EQ(redact_secrets("postgresql://bob@db/x has no password"),
            "postgresql://bob@db/x has no password");
}

TEST(Redaction, MasksTheConninfosPasswordWhereverItIsQuoted) {
  EXPECT_EQ(redact_conninfo("invalid percent-encoded token: \"s3cr%zz\"",
                            "postgresql://bob:s3cr%zz@db/x"),
            "invalid percent-encoded token: \"***\"");
  EXPECT_EQ(redact_conninfo("token \"a'b\" here", "host=db password='a\\'b'"),
            "token \"***\" here");
  EXPECT_EQ(redact_conninfo("got p@ss", "postgresql://bob:p%40ss@db/x"), "got ***");
  Config c = Config::from_vars(
      {{"DB_CONNECTION", "pgsql"}, {"DB_PASSWORD", "hunter2"}, {"SYNC_TOKEN", "tok-123"}});
  EXPECT_EQ(c.redact("a hunter2 b tok-123 c"), "a *** b *** c");
}

TEST(ConfigTest, AppKeysAreDecodedAndMaskedAndABadOneIsNamedWithoutItsValue) {
  const std::string key = secretbox::new_key(), old1 = secretbox::new_key(),
                    old2 = secretbox::new_key();
  const std::string text = secretbox::encode_key(key);
  Config c = Config::from_vars({{"APP_KEY", text},
                                {"APP_PREVIOUS_KEYS", secretbox::encode_key(old1) + " , ," +
                                                          secretbox::encode_key(old2) + " "}});
  EXPECT_EQ(c.app_key, key);
  EXPECT_EQ(c.app_previous_keys, (std::vector<std::string>{old1, old2}));
  EXPECT_EQ(c.redact("key " + text + " old " + secretbox::encode_key(old2)),
            "key base64:*** old base64:***");
  EXPECT_TRUE(Config::from_vars({{"APP_KEY", ""}}).app_key.empty());
  EXPECT_TRUE(Config::from_vars({}).app_previous_keys.empty());
  try {
    Config::from_vars({{"APP_KEY", "base64:c2VjcmV0LXZhbHVl"}});
    ADD_FAILURE() << "a short APP_KEY was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_TRUE(std::string(e.what()).starts_with("APP_KEY must be base64:")) << e.what();
    EXPECT_EQ(std::string(e.what()).find("c2VjcmV0LXZhbHVl"), std::string::npos) << e.what();
  }
  try {
    Config::from_vars({{"APP_PREVIOUS_KEYS", text + ",oops"}});
    ADD_FAILURE() << "a bad previous key was accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with("APP_PREVIOUS_KEYS (entry 2) must be"))
        << e.what();
  }
}

}  // namespace
}  // namespace unity
