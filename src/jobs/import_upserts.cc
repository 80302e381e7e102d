#include "jobs/import_upserts.h"

namespace unity::jobs {

std::optional<int64_t> find_customer_by_email(db::Connection& conn, const std::string& email) {
  auto row = conn.query_one(
      "SELECT id FROM customers WHERE tenant_id = $1 AND email IS NOT NULL AND "
      "lower(email) = lower($2)",
      {conn.require_tenant(), email});
  if (!row) return std::nullopt;
  return row->get<int64_t>(0);
}

bool update_customer_by_email(db::Connection& conn, const std::string& email,
                              const std::string& name, std::optional<int64_t> payment_terms_days,
                              const std::string& now) {
  auto id = find_customer_by_email(conn, email);
  if (!id) return false;
  if (payment_terms_days) {
    conn.execute(
        "UPDATE customers SET name = $1, payment_terms_days = $2, updated_at = $3 "
        "WHERE tenant_id = $4 AND id = $5",
        {name, *payment_terms_days, now, conn.require_tenant(), *id});
  } else {
    conn.execute("UPDATE customers SET name = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
                 {name, now, conn.require_tenant(), *id});
  }
  return true;
}

std::optional<int64_t> find_vendor_by_email(db::Connection& conn, const std::string& email) {
  auto row =
      conn.query_one("SELECT id FROM vendors WHERE tenant_id = $1 AND lower(email) = lower($2)",
                     {conn.require_tenant(), email});
  if (!row) return std::nullopt;
  return row->get<int64_t>(0);
}

bool update_vendor_by_email(db::Connection& conn, const std::string& email, const std::string& name,
                            const std::string& now) {
  auto id = find_vendor_by_email(conn, email);
  if (!id) return false;
  conn.execute("UPDATE vendors SET name = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
               {name, now, conn.require_tenant(), *id});
  return true;
}

}  // namespace unity::jobs
