#pragma once
// RAII transaction. The outermost Transaction on a connection begins a real transaction; a
// Transaction opened while another is active becomes a savepoint, so a nested piece of work can
// roll back alone. Destruction without commit() rolls back (also during stack unwinding).
//
//   db::Transaction tx(conn);          // write transaction (SQLite: BEGIN IMMEDIATE)
//   conn.execute("INSERT …", {...});
//   tx.commit();
//
// Errors: commit() throws what the driver throws (kUnavailable on a busy or lost database); after
// a failed commit the transaction is rolled back. Not thread-safe (like the connection).

#include "db/connection.h"

namespace unity::db {

enum class TxMode { kWrite, kRead };

class Transaction {
 public:
  explicit Transaction(Connection& conn, TxMode mode = TxMode::kWrite);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  void commit();
  void rollback();
  bool active() const { return active_; }
  Connection& connection() { return conn_; }

 private:
  Connection& conn_;
  bool active_ = true;
};

}  // namespace unity::db
