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
#include "erp/views.h"
#include "events/event_bus.h"

namespace unity::cli {

namespace {

using erp::procurement::GoodsReceipt;
using erp::procurement::ProcurementService;
using erp::procurement::PurchaseOrder;
using erp::procurement::Vendor;

nlohmann::json order_json(const PurchaseOrder& o) { return erp::purchase_order_json(o); }
nlohmann::json receipt_json(const GoodsReceipt& g) { return erp::goods_receipt_json(g); }
using erp::vendor_json;

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
