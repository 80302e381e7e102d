// Domain commands of the procurement module: vendor:create|show, po:create|approve|receive|show.
// Writes take --tenant, --user (must belong to the tenant) and --data='{…}' or --data=- (stdin);
// each write and its events commit together. --json prints the entity with its integer id; an
// order with its status, vendor_id, total, lines and receipts.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/domain_args.h"
#include "core/error.h"
#include "core/json.h"
#include "erp/input.h"
#include "erp/procurement/procurement_service.h"
#include "events/event_bus.h"

namespace unity::cli {

namespace {

using erp::procurement::GoodsReceipt;
using erp::procurement::ProcurementService;
using erp::procurement::PurchaseOrder;
using erp::procurement::Vendor;

nlohmann::json opt_json(const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

nlohmann::json vendor_json(const Vendor& v) {
  return {{"id", v.id},
          {"name", v.name},
          {"email", v.email},
          {"created_at", v.created_at},
          {"updated_at", v.updated_at}};
}

nlohmann::json receipt_json(const GoodsReceipt& g) {
  nlohmann::json lines = nlohmann::json::array();
  for (const auto& l : g.lines) {
    lines.push_back({{"id", l.id},
                     {"purchase_order_line_id", l.purchase_order_line_id},
                     {"sku", l.sku},
                     {"quantity", l.quantity.to_string()},
                     {"unit_cost", l.unit_cost.to_string()},
                     {"batch_id", l.batch_id},
                     {"batch", l.batch},
                     {"expiry_date", opt_json(l.expiry_date)}});
  }
  return {{"id", g.id},
          {"purchase_order_id", g.purchase_order_id},
          {"location", g.location},
          {"received_by", opt_json(g.received_by)},
          {"received_at", g.received_at},
          {"lines", lines}};
}

nlohmann::json order_json(const PurchaseOrder& o) {
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
  for (const auto& g : o.receipts) receipts.push_back(receipt_json(g));
  return {{"id", o.id},
          {"status", o.status},
          {"vendor_id", o.vendor_id},
          {"vendor_name", o.vendor_name},
          {"total", o.total.to_string()},
          {"created_by", opt_json(o.created_by)},
          {"approved_by", opt_json(o.approved_by)},
          {"approved_at", opt_json(o.approved_at)},
          {"received_at", opt_json(o.received_at)},
          {"created_at", o.created_at},
          {"updated_at", o.updated_at},
          {"lines", lines},
          {"receipts", receipts}};
}

std::string order_human(const std::string& verb, const PurchaseOrder& o) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : o.lines) {
    rows.push_back({l.sku, l.quantity.to_string(), l.quantity_received.to_string(),
                    l.unit_cost.to_string(), l.line_total.to_string()});
  }
  return "Purchase order " + std::to_string(o.id) + (verb.empty() ? "" : " " + verb) + " (" +
         o.status + "): vendor " + std::to_string(o.vendor_id) + " " + o.vendor_name + ", total " +
         o.total.to_string() + "\n" +
         render_table({"sku", "quantity", "received", "unit_cost", "line_total"}, rows);
}

std::string vendor_human(const std::string& verb, const Vendor& v) {
  return "Vendor " + std::to_string(v.id) + (verb.empty() ? "" : " " + verb) + ": " + v.name +
         " <" + v.email + ">";
}

// A command whose callback gets the service and the parsed --data.
using Action = void (*)(Context&, ProcurementService&, const nlohmann::json&);

void define(CLI::App& app, Context& ctx, Action action) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.callback([&ctx, a, action] {
    Session s = open_session(ctx, *a);
    ProcurementService procurement(s.conn, ctx.bus(), s.user);
    action(ctx, procurement, s.data);
  });
}

int64_t require_id(const nlohmann::json& data) {
  erp::reject_unknown_fields(data, {"id"});
  return require_int(data, "id");
}

void vendor_create(Context& ctx, ProcurementService& p, const nlohmann::json& data) {
  Vendor v = p.create_vendor(erp::procurement::VendorDraft::from_json(data));
  ctx.emit(vendor_json(v), vendor_human("created", v));
}

void vendor_show(Context& ctx, ProcurementService& p, const nlohmann::json& data) {
  Vendor v = p.find_vendor(require_id(data));
  ctx.emit(vendor_json(v), vendor_human("", v));
}

void po_create(Context& ctx, ProcurementService& p, const nlohmann::json& data) {
  PurchaseOrder o = p.create_order(erp::procurement::OrderDraft::from_json(data));
  ctx.emit(order_json(o), order_human("created", o));
}

void po_approve(Context& ctx, ProcurementService& p, const nlohmann::json& data) {
  PurchaseOrder o = p.approve(require_id(data));
  ctx.emit(order_json(o), order_human("approved", o));
}

void po_receive(Context& ctx, ProcurementService& p, const nlohmann::json& data) {
  GoodsReceipt g = p.receive(erp::procurement::ReceiptDraft::from_json(data));
  PurchaseOrder o = p.find_order(g.purchase_order_id);
  nlohmann::json out = order_json(o);
  out["receipt"] = receipt_json(g);
  out["receipt_id"] = g.id;
  ctx.emit(out, "Goods receipt " + std::to_string(g.id) + " at " + g.location + ". " +
                    order_human("", o));
}

void po_show(Context& ctx, ProcurementService& p, const nlohmann::json& data) {
  PurchaseOrder o = p.find_order(require_id(data));
  ctx.emit(order_json(o), order_human("", o));
}

}  // namespace

void add_procurement_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](Action action) {
    return [&ctx, action](CLI::App& app) { define(app, ctx, action); };
  };
  commands.push_back({"vendor:create", "Create a vendor {name,email}", with(vendor_create)});
  commands.push_back({"vendor:show", "Show a vendor {id}", with(vendor_show)});
  commands.push_back({"po:create",
                      "Create a draft purchase order {vendor_id,lines:[{sku,quantity,"
                      "unit_cost}]}",
                      with(po_create)});
  commands.push_back({"po:approve", "Approve a draft purchase order {id}", with(po_approve)});
  commands.push_back({"po:receive",
                      "Receive goods {id,location,lines:[{sku,quantity,batch,expiry_date}]}; "
                      "without lines everything outstanding",
                      with(po_receive)});
  commands.push_back(
      {"po:show", "Show a purchase order {id} with its lines and receipts", with(po_show)});
}

}  // namespace unity::cli
