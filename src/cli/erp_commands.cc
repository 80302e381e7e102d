// Domain commands of the catalog and inventory modules: product:create|update|delete|show,
// stock:receive|adjust|show, stock:check-expiry. Writes take --tenant, --user (must belong to the
// tenant) and --data='{…}' or --data=- (stdin); each write and its events commit together.

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/domain_args.h"
#include "cli/scans.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/json.h"
#include "db/tenancy.h"
#include "erp/catalog/catalog_service.h"
#include "erp/erp.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"
#include "erp/views.h"
#include "events/event_bus.h"
#include "notify/notifier.h"

namespace unity::cli {

namespace {

using erp::catalog::CatalogService;
using erp::catalog::Product;
using erp::inventory::InventoryService;

using erp::movement_json;
using erp::product_json;

std::string product_human(const std::string& verb, const Product& p, Decimal on_hand) {
  return "Product " + std::to_string(p.id) + (verb.empty() ? "" : " " + verb) + ": " + p.sku + " " +
         p.name + ", price " + p.price.to_string() + ", cost " + p.cost.to_string() +
         ", reorder level " + p.reorder_level.to_string() + " " + p.unit + ", on hand " +
         on_hand.to_string() + (p.deleted_at ? ", deleted " + *p.deleted_at : "");
}

using ProductAction = Product (*)(CatalogService&, const nlohmann::json&);

void define_product_write(CLI::App& app, Context& ctx, std::string verb, ProductAction action) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.callback([&ctx, a, verb, action] {
    Session s = open_session(ctx, *a);
    CatalogService catalog(s.conn, ctx.bus(), s.user);
    Product p = action(catalog, s.data);
    const Decimal on_hand = InventoryService(s.conn, ctx.bus(), s.user).on_hand(p.id);
    ctx.emit(product_json(p, on_hand), product_human(verb, p, on_hand));
  });
}

Product find_product(CatalogService& catalog, const nlohmann::json& data) {
  erp::reject_unknown_fields(data, {"id", "sku"});
  if (auto id = optional_int(data, "id")) return catalog.find(*id);
  if (auto sku = optional_string(data, "sku")) return catalog.find_by_sku(*sku);
  throw invalid_argument("--data must name the product by \"id\" or \"sku\"");
}

void define_product_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.callback([&ctx, a] {
    Session s = open_session(ctx, *a);
    CatalogService catalog(s.conn, ctx.bus(), s.user);
    Product p = find_product(catalog, s.data);
    const Decimal on_hand = InventoryService(s.conn, ctx.bus(), s.user).on_hand(p.id);
    ctx.emit(product_json(p, on_hand), product_human("", p, on_hand));
  });
}

void define_stock_receive(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.callback([&ctx, a] {
    Session s = open_session(ctx, *a);
    auto receipt = erp::inventory::Receipt::from_json(s.data);
    auto r = InventoryService(s.conn, ctx.bus(), s.user).receive(receipt);
    nlohmann::json out = movement_json(receipt.sku, receipt.location, r, receipt.quantity);
    out["id"] = out["batch_id"];
    ctx.emit(out, "Received " + receipt.quantity.to_string() + " of " + receipt.sku + " at " +
                      receipt.location + " (batch " + std::to_string(r.batch_id.value_or(0)) +
                      "); on hand " + r.on_hand.to_string());
  });
}

void define_stock_adjust(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.callback([&ctx, a] {
    Session s = open_session(ctx, *a);
    auto adj = erp::inventory::Adjustment::from_json(s.data);
    auto r = InventoryService(s.conn, ctx.bus(), s.user).adjust(adj);
    ctx.emit(movement_json(adj.sku, adj.location, r, adj.quantity),
             "Adjusted " + adj.sku + " at " + adj.location + " by " + adj.quantity.to_string() +
                 "; on hand " + r.on_hand.to_string());
  });
}

void define_stock_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.callback([&ctx, a] {
    Session s = open_session(ctx, *a);
    erp::reject_unknown_fields(s.data, {"sku"});
    auto level = InventoryService(s.conn, ctx.bus(), s.user).stock(require_string(s.data, "sku"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : level.batches) {
      rows.push_back({b.batch, b.location, b.quantity_remaining.to_string(),
                      b.unit_cost.to_string(), b.expiry_date.value_or("")});
    }
    ctx.emit(
        erp::stock_json(level),
        level.sku + ": " + level.on_hand.to_string() + " on hand\n" +
            render_table({"batch", "location", "remaining", "unit_cost", "expiry_date"}, rows));
  });
}

struct ExpiryArgs {
  std::optional<int64_t> tenant;
  std::string as_of;
  int days = 30;
};

void define_check_expiry(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ExpiryArgs>();
  app.add_option("--tenant", a->tenant, "Only this tenant (default: every tenant)");
  app.add_option("--as-of", a->as_of, "The scan's date, YYYY-MM-DD (default: today, UTC)");
  app.add_option("--days", a->days, "Window in days")->capture_default_str();
  app.callback([&ctx, a] {
    const std::string as_of =
        a->as_of.empty() ? format_iso8601(system_clock().now()).substr(0, 10) : a->as_of;
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& [tenant, e] : jobs::check_expiry_for_tenants(
             scan_context(ctx), jobs::scan_tenants(ctx.app(), a->tenant), as_of, a->days)) {
      out.push_back({{"tenant_id", tenant},
                     {"batch_id", e.batch_id},
                     {"sku", e.sku},
                     {"batch", e.batch},
                     {"location", e.location},
                     {"expiry_date", e.expiry_date},
                     {"days_left", e.days_left},
                     {"severity", e.severity},
                     {"quantity_remaining", e.quantity_remaining.to_string()}});
      rows.push_back({std::to_string(tenant), e.sku, e.batch, e.expiry_date,
                      std::to_string(e.days_left), e.severity});
    }
    ctx.emit(out, render_table({"tenant", "sku", "batch", "expiry_date", "days_left", "severity"},
                               rows));
  });
}

}  // namespace

void add_erp_commands(Commands& commands, Context& ctx) {
  auto write = [&ctx](std::string verb, ProductAction action) {
    return [&ctx, verb, action](CLI::App& app) { define_product_write(app, ctx, verb, action); };
  };
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"product:create", "Create a product {sku,name,price,cost,reorder_level,unit}",
                      write("created", [](CatalogService& c, const nlohmann::json& d) {
                        return c.create(erp::catalog::ProductDraft::from_json(d));
                      })});
  commands.push_back({"product:update", "Update a product {id,…fields}",
                      write("updated", [](CatalogService& c, const nlohmann::json& d) {
                        return c.update(erp::catalog::ProductPatch::from_json(d));
                      })});
  commands.push_back({"product:delete", "Delete a product {id} (soft delete)",
                      write("deleted", [](CatalogService& c, const nlohmann::json& d) {
                        erp::reject_unknown_fields(d, {"id"});
                        return c.remove(require_int(d, "id"));
                      })});
  commands.push_back({"product:show", "Show a product {id|sku} with its on-hand quantity",
                      with(define_product_show)});
  commands.push_back({"stock:receive",
                      "Receive stock {sku,location,quantity,unit_cost,batch,expiry_date}",
                      with(define_stock_receive)});
  commands.push_back({"stock:adjust", "Adjust stock {sku,location,quantity (signed),reason}",
                      with(define_stock_adjust)});
  commands.push_back(
      {"stock:show", "A product's stock {sku}: per location and batch", with(define_stock_show)});
  commands.push_back({"stock:check-expiry",
                      "The daily expiry scan: StockExpiring for batches expiring within --days",
                      with(define_check_expiry)});
}

}  // namespace unity::cli
