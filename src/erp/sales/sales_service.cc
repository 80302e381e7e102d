#include "erp/sales/sales_service.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "erp/catalog/catalog_service.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"
#include "erp/sales/events.h"

namespace unity::erp::sales {

namespace {

constexpr size_t kMaxLines = 1000;

OrderLineData line_data(const OrderLine& l) {
  return {l.product_id, l.sku, l.quantity, l.unit_price, l.line_total, l.cost.value_or(Decimal())};
}

std::vector<OrderLineData> lines_data(const Order& o) {
  std::vector<OrderLineData> out;
  for (const auto& l : o.lines) out.push_back(line_data(l));
  return out;
}

std::optional<Decimal> opt_decimal(const std::optional<std::string>& s) {
  if (!s) return std::nullopt;
  return Decimal::parse(*s);
}

}  // namespace

OrderDraft OrderDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"customer_id", "lines"});
  OrderDraft d;
  d.customer_id = require_int(data, "customer_id");
  if (!data.contains("lines") || !data["lines"].is_array() || data["lines"].empty()) {
    throw invalid_argument("field \"lines\" must be a non-empty array");
  }
  if (data["lines"].size() > kMaxLines) {
    throw invalid_argument("field \"lines\" has more than " + std::to_string(kMaxLines) + " lines");
  }
  for (const auto& l : data["lines"]) {
    reject_unknown_fields(l, {"sku", "quantity", "unit_price"});
    Line line{require_string(l, "sku"), require_decimal(l, "quantity"),
              optional_decimal(l, "unit_price")};
    check_positive("quantity", line.quantity);
    if (line.unit_price) check_non_negative("unit_price", *line.unit_price);
    d.lines.push_back(std::move(line));
  }
  return d;
}

SalesService::SalesService(db::Connection& conn, events::EventDispatcher& events,
                           std::optional<int64_t> user_id, const Clock& clock)
    : conn_(conn), events_(events), user_id_(user_id), clock_(clock) {}

Order SalesService::create(const OrderDraft& d) {
  const int64_t tenant = conn_.require_tenant();
  if (d.lines.empty()) throw invalid_argument("field \"lines\" must be a non-empty array");
  db::Transaction tx(conn_);
  if (!conn_.query_one("SELECT id FROM customers WHERE tenant_id = $1 AND id = $2",
                       {tenant, d.customer_id})) {
    throw not_found("customer " + std::to_string(d.customer_id) + " not found");
  }
  std::vector<OrderLine> lines;
  Decimal total;
  for (const auto& l : d.lines) {
    check_positive("quantity", l.quantity);
    auto p = catalog::load_product_by_sku(conn_, l.sku);
    if (!p) throw not_found("product with SKU " + quote_for_message(l.sku) + " not found");
    OrderLine line{0, p->id, p->sku, l.quantity, l.unit_price.value_or(p->price), {}, {}};
    check_non_negative("unit_price", line.unit_price);
    line.line_total = line_total(line.quantity, line.unit_price);
    total = add_to_total("order total", total, line.line_total);
    lines.push_back(std::move(line));
  }
  const std::string now = format_iso8601(clock_.now());
  const int64_t id = conn_.query_int(
      "INSERT INTO orders (tenant_id, customer_id, status, total, created_by, created_at, "
      "updated_at) VALUES ($1, $2, 'draft', $3, $4, $5, $5) RETURNING id",
      {tenant, d.customer_id, db_decimal(total), db::opt_value(user_id_), now});
  for (auto& l : lines) {
    l.id = conn_.query_int(
        "INSERT INTO order_lines (tenant_id, order_id, product_id, quantity, unit_price, "
        "line_total) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        {tenant, id, l.product_id, db_decimal(l.quantity), db_decimal(l.unit_price),
         db_decimal(l.line_total)});
  }
  Order o = find(id);
  events_.dispatch(conn_,
                   OrderCreated(events::new_event_meta(tenant, user_id_, clock_),
                                {id, d.customer_id, total, user_id_.value_or(0), lines_data(o)}));
  tx.commit();
  return o;
}

void SalesService::transition(int64_t order_id, const char* from, const char* to,
                              const char* stamp_column, const std::string& now) {
  const int64_t tenant = conn_.require_tenant();
  const std::string extra = std::string(to) == "approved" ? ", approved_by = $5" : "";
  db::Params params{std::string(to), now, tenant, order_id};
  if (!extra.empty()) params.add(db::opt_value(user_id_));
  params.add(std::string(from));
  const std::string from_param = "$" + std::to_string(params.size());
  if (conn_.execute("UPDATE orders SET status = $1, " + std::string(stamp_column) +
                        " = $2, updated_at = $2" + extra +
                        " WHERE tenant_id = $3 AND id = $4 AND status = " + from_param,
                    params) == 1) {
    return;
  }
  auto row = conn_.query_one("SELECT status FROM orders WHERE tenant_id = $1 AND id = $2",
                             {tenant, order_id});
  if (!row) throw not_found("order " + std::to_string(order_id) + " not found");
  throw failed_precondition("order " + std::to_string(order_id) + " is " +
                            row->get<std::string>(0) + "; only a " + from + " order can be " + to);
}

Order SalesService::approve(int64_t order_id) {
  const int64_t tenant = conn_.require_tenant();
  db::Transaction tx(conn_);
  transition(order_id, "draft", "approved", "approved_at", format_iso8601(clock_.now()));
  Order o = find(order_id);
  events_.dispatch(conn_, OrderApproved(events::new_event_meta(tenant, user_id_, clock_),
                                        {o.id, o.customer_id, o.total, o.created_by.value_or(0),
                                         user_id_.value_or(0)}));
  tx.commit();
  return o;
}

Order SalesService::fulfill(int64_t order_id, const std::string& location) {
  const int64_t tenant = conn_.require_tenant();
  db::Transaction tx(conn_);
  const std::string now = format_iso8601(clock_.now());
  transition(order_id, "approved", "fulfilled", "fulfilled_at", now);
  Order o = find(order_id);
  inventory::InventoryService stock(conn_, events_, user_id_, clock_);
  const inventory::Location loc = stock.location(location);
  // Lock products in id order: concurrent fulfilments sharing products cannot deadlock.
  std::vector<OrderLine*> by_product;
  for (auto& l : o.lines) by_product.push_back(&l);
  std::stable_sort(
      by_product.begin(), by_product.end(),
      [](const OrderLine* a, const OrderLine* b) { return a->product_id < b->product_id; });
  Decimal cost_of_goods;
  for (OrderLine* l : by_product) {
    auto moved = stock.issue(l->product_id, loc.code, l->quantity, "order", std::to_string(o.id));
    l->cost = moved.cost;
    cost_of_goods += moved.cost;
    conn_.execute("UPDATE order_lines SET cost = $1 WHERE tenant_id = $2 AND id = $3",
                  {db_decimal(moved.cost), tenant, l->id});
  }
  conn_.execute(
      "UPDATE orders SET cost_of_goods = $1, location_id = $2 WHERE tenant_id = $3 AND id = $4",
      {db_decimal(cost_of_goods), loc.id, tenant, o.id});
  o = find(order_id);
  events_.dispatch(conn_, OrderFulfilled(events::new_event_meta(tenant, user_id_, clock_),
                                         {o.id, o.customer_id, o.total, cost_of_goods, loc.code,
                                          o.fulfilled_at.value_or(now), o.created_by.value_or(0),
                                          lines_data(o)}));
  tx.commit();
  return o;
}

Order SalesService::find(int64_t order_id) {
  const int64_t tenant = conn_.require_tenant();
  auto r = conn_.query_one(
      "SELECT o.id, o.customer_id, o.status, o.total, o.cost_of_goods, l.code, o.created_by, "
      "i.id, o.approved_at, o.fulfilled_at, o.created_at FROM orders o "
      "LEFT JOIN locations l ON l.id = o.location_id "
      "LEFT JOIN invoices i ON i.order_id = o.id AND i.tenant_id = o.tenant_id "
      "WHERE o.tenant_id = $1 AND o.id = $2",
      {tenant, order_id});
  if (!r) throw not_found("order " + std::to_string(order_id) + " not found");
  Order o;
  o.id = r->get<int64_t>(0);
  o.customer_id = r->get<int64_t>(1);
  o.status = r->get<std::string>(2);
  o.total = Decimal::parse(r->get<std::string>(3));
  o.cost_of_goods = opt_decimal(r->get<std::optional<std::string>>(4));
  o.location = r->get<std::optional<std::string>>(5);
  o.created_by = r->get<std::optional<int64_t>>(6);
  o.invoice_id = r->get<std::optional<int64_t>>(7);
  o.approved_at = r->get<std::optional<std::string>>(8);
  o.fulfilled_at = r->get<std::optional<std::string>>(9);
  o.created_at = r->get<std::string>(10);
  conn_.query_each(
      "SELECT ol.id, ol.product_id, p.sku, ol.quantity, ol.unit_price, ol.line_total, ol.cost "
      "FROM order_lines ol JOIN products p ON p.id = ol.product_id "
      "WHERE ol.tenant_id = $1 AND ol.order_id = $2 ORDER BY ol.id",
      {tenant, order_id}, [&](const db::Row& l) {
        o.lines.push_back({l.get<int64_t>(0), l.get<int64_t>(1), l.get<std::string>(2),
                           Decimal::parse(l.get<std::string>(3)),
                           Decimal::parse(l.get<std::string>(4)),
                           Decimal::parse(l.get<std::string>(5)),
                           opt_decimal(l.get<std::optional<std::string>>(6))});
      });
  return o;
}

}  // namespace unity::erp::sales
