#pragma once
// Configuration: `.env` in the working directory, overridden by the real environment
// (DESIGN.md "Configuration"). Names follow the seed.
//
// Config::load() reads and validates everything at start; a bad value throws
// Error(kInvalidArgument) whose message names the variable, e.g.
//   DB_CONNECTION must be "sqlite" or "pgsql", got "mysql"
// An unreadable or malformed `.env` throws kInvalidArgument naming the file and line.
// A missing `.env` is fine (defaults + environment).
//
// Validation (from_vars): DB_CONNECTION sqlite|pgsql; QUEUE_CONNECTION database|sync; DB_PORT
// 1..65535; DB_BUSY_TIMEOUT_MS 0..600000; DB_QUEUE_RETRY_AFTER 1..86400 (decimal integers);
// DB_QUEUE_TABLE and DB_APP_ROLE SQL identifiers [A-Za-z_][A-Za-z0-9_]* of at most 63 characters;
// DB_QUEUE non-empty; QUEUE_WORKER_HEARTBEAT_MS 100..600000; QUEUE_KEEP_COMPLETED_MINUTES
// 0..525600; SYNC_MAX_RESPONSE_MB 1..1024; IMPORT_MAX_COLUMNS 1..100000; IMPORT_MAX_MB 1..1024;
// SYNC_ALLOWED_HOSTS a list of host[:port] (see below; blanks around commas are allowed, an empty
// value allows nothing). These are checked whenever the variable is present, even empty. For the
// free text variables (DB_DATABASE, DB_URL, DB_HOST, DB_USERNAME, DB_PASSWORD, STORAGE_PATH,
// SYNC_TOKEN) an empty value counts as unset. Messages never contain DB_PASSWORD or SYNC_TOKEN.
// Thread-safety: Config is a value; load() reads the environment, so do not call it while another
// thread runs setenv().

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // QUEUE_WORKER_HEARTBEAT_MS (100..600000): how often a worker records itself in the worker
  // registry (queue/workers.h); it counts as dead after three periods without one.
  int queue_worker_heartbeat_ms = 5000;
  // QUEUE_KEEP_COMPLETED_MINUTES (0..525600): how long jobs that completed, failed for good or
  // were cancelled stay listed by `queue:jobs` (table finished_jobs); 0: removed at once.
  int queue_keep_completed_minutes = 0;

  std::string storage_path = "storage";  // STORAGE_PATH
  std::string sync_token;                // SYNC_TOKEN

  // SYNC_ALLOWED_HOSTS: the only hosts external sync may call (and send SYNC_TOKEN to), as
  // `host` or `host:port` separated by commas, e.g. "erp.example.com,10.0.0.7:8443,[::1]:8080".
  // A host is a DNS name or an IP address (IPv6 in brackets); names are compared without case,
  // exactly (no wildcards); an entry without a port allows every port. Unset: no sync endpoint
  // is allowed. See jobs/sync_endpoint.h for the address checks.
  struct AllowedHost {
    std::string host;  // lower case; an IPv6 address without its brackets
    int port = 0;      // 0: any port
  };
  std::vector<AllowedHost> sync_allowed_hosts;
  int sync_max_response_mb = 16;  // SYNC_MAX_RESPONSE_MB (1..1024): the largest response read
  int import_max_columns = 1000;  // IMPORT_MAX_COLUMNS (1..100000): fields per CSV record
  int import_max_mb = 200;        // IMPORT_MAX_MB (1..1024): an import uploaded over HTTP
  // OTEL_EXPORTER_OTLP_ENDPOINT: where `unity serve` and workers also send their spans, as
  // OTLP/HTTP JSON to <endpoint>/v1/traces (jobs/otlp_exporter.h); an http:// or https:// URL,
  // a trailing '/' dropped. Unset: spans are only stored (`unity trace`).
  std::string otel_endpoint;

  // APP_KEY: the key that seals the payloads of encrypted job types (core/secretbox.h), written
  // as "base64:<32 bytes in base64>" (`unity key:generate`); held here as its 32 raw bytes, empty
  // when unset. APP_PREVIOUS_KEYS: older keys, comma-separated, that still open what they
  // sealed (rotation). Both are checked at load whenever set: a malformed one is
  // kInvalidArgument naming the variable, never quoting the value.
  std::string app_key;
  std::vector<std::string> app_previous_keys;

  // Every variable as read (after .env + environment merge), for later layers' own settings.
  std::map<std::string, std::string> raw;

  // Reads `<dir>/.env` (if it exists) and the process environment; the environment wins.
  static Config load(const std::string& dir = ".");
  // Builds a Config from already-merged variables (tests use this; load() calls it).
  static Config from_vars(const std::map<std::string, std::string>& vars);

  // The libpq connection string: DB_URL as is when set, else
  // "host='127.0.0.1' port='5432' dbname='unity' user='...' password='...'" with every value
  // quoted per libpq (\' and \\ escaped); user and password are left out when empty.
  std::string postgres_conninfo() const;
  // The SQLite file path: DB_DATABASE when DB_CONNECTION=sqlite and it is set, else
  // "storage/unity.sqlite" (with pgsql, DB_DATABASE names the PostgreSQL database instead).
  std::string sqlite_path() const;

  // `text` with every secret of this configuration masked (redact_conninfo over
  // postgres_conninfo(), then DB_PASSWORD, SYNC_TOKEN and the base64 of APP_KEY and
  // APP_PREVIOUS_KEYS wherever they occur): for any message
  // that may quote them.
  std::string redact(std::string_view text) const;
};

// Secrets never appear in an error or a log line (DESIGN.md guarantee 11). Masks with "***", in
// `text`, the password of every URI's user info ("postgresql://bob:***@host/db") and the value of
// every key whose name contains "password" written key=value, quoted or not, in a libpq string or
// a URI query ("password=***", "?sslpassword=***&"). Over-masks rather than under-masks.
std::string redact_secrets(std::string_view text);
// redact_secrets(text), after masking every occurrence of each password that `conninfo` (a libpq
// URI or key=value string, well-formed or not) holds, as written and percent-decoded or
// unescaped: libpq quotes single bad tokens of a malformed string ("invalid percent-encoded
// token: \"s3cr%zz\"").
std::string redact_conninfo(std::string_view text, std::string_view conninfo);

// Parses `.env` text. Supports `KEY=value`, `export KEY=value`, blank lines, `# comments`,
// inline ` # comments` after unquoted values, 'single quotes' (literal), "double quotes" (with
// \n \t \" \\ escapes, may span lines) and ${OTHER} expansion in unquoted and double-quoted values
// (from earlier keys in the file, then the environment). Throws kInvalidArgument with
// "<source>:<line>: <reason>" for a malformed line.
// Details: keys are [A-Za-z_][A-Za-z0-9_]*; blanks around '=' are allowed; a later key wins; an
// unquoted value ends at the line end or at a '#' that begins it or follows a blank, and loses its
// trailing blanks; `\$` in double quotes is a literal '$', other backslashes stay as written; an
// unknown ${VAR} expands to ""; $VAR without braces is literal; a quoted value may be followed only
// by blanks and a comment; CRLF line ends and a UTF-8 byte order mark are accepted. Defined in
// dotenv.cc.
std::map<std::string, std::string> parse_dotenv(const std::string& text,
                                                const std::string& source = ".env");

}  // namespace unity
