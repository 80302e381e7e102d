#include "db/connection.h"

#include <string>

#include "core/error.h"
#include "db/transaction.h"

namespace unity::db {

Rows Connection::query(std::string_view sql, const Params& params) {
  std::vector<Row> rows;
  query_each(sql, params, [&rows](const Row& r) { rows.push_back(r); });
  return Rows(std::move(rows));
}

std::optional<Row> Connection::query_one(std::string_view sql, const Params& params) {
  std::optional<Row> first;
  query_each(sql, params, [&first](const Row& r) {
    if (!first) first = r;
  });
  return first;
}

int64_t Connection::query_int(std::string_view sql, const Params& params) {
  auto row = query_one(sql, params);
  if (!row) throw internal_error("query returned no row: " + std::string(sql));
  return row->get<int64_t>(0);
}

void Connection::set_tenant(std::optional<int64_t> tenant_id) {
  apply_tenant(tenant_id);
  tenant_ = tenant_id;
}

int64_t Connection::require_tenant() const {
  if (!tenant_) {
    throw failed_precondition("no tenant context: tenant data needs a tenant (pass --tenant=ID)");
  }
  return *tenant_;
}

void Connection::listen(std::string_view) {
  throw failed_precondition(describe() + " does not support LISTEN");
}
void Connection::notify(std::string_view, std::string_view) {
  throw failed_precondition(describe() + " does not support NOTIFY");
}
std::string Connection::insert_and_notify_sql(std::string_view, std::string_view, int) const {
  throw failed_precondition(describe() + " does not support NOTIFY");
}
std::optional<Notification> Connection::wait_notification(std::chrono::milliseconds) {
  throw failed_precondition(describe() + " does not support LISTEN/NOTIFY");
}

int64_t Connection::data_version() {
  throw failed_precondition(describe() + " has no data_version");
}

int64_t Connection::copy_rows(std::string_view, const std::vector<std::string>&,
                              const std::vector<CopyRow>&) {
  throw failed_precondition(describe() + " has no COPY: load rows with a multi-row INSERT");
}

void Connection::tx_begin(bool write) {
  if (depth_ == 0) {
    begin_outermost(write);
  } else {
    execute_script("SAVEPOINT unity_sp_" + std::to_string(depth_));
  }
  ++depth_;
}

void Connection::tx_commit() {
  if (depth_ == 1) {
    try {
      commit_outermost();
    } catch (...) {
      depth_ = 0;
      try {
        rollback_outermost();
      } catch (...) {
      }
      throw;
    }
  } else {
    execute_script("RELEASE SAVEPOINT unity_sp_" + std::to_string(depth_ - 1));
  }
  --depth_;
}

void Connection::tx_rollback() noexcept {
  // Rolling back must not throw from a destructor; a failure here means the connection is gone,
  // and the server rolls back on its own.
  try {
    if (depth_ == 1) {
      rollback_outermost();
    } else {
      const std::string sp = "unity_sp_" + std::to_string(depth_ - 1);
      execute_script("ROLLBACK TO SAVEPOINT " + sp + "; RELEASE SAVEPOINT " + sp);
    }
  } catch (...) {
  }
  --depth_;
}

Transaction::Transaction(Connection& conn, TxMode mode) : conn_(conn) {
  conn_.tx_begin(mode == TxMode::kWrite);
}

Transaction::~Transaction() {
  if (active_) conn_.tx_rollback();
}

void Transaction::commit() {
  if (!active_) throw internal_error("commit of a finished transaction");
  active_ = false;
  conn_.tx_commit();
}

void Transaction::rollback() {
  if (!active_) return;
  active_ = false;
  conn_.tx_rollback();
}

TenantScope::TenantScope(Connection& conn, int64_t tenant_id)
    : conn_(conn), previous_(conn.tenant()) {
  conn_.set_tenant(tenant_id);
}

TenantScope::~TenantScope() {
  try {
    conn_.set_tenant(previous_);
  } catch (...) {
  }
}

}  // namespace unity::db
