#include "erp/procurement/procurement_service.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "core/text.h"
#include "db/transaction.h"
#include "db/values_sql.h"
#include "erp/catalog/catalog_service.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"
#include "erp/procurement/events.h"

namespace unity::erp::procurement {

namespace {

const nlohmann::json& require_lines(const nlohmann::json& data) {
  if (!data.contains("lines") || !data["lines"].is_array()) {
    throw invalid_argument("field \"lines\" must be an array");
  }
  if (data["lines"].empty()) throw invalid_argument("field \"lines\" must not be empty");
  return data["lines"];
}

// Runs `parse` for lines[i], prefixing its kInvalidArgument message with the line.
template <typename F>
void for_line(size_t i, F parse) {
  try {
    parse();
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kInvalidArgument) throw;
    throw invalid_argument("lines[" + std::to_string(i) + "]: " + e.what());
  }
}

void check_vendor(const VendorDraft& d) {
  check_text("name", d.name, 200);
  check_email("email", d.email);
}

void check_order(const OrderDraft& d) {
  if (d.lines.empty()) throw invalid_argument("field \"lines\" must not be empty");
  std::set<std::string> seen;
  for (size_t i = 0; i < d.lines.size(); ++i) {
    const OrderLineDraft& l = d.lines[i];
    for_line(i, [&] {
      check_text("sku", l.sku, 64);
      check_positive("quantity", l.quantity);
      if (l.unit_cost) check_non_negative("unit_cost", *l.unit_cost);
      if (!seen.insert(l.sku).second) {
        throw invalid_argument("SKU " + quote_for_message(l.sku) + " is on more than one line");
      }
    });
  }
}

void check_receipt(const ReceiptDraft& r) {
  check_text("location", r.location, 32);
  if (!r.lines) return;
  if (r.lines->empty()) throw invalid_argument("field \"lines\" must not be empty");
  for (size_t i = 0; i < r.lines->size(); ++i) {
    const ReceiptLineDraft& l = (*r.lines)[i];
    for_line(i, [&] {
      check_text("sku", l.sku, 64);
      check_positive("quantity", l.quantity);
      if (!l.batch.empty()) check_text("batch", l.batch, 64);
      if (l.expiry_date) check_date("expiry_date", *l.expiry_date);
    });
  }
}

std::string order_name(int64_t id) { return "purchase order " + std::to_string(id); }

Decimal dec(const db::Row& r, size_t i) { return Decimal::parse(r.get<std::string>(i)); }

}  // namespace

VendorDraft VendorDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"name", "email"});
  VendorDraft d{require_string(data, "name"), require_string(data, "email")};
  check_vendor(d);
  return d;
}

OrderDraft OrderDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"vendor_id", "lines"});
  OrderDraft d;
  d.vendor_id = require_int(data, "vendor_id");
  const nlohmann::json& lines = require_lines(data);
  for (size_t i = 0; i < lines.size(); ++i) {
    for_line(i, [&] {
      const nlohmann::json& l = lines[i];
      reject_unknown_fields(l, {"sku", "quantity", "unit_cost"});
      d.lines.push_back({require_string(l, "sku"), require_decimal(l, "quantity"),
                         optional_decimal(l, "unit_cost")});
    });
  }
  check_order(d);
  return d;
}

ReceiptDraft ReceiptDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"id", "location", "lines"});
  ReceiptDraft r;
  r.id = require_int(data, "id");
  r.location = optional_string(data, "location").value_or(inventory::kMainLocation);
  if (data.contains("lines") && !data["lines"].is_null()) {
    const nlohmann::json& lines = require_lines(data);
    r.lines.emplace();
    for (size_t i = 0; i < lines.size(); ++i) {
      for_line(i, [&] {
        const nlohmann::json& l = lines[i];
        reject_unknown_fields(l, {"sku", "quantity", "batch", "expiry_date"});
        r.lines->push_back({require_string(l, "sku"), require_decimal(l, "quantity"),
                            optional_string(l, "batch").value_or(""),
                            optional_string(l, "expiry_date")});
      });
    }
  }
  check_receipt(r);
  return r;
}

ProcurementService::ProcurementService(db::Connection& conn, events::EventDispatcher& events,
                                       std::optional<int64_t> user_id, const Clock& clock)
    : conn_(conn), events_(events), user_id_(user_id), clock_(clock) {}

Vendor ProcurementService::find_vendor(int64_t id) {
  auto r = conn_.query_one(
      "SELECT id, name, email, created_at, updated_at FROM vendors WHERE tenant_id = $1 AND id = "
      "$2",
      {conn_.require_tenant(), id});
  if (!r) throw not_found("vendor " + std::to_string(id) + " not found");
  return {r->get<int64_t>(0), r->get<std::string>(1), r->get<std::string>(2),
          r->get<std::string>(3), r->get<std::string>(4)};
}

std::vector<OrderLine> ProcurementService::load_lines(int64_t order_id) {
  std::vector<OrderLine> out;
  conn_.query_each(
      "SELECT l.id, l.product_id, p.sku, l.quantity, l.quantity_received, l.unit_cost, "
      "l.line_total FROM purchase_order_lines l JOIN products p ON p.id = l.product_id "
      "WHERE l.tenant_id = $1 AND l.purchase_order_id = $2 ORDER BY l.id",
      {conn_.require_tenant(), order_id}, [&](const db::Row& r) {
        out.push_back({r.get<int64_t>(0), r.get<int64_t>(1), r.get<std::string>(2), dec(r, 3),
                       dec(r, 4), dec(r, 5), dec(r, 6)});
      });
  return out;
}

std::vector<GoodsReceipt> ProcurementService::load_receipts(int64_t order_id) {
  const int64_t tenant = conn_.require_tenant();
  std::vector<GoodsReceipt> out;
  std::map<int64_t, size_t> index;  // receipt id → position in out
  conn_.query_each(
      "SELECT g.id, l.code, g.received_by, g.received_at FROM goods_receipts g "
      "JOIN locations l ON l.id = g.location_id "
      "WHERE g.tenant_id = $1 AND g.purchase_order_id = $2 ORDER BY g.id",
      {tenant, order_id}, [&](const db::Row& r) {
        index[r.get<int64_t>(0)] = out.size();
        out.push_back({r.get<int64_t>(0),
                       order_id,
                       r.get<std::string>(1),
                       r.get<std::optional<int64_t>>(2),
                       r.get<std::string>(3),
                       {}});
      });
  conn_.query_each(
      "SELECT rl.goods_receipt_id, rl.id, rl.purchase_order_line_id, p.sku, rl.quantity, "
      "ol.unit_cost, rl.batch_id, b.batch, b.expiry_date FROM goods_receipt_lines rl "
      "JOIN goods_receipts g ON g.id = rl.goods_receipt_id "
      "JOIN purchase_order_lines ol ON ol.id = rl.purchase_order_line_id "
      "JOIN products p ON p.id = ol.product_id JOIN stock_batches b ON b.id = rl.batch_id "
      "WHERE rl.tenant_id = $1 AND g.purchase_order_id = $2 ORDER BY rl.id",
      {tenant, order_id}, [&](const db::Row& r) {
        out[index.at(r.get<int64_t>(0))].lines.push_back(
            {r.get<int64_t>(1), r.get<int64_t>(2), r.get<std::string>(3), dec(r, 4), dec(r, 5),
             r.get<int64_t>(6), r.get<std::string>(7), r.get<std::optional<std::string>>(8)});
      });
  return out;
}

PurchaseOrder ProcurementService::find_order(int64_t id) {
  auto r = conn_.query_one(
      "SELECT o.id, o.vendor_id, v.name, o.status, o.total, o.created_by, o.approved_by, "
      "o.approved_at, o.received_at, o.created_at, o.updated_at FROM purchase_orders o "
      "JOIN vendors v ON v.id = o.vendor_id WHERE o.tenant_id = $1 AND o.id = $2",
      {conn_.require_tenant(), id});
  if (!r) throw not_found(order_name(id) + " not found");
  PurchaseOrder o;
  o.id = r->get<int64_t>(0);
  o.vendor_id = r->get<int64_t>(1);
  o.vendor_name = r->get<std::string>(2);
  o.status = r->get<std::string>(3);
  o.total = dec(*r, 4);
  o.created_by = r->get<std::optional<int64_t>>(5);
  o.approved_by = r->get<std::optional<int64_t>>(6);
  o.approved_at = r->get<std::optional<std::string>>(7);
  o.received_at = r->get<std::optional<std::string>>(8);
  o.created_at = r->get<std::string>(9);
  o.updated_at = r->get<std::string>(10);
  o.lines = load_lines(o.id);
  o.receipts = load_receipts(o.id);
  return o;
}

PurchaseOrder ProcurementService::lock_order(int64_t id) {
  // A no-op update takes the row lock (PostgreSQL), so writes to one order serialise.
  if (conn_.execute("UPDATE purchase_orders SET status = status WHERE tenant_id = $1 AND id = $2",
                    {conn_.require_tenant(), id}) == 0) {
    throw not_found(order_name(id) + " not found");
  }
  return find_order(id);
}

Vendor ProcurementService::create_vendor(const VendorDraft& d) {
  const int64_t tenant = conn_.require_tenant();
  check_vendor(d);
  db::Transaction tx(conn_);
  if (conn_.query_one("SELECT id FROM vendors WHERE tenant_id = $1 AND lower(email) = lower($2)",
                      {tenant, d.email})) {
    throw already_exists("a vendor with e-mail " + quote_for_message(d.email) + " already exists");
  }
  const std::string now = format_iso8601(clock_.now());
  const int64_t id = conn_.query_int(
      "INSERT INTO vendors (tenant_id, name, email, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $4) RETURNING id",
      {tenant, d.name, d.email, now});
  Vendor v = find_vendor(id);
  tx.commit();
  return v;
}

std::vector<std::optional<int64_t>> ProcurementService::create_missing_vendors(
    const std::vector<VendorDraft>& drafts) {
  const int64_t tenant = conn_.require_tenant();
  {
    std::vector<std::string> keys;
    keys.reserve(drafts.size());
    for (const auto& d : drafts) {
      check_vendor(d);
      keys.push_back(ascii_lower(d.email));
    }
    refuse_repeated("e-mail", std::move(keys));
  }
  db::Transaction tx(conn_);
  const std::string now = format_iso8601(clock_.now());
  std::map<std::string, int64_t> id_of;  // RETURNING's order is not guaranteed: match by e-mail
  for (size_t start = 0; start < drafts.size(); start += kVendorBatch) {
    const size_t n = std::min(kVendorBatch, drafts.size() - start);
    db::Params p{tenant, now};  // $1, $2: shared by every row
    for (size_t i = start; i < start + n; ++i) p.add(drafts[i].name).add(drafts[i].email);
    conn_.query_each(
        "INSERT INTO vendors (tenant_id, name, email, created_at, updated_at) VALUES " +
            db::values_sql(n, 2, 3, "$1, ", ", $2, $2") +
            " ON CONFLICT (tenant_id, lower(email)) DO NOTHING RETURNING id, email",
        p, [&id_of](const db::Row& r) { id_of.emplace(r.get<std::string>(1), r.get<int64_t>(0)); });
  }
  std::vector<std::optional<int64_t>> ids;
  ids.reserve(drafts.size());
  for (const auto& d : drafts) {
    auto it = id_of.find(d.email);
    ids.push_back(it == id_of.end() ? std::nullopt : std::optional<int64_t>(it->second));
  }
  tx.commit();
  return ids;
}

PurchaseOrder ProcurementService::create_order(const OrderDraft& d) {
  const int64_t tenant = conn_.require_tenant();
  check_order(d);
  db::Transaction tx(conn_);
  find_vendor(d.vendor_id);
  struct Resolved {
    int64_t product_id;
    Decimal quantity, unit_cost, line_total;
  };
  std::vector<Resolved> lines;
  Decimal total;
  for (const OrderLineDraft& l : d.lines) {
    auto p = catalog::load_product_by_sku(conn_, l.sku);
    if (!p) throw not_found("product with SKU " + quote_for_message(l.sku) + " not found");
    const Decimal cost = l.unit_cost.value_or(p->cost);
    lines.push_back({p->id, l.quantity, cost, line_total(l.quantity, cost)});
    total = add_to_total("purchase order total", total, lines.back().line_total);
  }
  const std::string now = format_iso8601(clock_.now());
  const int64_t id = conn_.query_int(
      "INSERT INTO purchase_orders (tenant_id, vendor_id, status, total, created_by, approved_by, "
      "approved_at, received_at, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, $6, $6) RETURNING id",
      {tenant, d.vendor_id, kDraft, db_decimal(total), db::opt_value(user_id_), now});
  for (const Resolved& l : lines) {
    conn_.execute(
        "INSERT INTO purchase_order_lines (tenant_id, purchase_order_id, product_id, quantity, "
        "quantity_received, unit_cost, line_total) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {tenant, id, l.product_id, db_decimal(l.quantity), kDbZero, db_decimal(l.unit_cost),
         db_decimal(l.line_total)});
  }
  PurchaseOrder o = find_order(id);
  tx.commit();
  return o;
}

PurchaseOrder ProcurementService::approve(int64_t id) {
  const int64_t tenant = conn_.require_tenant();
  db::Transaction tx(conn_);
  PurchaseOrder before = lock_order(id);
  if (before.status != kDraft) {
    throw failed_precondition(order_name(id) + " is " + before.status +
                              "; only a draft can be approved");
  }
  const std::string now = format_iso8601(clock_.now());
  conn_.execute(
      "UPDATE purchase_orders SET status = $1, approved_by = $2, approved_at = $3, "
      "updated_at = $3 WHERE tenant_id = $4 AND id = $5",
      {kApproved, db::opt_value(user_id_), now, tenant, id});
  PurchaseOrder o = find_order(id);
  std::vector<ApprovedLine> lines;
  for (const OrderLine& l : o.lines) {
    lines.push_back({l.product_id, l.sku, l.quantity, l.unit_cost, l.line_total});
  }
  events_.dispatch(conn_, PurchaseOrderApproved(events::new_event_meta(tenant, user_id_, clock_),
                                                o.id, o.vendor_id, o.vendor_name, o.total,
                                                o.created_by, o.approved_by, std::move(lines)));
  tx.commit();
  return o;
}

GoodsReceipt ProcurementService::receive(const ReceiptDraft& r) {
  const int64_t tenant = conn_.require_tenant();
  check_receipt(r);
  db::Transaction tx(conn_);
  PurchaseOrder po = lock_order(r.id);
  if (po.status != kApproved && po.status != kPartiallyReceived) {
    throw failed_precondition(order_name(po.id) + " is " + po.status +
                              "; only approved or partially received orders can be received");
  }
  inventory::InventoryService inventory(conn_, events_, user_id_, clock_);
  const inventory::Location loc = inventory.location(r.location);
  const std::string default_batch = "PO-" + std::to_string(po.id);

  // What arrives, per order line (index into po.lines), checked before anything is written.
  struct Planned {
    size_t line;
    Decimal quantity;
    std::string batch;
    std::optional<std::string> expiry_date;
  };
  std::vector<Planned> plan;
  if (!r.lines) {
    for (size_t i = 0; i < po.lines.size(); ++i) {
      const OrderLine& l = po.lines[i];
      if (l.outstanding().is_zero()) continue;
      auto p = catalog::load_product(conn_, l.product_id);
      if (!p || p->deleted_at) {
        throw not_found("product " + std::to_string(l.product_id) + " (" +
                        quote_for_message(l.sku) + ") not found (deleted)");
      }
      plan.push_back({i, l.outstanding(), default_batch, std::nullopt});
    }
  } else {
    std::map<size_t, Decimal> requested;
    for (const ReceiptLineDraft& rl : *r.lines) {
      auto p = catalog::load_product_by_sku(conn_, rl.sku);
      if (!p) throw not_found("product with SKU " + quote_for_message(rl.sku) + " not found");
      auto it = std::find_if(po.lines.begin(), po.lines.end(),
                             [&](const OrderLine& l) { return l.product_id == p->id; });
      if (it == po.lines.end()) {
        throw invalid_argument("SKU " + quote_for_message(rl.sku) + " is not on " +
                               order_name(po.id));
      }
      const size_t i = static_cast<size_t>(it - po.lines.begin());
      requested[i] += rl.quantity;
      if (requested[i] > it->outstanding()) {
        throw failed_precondition("cannot receive " + requested[i].to_string() + " of " +
                                  quote_for_message(rl.sku) + " on " + order_name(po.id) + ": " +
                                  it->outstanding().to_string() + " outstanding");
      }
      plan.push_back({i, rl.quantity, rl.batch.empty() ? default_batch : rl.batch, rl.expiry_date});
    }
  }

  const std::string now = format_iso8601(clock_.now());
  const int64_t receipt_id = conn_.query_int(
      "INSERT INTO goods_receipts (tenant_id, purchase_order_id, location_id, received_by, "
      "received_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
      {tenant, po.id, loc.id, db::opt_value(user_id_), now});
  std::vector<ReceivedLine> received;
  for (const Planned& step : plan) {
    OrderLine& line = po.lines[step.line];
    inventory::Receipt stock;
    stock.sku = line.sku;
    stock.location = loc.code;
    stock.quantity = step.quantity;
    stock.unit_cost = line.unit_cost;
    stock.batch = step.batch;
    stock.expiry_date = step.expiry_date;
    stock.reference_type = "purchase_order";
    stock.reference_id = std::to_string(po.id);
    const inventory::MovementResult moved = inventory.receive(stock);
    conn_.execute(
        "INSERT INTO goods_receipt_lines (tenant_id, goods_receipt_id, purchase_order_line_id, "
        "quantity, batch_id) VALUES ($1, $2, $3, $4, $5)",
        {tenant, receipt_id, line.id, db_decimal(step.quantity), *moved.batch_id});
    line.quantity_received += step.quantity;
    conn_.execute(
        "UPDATE purchase_order_lines SET quantity_received = $1 WHERE tenant_id = $2 AND id = $3",
        {db_decimal(line.quantity_received), tenant, line.id});
    received.push_back({line.id, line.product_id, line.sku, step.quantity, line.unit_cost,
                        *moved.batch_id, step.batch});
  }
  const bool complete = std::all_of(po.lines.begin(), po.lines.end(),
                                    [](const OrderLine& l) { return l.outstanding().is_zero(); });
  const std::string status = complete ? kReceived : kPartiallyReceived;
  conn_.execute(
      "UPDATE purchase_orders SET status = $1, received_at = $2, updated_at = $3 "
      "WHERE tenant_id = $4 AND id = $5",
      {status, complete ? db::Value(now) : db::kNull, now, tenant, po.id});
  events_.dispatch(
      conn_, GoodsReceived(events::new_event_meta(tenant, user_id_, clock_), po.id, receipt_id,
                           po.vendor_id, loc.code, status, std::move(received)));
  std::vector<GoodsReceipt> receipts = load_receipts(po.id);
  GoodsReceipt out = receipts.back();
  tx.commit();
  return out;
}

}  // namespace unity::erp::procurement
