// valuation:recalculate (dispatches RecalculateInventoryValuation) and valuation:show (the
// valuations it stored). `--product` names a product as DESIGN.md does (an integer is its id,
// anything else its SKU); valuation:show's {"sku"} is a SKU; locations are named by code. An
// unknown one is kNotFound before anything is dispatched. `valuation:recalculate --wait` follows
// the job to its end (cli/progress.h) and exits 5 when it failed.
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/json.h"
#include "db/tenancy.h"
#include "erp/catalog/catalog_service.h"
#include "erp/input.h"
#include "jobs/rate_limit.h"
#include "jobs/valuation.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

int64_t product_id_of(db::Connection& conn, const std::string& sku) {
  auto p = erp::catalog::load_product_by_sku(conn, sku);
  if (!p) throw not_found("product with SKU " + quote_for_message(sku) + " not found");
  return p->id;
}

// --product: an integer is the product's id, anything else its SKU.
int64_t product_id_named(db::Connection& conn, const std::string& name) {
  auto p = erp::catalog::load_product_named(conn, name);
  if (!p) throw not_found("product " + quote_for_message(name) + " not found (by id or SKU)");
  return p->id;
}

int64_t location_id_of(db::Connection& conn, const std::string& code) {
  auto row = conn.query_one("SELECT id FROM locations WHERE tenant_id = $1 AND code = $2",
                            {conn.require_tenant(), code});
  if (!row) throw not_found("location " + quote_for_message(code) + " not found");
  return row->get<int64_t>(0);
}

struct RecalculateArgs {
  int64_t tenant = 0;
  std::optional<int64_t> user;
  std::string product, location;
  FollowArgs wait;
};

void define_recalculate(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<RecalculateArgs>();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "Requesting user id (must belong to the tenant)");
  app.add_option("--product", a->product, "Only this product (an integer is its id, else its SKU)");
  app.add_option("--location", a->location, "Only this location (code)");
  add_follow_options(app, a->wait, "--wait",
                     "Follow the job to its end (a progress bar on a terminal; needs a worker), "
                     "exit 5 if it failed");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    if (a->user) db::find_user(conn, *a->user);
    nlohmann::json payload = nlohmann::json::object();
    if (!a->product.empty()) payload["product_id"] = product_id_named(conn, a->product);
    if (!a->location.empty()) {
      location_id_of(conn, a->location);
      payload["location"] = a->location;
    }
    if (a->user) payload["user_id"] = *a->user;
    jobs::limit_job_start(conn, ctx.config(), "valuation:recalculate", a->tenant, a->user);
    auto job = ctx.dispatcher().dispatch(conn, a->tenant, jobs::kRecalculateInventoryValuation,
                                         dump_json(payload));
    const bool ran = ctx.config().queue_connection == QueueConnection::kSync;
    const std::string label = "valuation job " + std::to_string(job.id);
    JobEnd end;
    if (a->wait.enabled && !ran) {
      end = wait_for_job(ctx, conn, {label, job.id, job.uuid, "", {}}, a->wait);
    }
    nlohmann::json out = {{"job_id", job.id}, {"uuid", job.uuid}, {"queue", job.queue}};
    std::string human = "Dispatched RecalculateInventoryValuation as job " +
                        std::to_string(job.id) + " on queue " + job.queue;
    if (ran) human = "Recalculated the inventory valuation (sync)";
    if (a->wait.enabled) {
      out["status"] = end.failed ? "failed" : "completed";
      if (!ran) human = "Recalculated the inventory valuation";
      if (end.failed) human = "The inventory valuation failed: " + end.error;
    }
    ctx.emit(out, human);
    if (end.failed) throw_job_failed(label, end.error);
  });
}

struct ShowArgs {
  int64_t tenant = 0;
  std::string data;
};

void define_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ShowArgs>();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--data", a->data, "{\"sku\"?, \"location\"?}; - reads stdin");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    if (a->data == "-") {
      std::stringstream ss;
      ss << std::cin.rdbuf();
      a->data = ss.str();
    }
    const nlohmann::json data =
        a->data.empty() ? nlohmann::json::object() : parse_json_object(a->data, "--data");
    erp::reject_unknown_fields(data, {"sku", "location"});
    jobs::ValuationScope scope;
    if (auto sku = optional_string(data, "sku")) scope.product_id = product_id_of(conn, *sku);
    if (auto code = optional_string(data, "location")) {
      scope.location_id = location_id_of(conn, *code);
    }
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : jobs::load_valuations(conn, scope)) {
      const auto& v = s.valuation;
      out.push_back({{"sku", s.sku},
                     {"location", s.location ? nlohmann::json(*s.location) : nlohmann::json()},
                     {"on_hand", v.on_hand.to_string()},
                     {"fifo_value", v.fifo_value.to_string()},
                     {"average_cost", v.average_cost.to_string()},
                     {"movements_count", v.movements},
                     {"calculated_at", s.calculated_at}});
      rows.push_back({s.sku, s.location.value_or("(all)"), v.on_hand.to_string(),
                      v.fifo_value.to_string(), v.average_cost.to_string(),
                      std::to_string(v.movements), s.calculated_at});
    }
    ctx.emit(out, render_table({"sku", "location", "on_hand", "fifo_value", "average_cost",
                                "movements", "calculated_at"},
                               rows));
  });
}

}  // namespace

void add_valuation_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"valuation:recalculate",
                      "Dispatch RecalculateInventoryValuation (FIFO) [--product=ID|SKU] "
                      "[--location=CODE]",
                      with(define_recalculate)});
  commands.push_back({"valuation:show",
                      "Stored inventory valuations {sku?,location?}: on hand, FIFO value, "
                      "average cost",
                      with(define_show)});
}

}  // namespace unity::cli
