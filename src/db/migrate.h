#pragma once
// Versioned migrations per dialect (`unity migrate`, `migrate:status`).
//
// Each driver embeds its numbered files (db/<driver>/migrations/NNNN_name.sql). A migration runs in
// its own transaction together with its row in schema_migrations (version, name, checksum,
// applied_at), so a failing file leaves nothing half-applied. Concurrent `migrate` runs are safe:
// each migration takes the driver's migration lock and re-checks inside its transaction.
// The checksum (FNV-1a 64 of the file) of every applied migration is compared on each run; a file
// that changed after it was applied stops migrate with kFailedPrecondition naming it.

#include <string>
#include <vector>

#include "db/connection.h"

namespace unity::db {

struct MigrationStatus {
  std::string version;   // "0001"
  std::string name;      // "0001_foundation"
  std::string checksum;  // of the embedded file
  bool applied = false;
  std::string applied_at;  // ISO 8601, empty when pending
  bool changed = false;    // applied with another checksum
};

class Migrator {
 public:
  // `conn` must act as Role::kOwner. `app_role` is DB_APP_ROLE; `queue_table` is DB_QUEUE_TABLE,
  // written {{queue_table}} in the migration files (the checksum covers the file as written).
  Migrator(Connection& conn, std::string app_role, std::string queue_table = "jobs");

  // Applies every pending migration in order; returns the names applied (empty: up to date).
  // Then prepares the app role (drivers with row-level security).
  std::vector<std::string> migrate();
  // Drops every table, then migrate().
  std::vector<std::string> fresh();
  // How many of this binary's migrations are not applied yet. Read-only, so the app role may ask;
  // a database never migrated counts every file.
  size_t pending_count();
  // Every known migration, applied or pending, plus applied ones this binary does not know.
  std::vector<MigrationStatus> status();

 private:
  void ensure_table();
  void verify_checksums();

  std::string render(std::string_view contents) const;

  Connection& conn_;
  std::string app_role_;
  std::string queue_table_;
};

// FNV-1a 64-bit of `text`, as 16 hex digits.
std::string checksum_of(std::string_view text);

}  // namespace unity::db
