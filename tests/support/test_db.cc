#include "support/test_db.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "core/error.h"
#include "db/migrate.h"
#include "db/postgres/pg_connection.h"

namespace unity::testing {

namespace {

std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "unity-test.XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw internal_error("mkdtemp failed");
  return tmpl;
}

// postgresql://user@host:port/postgres → the same URL naming database `name`.
std::string url_with_database(const std::string& url, const std::string& name) {
  auto slash = url.rfind('/');
  auto query = url.find('?', slash);
  return url.substr(0, slash + 1) + name + (query == std::string::npos ? "" : url.substr(query));
}

}  // namespace

std::string driver_name(Driver d) { return d == Driver::kSqlite ? "sqlite" : "postgres"; }

std::string postgres_admin_url() {
  const char* url = std::getenv("UNITY_TEST_PG_URL");
  return url ? url : "";
}

bool postgres_available() { return !postgres_admin_url().empty(); }

int pg_ctl(const std::string& args) {
  const char* ctl = std::getenv("UNITY_TEST_PG_CTL");
  if (!ctl) return -1;
  std::string cmd = std::string(ctl) + " " + args + " >/dev/null 2>&1";
  return std::system(cmd.c_str());
}

std::unique_ptr<TestDatabase> TestDatabase::create(Driver driver, bool migrate) {
  static std::atomic<int> counter{0};
  std::unique_ptr<TestDatabase> t(new TestDatabase());
  t->driver_ = driver;
  t->dir_ = make_temp_dir();
  std::map<std::string, std::string> vars;
  vars["STORAGE_PATH"] = t->dir_ + "/storage";
  if (driver == Driver::kSqlite) {
    vars["DB_CONNECTION"] = "sqlite";
    vars["DB_DATABASE"] = t->dir_ + "/unity.sqlite";
  } else {
    t->pg_database_ =
        "unity_t_" + std::to_string(getpid()) + "_" + std::to_string(counter.fetch_add(1));
    auto admin = db::open_postgres({postgres_admin_url(), std::nullopt, 10000});
    // CREATE DATABASE copies template1 and fails while any other session (autovacuum, another
    // test's CREATE DATABASE) is connected to it: a passing condition, so try again.
    for (int attempt = 1;; ++attempt) {
      try {
        admin->execute_script("CREATE DATABASE " + t->pg_database_);
        break;
      } catch (const Error&) {
        if (attempt == 20) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(100 * attempt));
      }
    }
    vars["DB_CONNECTION"] = "pgsql";
    vars["DB_URL"] = url_with_database(postgres_admin_url(), t->pg_database_);
  }
  t->config_ = Config::from_vars(vars);
  if (migrate) {
    auto owner = t->owner();
    db::Migrator(*owner, t->config_.db_app_role, t->config_.queue_table).migrate();
  }
  return t;
}

TestDatabase::~TestDatabase() {
  try {
    if (!pg_database_.empty()) {
      auto admin = db::open_postgres({postgres_admin_url(), std::nullopt, 10000});
      admin->execute_script("DROP DATABASE IF EXISTS " + pg_database_ + " WITH (FORCE)");
    }
  } catch (...) {
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::unique_ptr<db::Connection> TestDatabase::owner() const {
  return db::open_connection(config_, db::Role::kOwner);
}

std::unique_ptr<db::Connection> TestDatabase::app() const {
  return db::open_connection(config_, db::Role::kApp);
}

std::map<std::string, std::string> TestDatabase::cli_env() const {
  std::map<std::string, std::string> e{{"STORAGE_PATH", config_.storage_path}};
  if (driver_ == Driver::kSqlite) {
    e["DB_CONNECTION"] = "sqlite";
    e["DB_DATABASE"] = config_.db_database;
  } else {
    e["DB_CONNECTION"] = "pgsql";
    e["DB_URL"] = config_.db_url;
  }
  return e;
}

std::string TestDatabase::env_for_cli() const {
  std::string env;
  for (const auto& [key, value] : cli_env()) {
    env += (env.empty() ? "" : " ") + key + "='" + value + "'";
  }
  return env;
}

}  // namespace unity::testing
