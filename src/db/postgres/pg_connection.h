#pragma once
// The PostgreSQL driver, on libpq. Its own CMake library (unity_db_postgres), so code that needs
// only SQLite never links libpq.
//
// - Statements are prepared once per session and cached by their text; results are streamed row by
//   row (single-row mode), so a large scan does not sit in memory.
// - Reconnects: when the server restarts, the next call outside a transaction reconnects (retrying
//   for up to `reconnect_timeout_ms`), prepares its statements again, restores the role and the
//   tenant, and runs once more. Inside a transaction the call throws kUnavailable and the
//   transaction is lost (the server rolled it back); the next transaction reconnects.
//   A statement that was sent before the connection dropped may have committed on the server:
//   autocommit statements are retried only when nothing was received for them.
// - Role::kApp sessions run `SET ROLE <app_role>` after connecting, so row-level security applies
//   to them even when DB_URL names the schema owner (Guarantee 5).
// - LISTEN/NOTIFY: listen(), notify(), wait_notification() on the same session.

#include <memory>
#include <string>

#include "db/connection.h"

namespace unity::db {

struct PostgresOptions {
  std::string conninfo;              // libpq URI or key=value string
  std::optional<std::string> role;   // SET ROLE after connect (the app role), none for the owner
  int reconnect_timeout_ms = 10000;  // how long a reconnect keeps trying
};

// Throws Error(kUnavailable) when the server cannot be reached (the message says where and what to
// check) and kFailedPrecondition when the role is missing (run `unity migrate`).
std::unique_ptr<Connection> open_postgres(const PostgresOptions& options);

// Quotes an identifier for PostgreSQL ("my role" → "\"my role\"").
std::string pg_quote_identifier(std::string_view name);
// `text` as an SQL string literal ('it''s'), for the few statements built with a constant.
std::string pg_quote_literal(std::string_view text);

}  // namespace unity::db
