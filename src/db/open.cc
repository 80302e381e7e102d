#include <filesystem>
#include <system_error>

#include "core/config.h"
#include "core/error.h"
#include "db/connection.h"
#include "db/migrate.h"
#include "db/postgres/pg_connection.h"
#include "db/sqlite/sqlite_connection.h"

namespace unity::db {

namespace {

std::unique_ptr<Connection> open_for(const Config& config, Role role, bool create,
                                     bool background_checkpoint) {
  if (config.db_connection == DbConnection::kPgsql) {
    PostgresOptions o;
    o.conninfo = config.postgres_conninfo();
    if (role == Role::kApp) o.role = config.db_app_role;
    return open_postgres(o);
  }
  SqliteOptions o;
  o.path = config.sqlite_path();
  o.create_if_missing = create;
  if (!create && !std::filesystem::exists(o.path)) {
    throw failed_precondition("no database at '" + o.path +
                              "' (DB_DATABASE): run `unity migrate` to create it");
  }
  // The embedded database lives under storage/ by default: make its folder on first use.
  const auto folder = std::filesystem::path(o.path).parent_path();
  std::error_code ec;
  if (!folder.empty() && !std::filesystem::exists(folder, ec)) {
    std::filesystem::create_directories(folder, ec);
    if (ec) {
      throw unavailable("cannot create folder '" + folder.string() + "' for the SQLite database: " +
                        ec.message() + " (set DB_DATABASE to a writable path)");
    }
  }
  o.busy_timeout_ms = config.db_busy_timeout_ms;
  o.background_checkpoint = background_checkpoint;
  return open_sqlite(o);
}

}  // namespace

std::unique_ptr<Connection> open_connection(const Config& config, Role role, bool create) {
  return open_for(config, role, create, /*background_checkpoint=*/false);
}

std::unique_ptr<Connection> open_app_connection(const Config& config) {
  auto conn = open_connection(config, Role::kApp, /*create=*/false);
  const size_t pending = Migrator(*conn, config.db_app_role, config.queue_table).pending_count();
  if (pending > 0) {
    throw failed_precondition("the database schema is not up to date (" + std::to_string(pending) +
                              " pending migrations): run `unity migrate` first");
  }
  return conn;
}

ConnectionFactory connection_factory(const Config& config, Role role) {
  return [&config, role] {
    return open_for(config, role, /*create=*/true, /*background_checkpoint=*/true);
  };
}

}  // namespace unity::db
