#pragma once
// Configuration: `.env` in the working directory, overridden by the real environment
// (DESIGN.md "Configuration"). Names follow the seed.
//
// Config::load() reads and validates everything at start; a bad value throws
// Error(kInvalidArgument) whose message names the variable, e.g.
//   DB_CONNECTION must be "sqlite" or "pgsql", got "mysql"
// An unreadable or malformed `.env` throws kInvalidArgument naming the file and line.
// A missing `.env` is fine (defaults + environment).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace unity {

enum class DbConnection { kSqlite, kPgsql };
enum class QueueConnection { kDatabase, kSync };

struct Config {
  DbConnection db_connection = DbConnection::kSqlite;  // DB_CONNECTION=sqlite|pgsql
  // SQLite: DB_DATABASE is the file path (default storage/unity.sqlite, relative to the working
  // directory). PostgreSQL: DB_URL (a libpq URI or key=value string) or, when DB_URL is empty,
  // DB_HOST (127.0.0.1) / DB_PORT (5432) / DB_DATABASE (unity) / DB_USERNAME / DB_PASSWORD.
  std::string db_database;
  std::string db_url;
  std::string db_host = "127.0.0.1";
  int db_port = 5432;
  std::string db_username;
  std::string db_password;
  std::string db_app_role = "unity_app";  // DB_APP_ROLE: the restricted role RLS applies to
  int db_busy_timeout_ms = 5000;          // DB_BUSY_TIMEOUT_MS: SQLite lock wait

  QueueConnection queue_connection = QueueConnection::kDatabase;  // QUEUE_CONNECTION
  std::string queue_table = "jobs";                               // DB_QUEUE_TABLE
  std::string queue_default = "default";                          // DB_QUEUE
  int queue_retry_after_s = 90;                                   // DB_QUEUE_RETRY_AFTER

  std::string storage_path = "storage";  // STORAGE_PATH
  std::string sync_token;                // SYNC_TOKEN

  // Every variable as read (after .env + environment merge), for later layers' own settings.
  std::map<std::string, std::string> raw;

  // Reads `<dir>/.env` (if it exists) and the process environment; the environment wins.
  static Config load(const std::string& dir = ".");
  // Builds a Config from already-merged variables (tests use this; load() calls it).
  static Config from_vars(const std::map<std::string, std::string>& vars);

  // The libpq connection string for DB_URL or the DB_HOST... parts.
  std::string postgres_conninfo() const;
  // The SQLite file path (db_database or the default).
  std::string sqlite_path() const;
};

// Parses `.env` text. Supports `KEY=value`, `export KEY=value`, blank lines, `# comments`,
// inline ` # comments` after unquoted values, 'single quotes' (literal), "double quotes" (with
// \n \t \" \\ escapes, may span lines) and ${OTHER} expansion in unquoted and double-quoted values
// (from earlier keys in the file, then the environment). Throws kInvalidArgument with
// "<source>:<line>: <reason>" for a malformed line.
std::map<std::string, std::string> parse_dotenv(const std::string& text,
                                                const std::string& source = ".env");

}  // namespace unity
