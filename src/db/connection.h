#pragma once
// The storage seam (STYLE.md): one runtime-polymorphic Connection, one folder per driver
// (db/sqlite, db/postgres). Code above this layer never asks which database it is talking to; it
// asks capabilities(), or takes dialect-specific SQL from the driver's .sql files.
//
// Threading: a Connection is used by one thread at a time (open one per thread or worker slot).
// SQLite connections to one file are safe across threads and processes (WAL, busy timeout,
// BEGIN IMMEDIATE for write transactions); PostgreSQL connections are independent sessions.
//
// SQL: parameters are written $1, $2 … in both dialects (the SQLite driver maps them). Statements
// run through execute()/query() are prepared once per connection and cached by their text.
//
// Errors: every driver translates database errors into unity::Error codes in one function:
// busy/locked/serialization/connection lost → kUnavailable, unique violation → kAlreadyExists,
// foreign key violation → kNotFound, NOT NULL/CHECK/bad value → kInvalidArgument, insufficient
// privilege or a row-level security refusal → kPermissionDenied, the rest → kInternal.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/embedded_file.h"
#include "db/row.h"
#include "db/value.h"

namespace unity {
struct Config;

}

namespace unity::db {

enum class Dialect { kSqlite, kPostgres };

// What a driver can do; layers above branch on these, never on the dialect.
struct Capabilities {
  bool skip_locked = false;         // SELECT … FOR UPDATE SKIP LOCKED
  bool listen_notify = false;       // listen()/notify()/wait_notification()
  bool row_level_security = false;  // tenant isolation enforced by the server (Guarantee 5)
  bool concurrent_writers = false;  // more than one write transaction at a time
  bool data_version = false;        // data_version() tells when another connection committed
  bool copy_from = false;           // copy_rows(): COPY … FROM STDIN (PostgreSQL)
};

// Which database identity a connection acts as (Guarantee 5). kOwner owns the schema and runs
// migrations; kApp is the restricted role row-level security applies to. Same thing on SQLite.
enum class Role { kOwner, kApp };

struct Notification {
  std::string channel;
  std::string payload;
};

using RowCallback = std::function<void(const Row&)>;

// One row for copy_rows(): a value per column, nullopt for NULL.
using CopyRow = std::vector<std::optional<std::string>>;

class Connection {
 public:
  virtual ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual Dialect dialect() const = 0;
  virtual const Capabilities& capabilities() const = 0;
  // For messages: "sqlite storage/unity.sqlite", "postgres db=unity host=127.0.0.1".
  virtual std::string describe() const = 0;

  // Runs one or more ;-separated statements without parameters or results (DDL, migrations).
  virtual void execute_script(std::string_view sql) = 0;
  // Runs one prepared statement; returns the number of rows changed.
  virtual int64_t execute(std::string_view sql, const Params& params = {}) = 0;
  // Runs one prepared statement and streams each result row to `on_row`.
  virtual void query_each(std::string_view sql, const Params& params,
                          const RowCallback& on_row) = 0;
  // The whole result in memory.
  Rows query(std::string_view sql, const Params& params = {});
  // The first row, or nullopt.
  std::optional<Row> query_one(std::string_view sql, const Params& params = {});
  // The first column of the first row as an integer (throws kInternal if there is no row).
  int64_t query_int(std::string_view sql, const Params& params = {});

  // Tenant context (Guarantee 5). Data-layer code for tenant tables calls require_tenant(); on
  // PostgreSQL the driver also hands the id to the server's row-level security policies, so a
  // query run without it sees no tenant rows and cannot write any. Prefer TenantScope.
  void set_tenant(std::optional<int64_t> tenant_id);
  std::optional<int64_t> tenant() const { return tenant_; }
  // The current tenant; throws Error(kFailedPrecondition) when none is set.
  int64_t require_tenant() const;

  // LISTEN/NOTIFY, when capabilities().listen_notify; otherwise they throw kFailedPrecondition.
  virtual void listen(std::string_view channel);
  virtual void notify(std::string_view channel, std::string_view payload);
  // One statement that runs `insert_returning_id` (an INSERT … RETURNING id) and notifies
  // `channel` with the text of parameter $`payload_param`, for one round trip where a lone insert
  // must wake listeners; its first column is the id. A dialect fragment, as notify() is.
  virtual std::string insert_and_notify_sql(std::string_view insert_returning_id,
                                            std::string_view channel, int payload_param) const;
  // Waits up to `timeout` for one notification on a channel this connection listens to.
  virtual std::optional<Notification> wait_notification(std::chrono::milliseconds timeout);

  // In the current transaction, lets the commit return before it is durable, where the server
  // allows it (PostgreSQL: SET LOCAL synchronous_commit = off). For bookkeeping whose loss in a
  // server crash is harmless (a claim or an acknowledgement lost only re-runs a job). No-op else.
  virtual void relax_commit_durability() {}

  // A set of integer ids as ONE parameter, for `WHERE id IN <id_set_sql(n)>` (batched
  // acknowledgements without one statement per id): id_set_sql(2) is the SQL that expands
  // parameter $2, id_set_param(ids) its value.
  virtual std::string id_set_sql(int param) const = 0;
  virtual std::string id_set_param(const std::vector<int64_t>& ids) const = 0;
  // Bulk load, where capabilities().copy_from (PostgreSQL): streams `rows` into `table`'s
  // `columns` (in that order) with one COPY … FROM STDIN in the text format, in the current
  // transaction if any, and returns the number of rows loaded. Values are text the server
  // converts to each column's type (a NULL is nullopt); the driver escapes what the text format
  // gives a meaning to (backslash, tab, newline, carriage return), so any text round-trips
  // unchanged. A row whose width is not the columns' count, or a value with a NUL byte (which no
  // text column can hold), is kInvalidArgument before anything is sent; a value the column
  // refuses is kInvalidArgument from the server, like execute(). PostgreSQL refuses COPY FROM
  // into a table with row-level security, i.e. every tenant table (kFailedPrecondition): load a
  // temporary staging table and move the rows with INSERT … SELECT, which the policies check.
  // SQLite has no COPY and its fastest load is already a multi-row INSERT in a write
  // transaction, so it does not offer this: the default throws kFailedPrecondition and callers
  // branch on the capability.
  virtual int64_t copy_rows(std::string_view table, const std::vector<std::string>& columns,
                            const std::vector<CopyRow>& rows);
  // Changes whenever another connection commits to the database (capabilities().data_version);
  // a cheap way to wake up when work arrives without LISTEN/NOTIFY. Throws kFailedPrecondition
  // where unsupported.
  virtual int64_t data_version();

  // Schema management, used by db/migrate.h. The driver supplies its dialect's numbered
  // migration files (embedded at build time), drops everything for `migrate --fresh`, takes the
  // lock that keeps two concurrent `migrate` runs from applying the same file (called inside each
  // migration's transaction), and, after migrating, creates and grants the restricted app role
  // where the server has one (kPermissionDenied if the owner may not create it and it is missing).
  virtual const std::vector<EmbeddedFile>& migration_files() const = 0;
  virtual void drop_all() = 0;
  virtual void lock_for_migration() {}
  virtual void prepare_app_role(const std::string& /*role*/) {}

  // Transaction depth: 0 outside, 1 in a transaction, 2+ inside savepoints. Use Transaction.
  int transaction_depth() const { return depth_; }

 protected:
  Connection() = default;
  // Driver hooks used by Transaction (see transaction.h): begin the outermost transaction,
  // commit it, roll it back. Savepoints are plain SQL, handled here.
  virtual void begin_outermost(bool write) = 0;
  virtual void commit_outermost() = 0;
  virtual void rollback_outermost() = 0;
  // Hands the tenant id to the server where the server enforces it (PostgreSQL).
  virtual void apply_tenant(std::optional<int64_t> tenant_id) = 0;

 private:
  friend class Transaction;
  void tx_begin(bool write);
  void tx_commit();
  void tx_rollback() noexcept;

  int depth_ = 0;
  std::optional<int64_t> tenant_;
};

// Opens a connection for `config` (DB_CONNECTION picks the driver) acting as `role`.
// Throws kUnavailable when the database cannot be reached or opened (the message says which and
// what to check), kFailedPrecondition when the app role is missing (run `unity migrate`).
// With `create` false, a missing SQLite file is kFailedPrecondition ("no database at ...: run
// `unity migrate`") and neither it nor its folder is created (commands other than migrate).
std::unique_ptr<Connection> open_connection(const Config& config, Role role = Role::kApp,
                                            bool create = true);

// The app role's connection for a command or tool that reads and writes data: a database whose
// schema is behind this binary is refused (kFailedPrecondition: "… run `unity migrate` first"),
// and neither a missing SQLite file nor its folder is created.
std::unique_ptr<Connection> open_app_connection(const Config& config);

// Opens a fresh connection each call: how the queue's worker and the HTTP server get theirs, so
// that only the command line (and tests) choose a driver. Thread-safe. Being for long-running
// services, its SQLite connections checkpoint the WAL on a background thread
// (SqliteOptions::background_checkpoint) instead of inside a writer's COMMIT.
using ConnectionFactory = std::function<std::unique_ptr<Connection>()>;
// open_connection(config, role) as a factory; `config` must outlive it.
ConnectionFactory connection_factory(const Config& config, Role role = Role::kApp);

// Sets a connection's tenant for a scope and restores the previous one after.
class TenantScope {
 public:
  TenantScope(Connection& conn, int64_t tenant_id);
  ~TenantScope();
  TenantScope(const TenantScope&) = delete;
  TenantScope& operator=(const TenantScope&) = delete;

 private:
  Connection& conn_;
  std::optional<int64_t> previous_;
};

}  // namespace unity::db
