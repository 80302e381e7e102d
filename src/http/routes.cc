// The resources of /api/v1 (DESIGN.md's table). Each handler reads its input the way its CLI
// twin reads --data (the path's id becomes the field the twin's --data names), calls the same
// service and answers the same shape (erp/views.h, notify/inbox.h).
#include <charconv>

#include "core/error.h"
#include "core/json.h"
#include "erp/billing/billing_service.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"
#include "erp/procurement/procurement_service.h"
#include "erp/sales/sales_service.h"
#include "erp/views.h"
#include "events/event_bus.h"
#include "http/route.h"
#include "notify/inbox.h"
#include "queue/store.h"

namespace unity::http {

void require_empty_body(const Api::Call& c) { erp::reject_unknown_fields(c.body(), {}); }

queue::JobStore queue_store(const Api::Call& c) {
  queue::JobStore store(c.conn, c.config.queue_table, c.clock);
  store.set_keep_finished(std::chrono::minutes(c.config.queue_keep_completed_minutes));
  return store;
}

namespace {

using Call = Api::Call;
using erp::catalog::CatalogService;
using erp::inventory::InventoryService;

std::optional<int64_t> user_of(const Call& c) { return c.who.user_id; }

// The body with the path's id under `field` (what the CLI twin's --data carries); a body that
// names the field itself is refused, so the path and the body can never disagree.
nlohmann::json with_path_field(const Call& c, const std::string& field, nlohmann::json value) {
  nlohmann::json body = c.body();
  if (body.contains(field)) {
    throw invalid_argument("unknown field \"" + field + "\": the path names it");
  }
  body[field] = std::move(value);
  return body;
}

Response product_response(const Call& c, int status, const erp::catalog::Product& p) {
  const Decimal on_hand = InventoryService(c.conn, c.bus, user_of(c), c.clock).on_hand(p.id);
  return json_response(status, erp::product_json(p, on_hand));
}

Response create_product(Call& c) {
  CatalogService catalog(c.conn, c.bus, user_of(c), c.clock);
  return product_response(c, 201, catalog.create(erp::catalog::ProductDraft::from_json(c.body())));
}

Response list_products(Call& c) {
  int64_t after = 0;
  if (auto it = c.query.find("cursor"); it != c.query.end()) after = decode_id_cursor(it->second);
  const int limit = c.limit();
  CatalogService catalog(c.conn, c.bus, user_of(c), c.clock);
  InventoryService inventory(c.conn, c.bus, user_of(c), c.clock);
  auto products = catalog.list(after, limit + 1);
  std::optional<std::string> next;
  if (static_cast<int>(products.size()) > limit) {
    products.resize(limit);
    next = encode_cursor(std::to_string(products.back().id));
  }
  nlohmann::json data = nlohmann::json::array();
  for (const auto& p : products) data.push_back(erp::product_json(p, inventory.on_hand(p.id)));
  return json_response(200, page_json(std::move(data), next));
}

Response show_product(Call& c) {
  CatalogService catalog(c.conn, c.bus, user_of(c), c.clock);
  return product_response(c, 200, catalog.find_named(c.params[0]));
}

Response update_product(Call& c) {
  CatalogService catalog(c.conn, c.bus, user_of(c), c.clock);
  const auto p = catalog.find_named(c.params[0]);
  return product_response(
      c, 200,
      catalog.update(erp::catalog::ProductPatch::from_json(with_path_field(c, "id", p.id))));
}

Response delete_product(Call& c) {
  require_empty_body(c);
  CatalogService catalog(c.conn, c.bus, user_of(c), c.clock);
  return product_response(c, 200, catalog.remove(catalog.find_named(c.params[0]).id));
}

Response show_stock(Call& c) {
  CatalogService catalog(c.conn, c.bus, user_of(c), c.clock);
  const auto p = catalog.find_named(c.params[0]);
  return json_response(
      200, erp::stock_json(InventoryService(c.conn, c.bus, user_of(c), c.clock).stock(p.sku)));
}

Response receive_stock(Call& c) {
  auto receipt = erp::inventory::Receipt::from_json(c.body());
  auto r = InventoryService(c.conn, c.bus, user_of(c), c.clock).receive(receipt);
  nlohmann::json out = erp::movement_json(receipt.sku, receipt.location, r, receipt.quantity);
  out["id"] = out["batch_id"];
  return json_response(201, out);
}

Response adjust_stock(Call& c) {
  auto adj = erp::inventory::Adjustment::from_json(c.body());
  auto r = InventoryService(c.conn, c.bus, user_of(c), c.clock).adjust(adj);
  return json_response(201, erp::movement_json(adj.sku, adj.location, r, adj.quantity));
}

Response create_location(Call& c) {
  const nlohmann::json body = c.body();
  erp::reject_unknown_fields(body, {"code", "name"});
  const std::string code = require_string(body, "code");
  auto l = InventoryService(c.conn, c.bus, user_of(c), c.clock)
               .create_location(code, optional_string(body, "name").value_or(code));
  return json_response(201, erp::location_json(l));
}

Response create_customer(Call& c) {
  erp::crm::CrmService crm(c.conn, c.bus, user_of(c), c.clock);
  return json_response(
      201, erp::customer_json(crm.create_customer(erp::crm::CustomerDraft::from_json(c.body()))));
}

Response show_customer(Call& c) {
  erp::crm::CrmService crm(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::customer_json(crm.find_customer(c.id_param())));
}

Response create_lead(Call& c) {
  erp::crm::CrmService crm(c.conn, c.bus, user_of(c), c.clock);
  return json_response(201,
                       erp::lead_json(crm.create_lead(erp::crm::LeadDraft::from_json(c.body()))));
}

Response convert_lead(Call& c) {
  require_empty_body(c);
  erp::crm::CrmService crm(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::customer_json(crm.convert_lead(c.id_param())));
}

Response create_order(Call& c) {
  erp::sales::SalesService sales(c.conn, c.bus, user_of(c), c.clock);
  return json_response(201,
                       erp::order_json(sales.create(erp::sales::OrderDraft::from_json(c.body()))));
}

Response show_order(Call& c) {
  erp::sales::SalesService sales(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::order_json(sales.find(c.id_param())));
}

Response approve_order(Call& c) {
  require_empty_body(c);
  erp::sales::SalesService sales(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::order_json(sales.approve(c.id_param())));
}

Response fulfill_order(Call& c) {
  const int64_t id = c.id_param();
  const nlohmann::json body = c.body();
  erp::reject_unknown_fields(body, {"location"});
  erp::sales::SalesService sales(c.conn, c.bus, user_of(c), c.clock);
  return json_response(
      200, erp::order_json(sales.fulfill(
               id, optional_string(body, "location").value_or(erp::inventory::kMainLocation))));
}

Response show_invoice(Call& c) {
  erp::billing::BillingService billing(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::invoice_json(billing.find(c.id_param())));
}

Response pay_invoice(Call& c) {
  const int64_t id = c.id_param();
  erp::billing::BillingService billing(c.conn, c.bus, user_of(c), c.clock);
  billing.find(id);  // another tenant's invoice is 404 before the body is looked at
  auto r = billing.pay(erp::billing::PaymentDraft::from_json(with_path_field(c, "invoice_id", id)));
  nlohmann::json out = erp::invoice_json(r.invoice);
  out["payment_id"] = r.payment_id;
  return json_response(201, out);
}

using erp::procurement::ProcurementService;

Response create_vendor(Call& c) {
  ProcurementService p(c.conn, c.bus, user_of(c), c.clock);
  return json_response(
      201, erp::vendor_json(p.create_vendor(erp::procurement::VendorDraft::from_json(c.body()))));
}

Response show_vendor(Call& c) {
  ProcurementService p(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::vendor_json(p.find_vendor(c.id_param())));
}

Response create_purchase_order(Call& c) {
  ProcurementService p(c.conn, c.bus, user_of(c), c.clock);
  return json_response(201, erp::purchase_order_json(
                                p.create_order(erp::procurement::OrderDraft::from_json(c.body()))));
}

Response show_purchase_order(Call& c) {
  ProcurementService p(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::purchase_order_json(p.find_order(c.id_param())));
}

Response approve_purchase_order(Call& c) {
  require_empty_body(c);
  ProcurementService p(c.conn, c.bus, user_of(c), c.clock);
  return json_response(200, erp::purchase_order_json(p.approve(c.id_param())));
}

Response receive_purchase_order(Call& c) {
  const int64_t id = c.id_param();
  ProcurementService p(c.conn, c.bus, user_of(c), c.clock);
  p.find_order(id);  // another tenant's order is 404 before the body is looked at
  auto g = p.receive(erp::procurement::ReceiptDraft::from_json(with_path_field(c, "id", id)));
  nlohmann::json out = erp::purchase_order_json(p.find_order(g.purchase_order_id));
  out["receipt"] = erp::goods_receipt_json(g);
  out["receipt_id"] = g.id;
  return json_response(201, out);
}

notify::Notifiable inbox_of(const Call& c) { return notify::Notifiable::user(c.who.user_id); }

Response list_notifications(Call& c) {
  const int limit = c.limit();
  const bool unread =
      c.query.count("unread") && c.query.at("unread") != "0" && c.query.at("unread") != "false";
  std::optional<notify::InboxPosition> before;
  if (auto it = c.query.find("cursor"); it != c.query.end()) {
    const std::string text = decode_cursor(it->second);
    const auto sep = text.find('|');
    if (sep == std::string::npos) throw invalid_argument("malformed cursor");
    before = notify::InboxPosition{text.substr(0, sep), text.substr(sep + 1)};
  }
  auto rows = notify::list_notifications_page(c.conn, inbox_of(c), unread, limit + 1, before);
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    next = encode_cursor(rows.back().created_at + "|" + rows.back().id);
  }
  nlohmann::json data = nlohmann::json::array();
  for (const auto& n : rows) data.push_back(notify::notification_json(n));
  nlohmann::json out = page_json(std::move(data), next);
  out["unread_count"] = notify::unread_count(c.conn, inbox_of(c));
  return json_response(200, out);
}

Response unread_notifications(Call& c) {
  return json_response(200, {{"unread_count", notify::unread_count(c.conn, inbox_of(c))}});
}

Response read_notifications(Call& c) {
  const nlohmann::json body = c.body();
  erp::reject_unknown_fields(body, {"ids", "all"});
  std::vector<std::string> ids;
  const bool all = body.contains("all");
  if (all && (!body["all"].is_boolean() || !body["all"].get<bool>())) {
    throw invalid_argument("\"all\" must be true");
  }
  if (body.contains("ids")) {
    if (all) throw invalid_argument("give \"ids\" or \"all\", not both");
    if (!body["ids"].is_array() || body["ids"].empty()) {
      throw invalid_argument("\"ids\" must be a non-empty array of notification ids");
    }
    for (const auto& id : body["ids"]) {
      if (!id.is_string()) throw invalid_argument("\"ids\" must hold notification ids (strings)");
      ids.push_back(id.get<std::string>());
    }
  } else if (!all) {
    throw invalid_argument("give {\"ids\":[…]} or {\"all\":true}");
  }
  return json_response(200, {{"updated", notify::mark_read(c.conn, inbox_of(c), ids, c.clock)}});
}

}  // namespace

std::vector<Api::Route> resource_routes() {
  return {
      route("POST", "products", Access::kInventory, create_product),
      route("GET", "products", Access::kAnyUser, list_products),
      route("GET", "products/{sku}", Access::kAnyUser, show_product),
      route("PATCH", "products/{sku}", Access::kInventory, update_product),
      route("DELETE", "products/{sku}", Access::kInventory, delete_product),
      route("POST", "stock/receipts", Access::kInventory, receive_stock),
      route("POST", "stock/adjustments", Access::kInventory, adjust_stock),
      route("GET", "stock/{sku}", Access::kAnyUser, show_stock),
      route("POST", "locations", Access::kInventory, create_location),
      route("POST", "customers", Access::kSales, create_customer),
      route("GET", "customers/{id}", Access::kAnyUser, show_customer),
      route("POST", "leads", Access::kSales, create_lead),
      route("POST", "leads/{id}/convert", Access::kSales, convert_lead),
      route("POST", "orders", Access::kSales, create_order),
      route("GET", "orders/{id}", Access::kAnyUser, show_order),
      route("POST", "orders/{id}/approve", Access::kSales, approve_order),
      route("POST", "orders/{id}/fulfill", Access::kSales, fulfill_order),
      route("GET", "invoices/{id}", Access::kAnyUser, show_invoice),
      route("POST", "invoices/{id}/payments", Access::kBilling, pay_invoice),
      route("POST", "vendors", Access::kProcurement, create_vendor),
      route("GET", "vendors/{id}", Access::kAnyUser, show_vendor),
      route("POST", "purchase-orders", Access::kProcurement, create_purchase_order),
      route("GET", "purchase-orders/{id}", Access::kAnyUser, show_purchase_order),
      route("POST", "purchase-orders/{id}/approve", Access::kProcurement, approve_purchase_order),
      route("POST", "purchase-orders/{id}/receive", Access::kProcurement, receive_purchase_order),
      route("GET", "notifications", Access::kAnyUser, list_notifications),
      route("GET", "notifications/unread-count", Access::kAnyUser, unread_notifications),
      route("POST", "notifications/read", Access::kAnyUser, read_notifications),
  };
}

}  // namespace unity::http
