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
#include "jobs/job_start.h"
#include "jobs/valuation.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

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
    const auto started = jobs::start_valuation(
        conn, {ctx.config(), ctx.dispatcher(), a->tenant, a->user}, a->product, a->location);
    const auto& job = started.job;
    const bool ran = ctx.config().queue_connection == QueueConnection::kSync;
    const std::string label = "valuation job " + std::to_string(job.id);
    JobEnd end;
    if (a->wait.enabled && !ran) {
      end = wait_for_job(ctx, conn, {label, job.id, job.uuid, "", {}}, a->wait);
    }
    nlohmann::json out = started.json;
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
    const nlohmann::json out = jobs::valuations_json(conn, optional_string(data, "sku"),
                                                     optional_string(data, "location"));
    std::vector<std::vector<std::string>> rows;
    for (const auto& v : out) {
      auto text = [&](const char* k) { return v[k].get<std::string>(); };
      rows.push_back({text("sku"), v["location"].is_null() ? "(all)" : text("location"),
                      text("on_hand"), text("fifo_value"), text("average_cost"),
                      std::to_string(v["movements_count"].get<int64_t>()), text("calculated_at")});
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
