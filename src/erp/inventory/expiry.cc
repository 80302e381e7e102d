// The daily expiry scan (DESIGN.md "Domain rules"): StockExpiring once per batch and severity.
#include <chrono>

#include "core/error.h"
#include "db/transaction.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"

namespace unity::erp::inventory {

namespace {

std::chrono::sys_days day_of(const std::string& date) {
  return std::chrono::floor<std::chrono::days>(parse_iso8601(date));
}

ExpiringBatch expiring_from(const db::Row& r, std::chrono::sys_days today) {
  ExpiringBatch e;
  e.batch_id = r.get<int64_t>(0);
  e.product_id = r.get<int64_t>(1);
  e.sku = r.get<std::string>(2);
  e.batch = r.get<std::string>(3);
  e.location = r.get<std::string>(4);
  e.quantity_remaining = Decimal::parse(r.get<std::string>(5));
  e.expiry_date = r.get<std::string>(6).substr(0, 10);
  e.days_left = (day_of(e.expiry_date) - today).count();
  e.severity = expiry_severity(e.days_left);
  return e;
}

}  // namespace

std::string expiry_severity(int64_t days_left) {
  if (days_left <= 7) return "critical";
  if (days_left <= 14) return "warning";
  return "info";
}

std::vector<ExpiringBatch> InventoryService::check_expiry(const std::string& as_of, int days) {
  const int64_t tenant = conn_.require_tenant();
  check_date("as_of", as_of);
  if (days < 0 || days > 3650)
    throw invalid_argument("days must be 0 to 3650, got " + std::to_string(days));
  const std::chrono::sys_days today = day_of(as_of);
  db::Transaction tx(conn_);
  std::vector<ExpiringBatch> candidates;
  conn_.query_each(
      "SELECT b.id, b.product_id, p.sku, b.batch, l.code, b.quantity_remaining, b.expiry_date "
      "FROM stock_batches b JOIN products p ON p.id = b.product_id "
      "JOIN locations l ON l.id = b.location_id "
      "WHERE b.tenant_id = $1 AND b.expiry_date IS NOT NULL AND b.expiry_date <= $2 "
      "AND b.quantity_remaining <> $3 AND p.deleted_at IS NULL ORDER BY b.expiry_date, b.id",
      {tenant, format_iso8601(today + std::chrono::days(days)).substr(0, 10), kDbZero},
      [&](const db::Row& r) { candidates.push_back(expiring_from(r, today)); });
  std::vector<ExpiringBatch> raised;
  const std::string now = format_iso8601(clock_.now());
  for (auto& e : candidates) {
    if (conn_.execute("INSERT INTO stock_expiry_alerts (tenant_id, batch_id, severity, created_at) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id, severity) DO NOTHING",
                      {tenant, e.batch_id, e.severity, now}) == 0) {
      continue;
    }
    events_.dispatch(conn_, StockExpiring(events::new_event_meta(tenant, std::nullopt, clock_), e));
    raised.push_back(std::move(e));
  }
  tx.commit();
  return raised;
}

}  // namespace unity::erp::inventory
