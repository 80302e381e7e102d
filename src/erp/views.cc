#include "erp/views.h"

#include <nlohmann/json.hpp>

#include "erp/billing/billing_service.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/inventory/inventory_service.h"
#include "erp/procurement/procurement_service.h"
#include "erp/sales/sales_service.h"

namespace unity::erp {

namespace {

template <typename T>
nlohmann::json opt(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}
nlohmann::json opt_dec(const std::optional<Decimal>& v) {
  return v ? nlohmann::json(v->to_string()) : nlohmann::json();
}

}  // namespace

nlohmann::json product_json(const catalog::Product& p, Decimal on_hand) {
  return {{"id", p.id},
          {"sku", p.sku},
          {"name", p.name},
          {"price", p.price.to_string()},
          {"cost", p.cost.to_string()},
          {"reorder_level", p.reorder_level.to_string()},
          {"unit", p.unit},
          {"on_hand", on_hand.to_string()},
          {"deleted_at", opt(p.deleted_at)},
          {"created_at", p.created_at},
          {"updated_at", p.updated_at}};
}

nlohmann::json movement_json(const std::string& sku, const std::string& location,
                             const inventory::MovementResult& r, Decimal quantity) {
  return {
      {"id", r.movement_ids.empty() ? nlohmann::json() : nlohmann::json(r.movement_ids.front())},
      {"movement_ids", r.movement_ids},
      {"batch_id", opt(r.batch_id)},
      {"sku", sku},
      {"location", location},
      {"quantity", quantity.to_string()},
      {"cost", r.cost.to_string()},
      {"on_hand", r.on_hand.to_string()}};
}

nlohmann::json stock_json(const inventory::StockLevel& level) {
  nlohmann::json locations = nlohmann::json::array(), batches = nlohmann::json::array();
  for (const auto& l : level.locations) {
    locations.push_back({{"code", l.code}, {"on_hand", l.on_hand.to_string()}});
  }
  for (const auto& b : level.batches) {
    batches.push_back({{"batch", b.batch},
                       {"location", b.location},
                       {"quantity_remaining", b.quantity_remaining.to_string()},
                       {"unit_cost", b.unit_cost.to_string()},
                       {"expiry_date", opt(b.expiry_date)}});
  }
  return {{"sku", level.sku},
          {"on_hand", level.on_hand.to_string()},
          {"locations", locations},
          {"batches", batches}};
}

nlohmann::json location_json(const inventory::Location& l) {
  return {{"id", l.id}, {"code", l.code}, {"name", l.name}};
}

nlohmann::json customer_json(const crm::Customer& c) {
  nlohmann::json contacts = nlohmann::json::array();
  for (const auto& k : c.contacts)
    contacts.push_back({{"id", k.id}, {"name", k.name}, {"email", k.email}});
  return {{"id", c.id},
          {"name", c.name},
          {"email", opt(c.email)},
          {"payment_terms_days", c.payment_terms_days},
          {"lead_id", opt(c.lead_id)},
          {"contacts", contacts},
          {"orders_count", c.orders_count},
          {"total_spent", c.total_spent.to_string()},
          {"average_order_value", c.average_order_value.to_string()},
          {"last_order_at", opt(c.last_order_at)},
          {"outstanding_balance", c.outstanding_balance.to_string()},
          {"created_at", c.created_at}};
}

nlohmann::json lead_json(const crm::Lead& l) {
  return {{"id", l.id},
          {"name", l.name},
          {"email", opt(l.email)},
          {"company", opt(l.company)},
          {"status", l.status}};
}

nlohmann::json order_json(const sales::Order& o) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : o.lines) {
    lines.push_back({{"id", l.id},
                     {"product_id", l.product_id},
                     {"sku", l.sku},
                     {"quantity", l.quantity.to_string()},
                     {"unit_price", l.unit_price.to_string()},
                     {"line_total", l.line_total.to_string()},
                     {"cost", opt_dec(l.cost)}});
  }
  return {{"id", o.id},
          {"status", o.status},
          {"customer_id", o.customer_id},
          {"total", o.total.to_string()},
          {"cost_of_goods", opt_dec(o.cost_of_goods)},
          {"location", opt(o.location)},
          {"invoice_id", opt(o.invoice_id)},
          {"created_by", opt(o.created_by)},
          {"approved_at", opt(o.approved_at)},
          {"fulfilled_at", opt(o.fulfilled_at)},
          {"created_at", o.created_at},
          {"lines", lines}};
}

nlohmann::json invoice_json(const billing::Invoice& i) {
  return {{"id", i.id},
          {"order_id", i.order_id},
          {"customer_id", i.customer_id},
          {"status", i.status},
          {"total", i.total.to_string()},
          {"paid", i.paid.to_string()},
          {"balance", i.balance().to_string()},
          {"due_date", i.due_date},
          {"issued_at", i.issued_at},
          {"paid_at", opt(i.paid_at)}};
}

nlohmann::json vendor_json(const procurement::Vendor& v) {
  return {{"id", v.id},
          {"name", v.name},
          {"email", v.email},
          {"created_at", v.created_at},
          {"updated_at", v.updated_at}};
}

nlohmann::json goods_receipt_json(const procurement::GoodsReceipt& g) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : g.lines) {
    lines.push_back({{"id", l.id},
                     {"purchase_order_line_id", l.purchase_order_line_id},
                     {"sku", l.sku},
                     {"quantity", l.quantity.to_string()},
                     {"unit_cost", l.unit_cost.to_string()},
                     {"batch_id", l.batch_id},
                     {"batch", l.batch},
                     {"expiry_date", opt(l.expiry_date)}});
  }
  return {{"id", g.id},
          {"purchase_order_id", g.purchase_order_id},
          {"location", g.location},
          {"received_by", opt(g.received_by)},
          {"received_at", g.received_at},
          {"lines", lines}};
}

nlohmann::json purchase_order_json(const procurement::PurchaseOrder& o) {
  nlohmann::json lines = nlohmann::json::array(), receipts = nlohmann::json::array();
  for (const auto& l : o.lines) {
    lines.push_back({{"id", l.id},
                     {"product_id", l.product_id},
                     {"sku", l.sku},
                     {"quantity", l.quantity.to_string()},
                     {"quantity_received", l.quantity_received.to_string()},
                     {"unit_cost", l.unit_cost.to_string()},
                     {"line_total", l.line_total.to_string()}});
  }
  for (const auto& g : o.receipts) receipts.push_back(goods_receipt_json(g));
  return {{"id", o.id},
          {"status", o.status},
          {"vendor_id", o.vendor_id},
          {"vendor_name", o.vendor_name},
          {"total", o.total.to_string()},
          {"created_by", opt(o.created_by)},
          {"approved_by", opt(o.approved_by)},
          {"approved_at", opt(o.approved_at)},
          {"received_at", opt(o.received_at)},
          {"created_at", o.created_at},
          {"updated_at", o.updated_at},
          {"lines", lines},
          {"receipts", receipts}};
}

}  // namespace unity::erp
