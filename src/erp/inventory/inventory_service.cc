#include "erp/inventory/inventory_service.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "erp/catalog/catalog_service.h"
#include "erp/input.h"

namespace unity::erp::inventory {

namespace {

// A live product of the connection's tenant by SKU: its id, or kNotFound.
int64_t load_product_by_sku_id(db::Connection& conn, const std::string& sku) {
  auto p = catalog::load_product_by_sku(conn, sku);
  if (!p) throw not_found("product with SKU " + quote_for_message(sku) + " not found");
  return p->id;
}

Decimal sum_remaining(db::Connection& conn, const std::string& sql, const db::Params& params) {
  Decimal total;
  conn.query_each(sql, params,
                  [&](const db::Row& r) { total += Decimal::parse(r.get<std::string>(0)); });
  return total;
}

}  // namespace

struct InventoryService::Locked {
  int64_t id = 0;
  std::string sku;
  std::string name;
  Decimal cost;
  Decimal reorder_level;
  bool low_stock_flag = false;
};

Receipt Receipt::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"sku", "location", "quantity", "unit_cost", "batch", "expiry_date"});
  Receipt r;
  r.sku = require_string(data, "sku");
  r.location = optional_string(data, "location").value_or(kMainLocation);
  r.quantity = require_decimal(data, "quantity");
  r.unit_cost = optional_decimal(data, "unit_cost");
  r.batch = optional_string(data, "batch").value_or("");
  r.expiry_date = optional_string(data, "expiry_date");
  return r;
}

Adjustment Adjustment::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"sku", "location", "quantity", "reason"});
  Adjustment a;
  a.sku = require_string(data, "sku");
  a.location = optional_string(data, "location").value_or(kMainLocation);
  a.quantity = require_decimal(data, "quantity");
  a.reason = optional_string(data, "reason").value_or("adjustment");
  return a;
}

InventoryService::InventoryService(db::Connection& conn, events::EventDispatcher& events,
                                   std::optional<int64_t> user_id, const Clock& clock)
    : conn_(conn), events_(events), user_id_(user_id), clock_(clock) {}

Location InventoryService::location(const std::string& code) {
  const int64_t tenant = conn_.require_tenant();
  const std::string sql = "SELECT id, code, name FROM locations WHERE tenant_id = $1 AND code = $2";
  auto row = conn_.query_one(sql, {tenant, code});
  if (!row && code == kMainLocation) {
    // Concurrent first uses may race: the unique (tenant_id, code) keeps one.
    conn_.execute(
        "INSERT INTO locations (tenant_id, code, name, created_at) VALUES ($1, $2, 'Main', $3) "
        "ON CONFLICT (tenant_id, code) DO NOTHING",
        {tenant, code, format_iso8601(clock_.now())});
    row = conn_.query_one(sql, {tenant, code});
  }
  if (!row) throw not_found("location " + quote_for_message(code) + " not found");
  return {row->get<int64_t>(0), row->get<std::string>(1), row->get<std::string>(2)};
}

Location InventoryService::create_location(const std::string& code, const std::string& name) {
  const int64_t tenant = conn_.require_tenant();
  check_text("code", code, 32);
  check_text("name", name, 200);
  try {
    const int64_t id = conn_.query_int(
        "INSERT INTO locations (tenant_id, code, name, created_at) VALUES ($1, $2, $3, $4) "
        "RETURNING id",
        {tenant, code, name, format_iso8601(clock_.now())});
    return {id, code, name};
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kAlreadyExists) {
      throw already_exists("location " + quote_for_message(code) + " already exists");
    }
    throw;
  }
}

InventoryService::Locked InventoryService::lock_product(int64_t product_id) {
  const int64_t tenant = conn_.require_tenant();
  // A no-op update takes the row lock (PostgreSQL), so stock changes of one product serialise.
  if (conn_.execute("UPDATE products SET low_stock_flag = low_stock_flag "
                    "WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
                    {tenant, product_id}) == 0) {
    throw not_found("product " + std::to_string(product_id) + " not found");
  }
  auto r = conn_.query_one(
      "SELECT id, sku, name, cost, reorder_level, low_stock_flag FROM products "
      "WHERE tenant_id = $1 AND id = $2",
      {tenant, product_id});
  return {r->get<int64_t>(0),
          r->get<std::string>(1),
          r->get<std::string>(2),
          Decimal::parse(r->get<std::string>(3)),
          Decimal::parse(r->get<std::string>(4)),
          r->get<int64_t>(5) != 0};
}

int64_t InventoryService::insert_batch(const Locked& p, const Location& loc,
                                       const std::string& batch, Decimal quantity,
                                       Decimal unit_cost, const std::optional<std::string>& expiry,
                                       const std::string& now) {
  return conn_.query_int(
      "INSERT INTO stock_batches (tenant_id, product_id, location_id, batch, quantity_received, "
      "quantity_remaining, unit_cost, received_at, expiry_date) "
      "VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id",
      {conn_.require_tenant(), p.id, loc.id, batch, db_decimal(quantity), db_decimal(unit_cost),
       now, db::opt_value(expiry)});
}

int64_t InventoryService::record(const Locked& p, const Location& loc,
                                 std::optional<int64_t> batch_id, Decimal quantity,
                                 Decimal unit_cost, const std::string& reason,
                                 const std::string& reference_type, const std::string& reference_id,
                                 const std::string& now) {
  const int64_t tenant = conn_.require_tenant();
  const int64_t id = conn_.query_int(
      "INSERT INTO stock_movements (tenant_id, product_id, location_id, batch_id, quantity, "
      "unit_cost, reason, reference_type, reference_id, occurred_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
      {tenant, p.id, loc.id, db::opt_value(batch_id), db_decimal(quantity), db_decimal(unit_cost),
       reason, reference_type.empty() ? db::kNull : db::Value(reference_type),
       reference_id.empty() ? db::kNull : db::Value(reference_id), now});
  events_.dispatch(conn_, StockMovementRecorded(events::new_event_meta(tenant, user_id_, clock_),
                                                {id, p.id, p.sku, loc.code, batch_id, quantity,
                                                 unit_cost, reason, reference_type, reference_id}));
  return id;
}

MovementResult InventoryService::put_in(const Locked& p, const Location& loc, Decimal quantity,
                                        Decimal unit_cost, const std::string& batch,
                                        const std::optional<std::string>& expiry,
                                        const std::string& reason,
                                        const std::string& reference_type,
                                        const std::string& reference_id) {
  const std::string now = format_iso8601(clock_.now());
  MovementResult out;
  out.cost = line_total(quantity, unit_cost);  // the batch's value is bounded like a line total
  out.batch_id = insert_batch(p, loc, batch, quantity, unit_cost, expiry, now);
  out.movement_ids.push_back(
      record(p, loc, out.batch_id, quantity, unit_cost, reason, reference_type, reference_id, now));
  out.on_hand = on_hand(p.id);
  if (out.on_hand > kMaxAmount) {  // the caller's transaction rolls the batch back
    throw invalid_argument("receiving " + quantity.to_string() + " of " + quote_for_message(p.sku) +
                           " would take its on-hand to " + out.on_hand.to_string() +
                           ", above the limit of " + kMaxAmount.to_string(0));
  }
  check_low_stock(p, loc, out.on_hand, /*decreased=*/false);
  return out;
}

MovementResult InventoryService::take_out(const Locked& p, const Location& loc, Decimal quantity,
                                          const std::string& reason,
                                          const std::string& reference_type,
                                          const std::string& reference_id) {
  const int64_t tenant = conn_.require_tenant();
  struct Slice {
    int64_t id;
    Decimal remaining, unit_cost;
  };
  std::vector<Slice> fifo;
  Decimal available;
  conn_.query_each(
      "SELECT id, quantity_remaining, unit_cost FROM stock_batches WHERE tenant_id = $1 AND "
      "product_id = $2 AND location_id = $3 AND quantity_remaining <> $4 ORDER BY received_at, id",
      {tenant, p.id, loc.id, kDbZero}, [&](const db::Row& r) {
        fifo.push_back({r.get<int64_t>(0), Decimal::parse(r.get<std::string>(1)),
                        Decimal::parse(r.get<std::string>(2))});
        available += fifo.back().remaining;
      });
  if (available < quantity) {
    throw failed_precondition("not enough stock of " + quote_for_message(p.sku) + " at " +
                              loc.code + ": " + available.to_string() + " on hand, " +
                              quantity.to_string() + " requested");
  }
  const std::string now = format_iso8601(clock_.now());
  MovementResult out;
  Decimal left = quantity;
  for (const Slice& s : fifo) {
    if (left.is_zero()) break;
    const Decimal take = s.remaining < left ? s.remaining : left;
    conn_.execute(
        "UPDATE stock_batches SET quantity_remaining = $1 WHERE tenant_id = $2 AND id = $3",
        {db_decimal(s.remaining - take), tenant, s.id});
    out.movement_ids.push_back(
        record(p, loc, s.id, -take, s.unit_cost, reason, reference_type, reference_id, now));
    out.cost += take * s.unit_cost;
    left -= take;
  }
  out.on_hand = on_hand(p.id);
  check_low_stock(p, loc, out.on_hand, /*decreased=*/true);
  return out;
}

void InventoryService::check_low_stock(const Locked& p, const Location& loc, Decimal on_hand,
                                       bool decreased) {
  const int64_t tenant = conn_.require_tenant();
  if (on_hand >= p.reorder_level) {
    if (p.low_stock_flag) {
      conn_.execute("UPDATE products SET low_stock_flag = 0 WHERE tenant_id = $1 AND id = $2",
                    {tenant, p.id});
    }
    return;
  }
  if (!decreased || p.low_stock_flag) return;
  conn_.execute("UPDATE products SET low_stock_flag = 1 WHERE tenant_id = $1 AND id = $2",
                {tenant, p.id});
  events_.dispatch(conn_, LowStockDetected(events::new_event_meta(tenant, user_id_, clock_), p.id,
                                           p.sku, p.name, on_hand, p.reorder_level, loc.code));
}

MovementResult InventoryService::receive(const Receipt& r) {
  conn_.require_tenant();
  check_positive("quantity", r.quantity);
  if (r.unit_cost) check_non_negative("unit_cost", *r.unit_cost);
  if (!r.batch.empty()) check_text("batch", r.batch, 64);
  if (r.expiry_date) check_date("expiry_date", *r.expiry_date);
  db::Transaction tx(conn_);
  auto product = load_product_by_sku_id(conn_, r.sku);
  Locked p = lock_product(product);
  Location loc = location(r.location);
  const std::string batch =
      r.batch.empty() ? "RCV-" + format_iso8601(clock_.now()).substr(0, 10) : r.batch;
  MovementResult out = put_in(p, loc, r.quantity, r.unit_cost.value_or(p.cost), batch,
                              r.expiry_date, "receipt", r.reference_type, r.reference_id);
  tx.commit();
  return out;
}

MovementResult InventoryService::adjust(const Adjustment& a) {
  conn_.require_tenant();
  if (a.quantity.is_zero()) throw invalid_argument("field \"quantity\" must not be zero");
  check_amount("quantity", a.quantity);
  check_text("reason", a.reason, 200);
  db::Transaction tx(conn_);
  Locked p = lock_product(load_product_by_sku_id(conn_, a.sku));
  Location loc = location(a.location);
  MovementResult out;
  if (a.quantity.is_negative()) {
    out = take_out(p, loc, -a.quantity, a.reason, "", "");
  } else {
    const std::string batch = "ADJ-" + format_iso8601(clock_.now()).substr(0, 10);
    out = put_in(p, loc, a.quantity, p.cost, batch, std::nullopt, a.reason);
  }
  tx.commit();
  return out;
}

MovementResult InventoryService::issue(int64_t product_id, const std::string& location_code,
                                       Decimal quantity, const std::string& reference_type,
                                       const std::string& reference_id, const std::string& reason) {
  conn_.require_tenant();
  check_positive("quantity", quantity);
  db::Transaction tx(conn_);
  Locked p = lock_product(product_id);
  Location loc = location(location_code);
  MovementResult out = take_out(p, loc, quantity, reason, reference_type, reference_id);
  tx.commit();
  return out;
}

Decimal InventoryService::on_hand(int64_t product_id) {
  return sum_remaining(conn_,
                       "SELECT quantity_remaining FROM stock_batches WHERE tenant_id = $1 AND "
                       "product_id = $2 AND quantity_remaining <> $3",
                       {conn_.require_tenant(), product_id, kDbZero});
}

Decimal InventoryService::on_hand(int64_t product_id, const std::string& location_code) {
  const int64_t tenant = conn_.require_tenant();
  auto row = conn_.query_one("SELECT id FROM locations WHERE tenant_id = $1 AND code = $2",
                             {tenant, location_code});
  if (!row) return Decimal();
  return sum_remaining(conn_,
                       "SELECT quantity_remaining FROM stock_batches WHERE tenant_id = $1 AND "
                       "product_id = $2 AND location_id = $3 AND quantity_remaining <> $4",
                       {tenant, product_id, row->get<int64_t>(0), kDbZero});
}

StockLevel InventoryService::stock(const std::string& sku) {
  const int64_t tenant = conn_.require_tenant();
  StockLevel out;
  out.product_id = load_product_by_sku_id(conn_, sku);
  out.sku = sku;
  conn_.query_each(
      "SELECT b.id, b.product_id, l.code, b.batch, b.quantity_received, b.quantity_remaining, "
      "b.unit_cost, b.received_at, b.expiry_date FROM stock_batches b "
      "JOIN locations l ON l.id = b.location_id "
      "WHERE b.tenant_id = $1 AND b.product_id = $2 ORDER BY l.code, b.received_at, b.id",
      {tenant, out.product_id}, [&](const db::Row& r) {
        Batch b{r.get<int64_t>(0),
                r.get<int64_t>(1),
                r.get<std::string>(2),
                r.get<std::string>(3),
                Decimal::parse(r.get<std::string>(4)),
                Decimal::parse(r.get<std::string>(5)),
                Decimal::parse(r.get<std::string>(6)),
                r.get<std::string>(7),
                r.get<std::optional<std::string>>(8)};
        if (out.locations.empty() || out.locations.back().code != b.location) {
          out.locations.push_back({b.location, Decimal()});
        }
        out.locations.back().on_hand += b.quantity_remaining;
        out.on_hand += b.quantity_remaining;
        if (!b.quantity_remaining.is_zero()) out.batches.push_back(std::move(b));
      });
  return out;
}

}  // namespace unity::erp::inventory
