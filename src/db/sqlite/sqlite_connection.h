#pragma once
// The SQLite driver: one file, WAL journal, foreign keys on, a busy timeout, BEGIN IMMEDIATE for
// write transactions (so two writers queue on the lock instead of failing on upgrade). Safe with
// one connection per thread and any number of processes on the same file. No row-level security:
// tenant isolation is enforced by the data layer (Connection::require_tenant).

#include <memory>
#include <string>

#include "db/connection.h"

namespace unity::db {

struct SqliteOptions {
  std::string path;               // the database file; its folder must exist and be writable
  int busy_timeout_ms = 5000;     // how long a statement waits for another writer's lock
  bool synchronous_full = false;  // synchronous=FULL instead of NORMAL (WAL: NORMAL is crash-safe)
  bool create_if_missing = true;  // false: a missing file is an error, never created
  // WAL checkpoints on a background thread instead of inside the COMMIT that fills the WAL
  // (db/sqlite/checkpointer.h): for the connections of long-running processes.
  bool background_checkpoint = false;
};

// Throws Error(kUnavailable) naming the path when the file cannot be opened or written.
std::unique_ptr<Connection> open_sqlite(const SqliteOptions& options);

}  // namespace unity::db
