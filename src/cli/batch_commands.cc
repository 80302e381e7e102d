// queue:batch, queue:chain, batch:show, queue:batches, batch:cancel (DESIGN.md "The Bus").
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/domain_args.h"
#include "core/error.h"
#include "db/tenancy.h"
#include "queue/batch.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

// The tenant's connection with --user checked, and --data's text (stdin for "-").
db::Connection& open(Context& ctx, DomainArgs& a) {
  db::Connection& conn = ctx.tenant_app(a.tenant);
  if (a.user) db::find_user(conn, *a.user);
  if (a.data == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    a.data = ss.str();
  }
  return conn;
}

std::string time_cell(const nlohmann::json& v) { return v.is_null() ? "-" : v.get<std::string>(); }

std::string state_of(const queue::Batch& b) {
  if (b.finished_at_us) return b.cancelled_at_us ? "finished (cancelled)" : "finished";
  return b.cancelled_at_us ? "cancelling" : "running";
}

std::vector<std::string> batch_row(const queue::Batch& b) {
  const nlohmann::json j = queue::batch_json(b);
  return {b.id,
          b.name,
          state_of(b),
          std::to_string(b.processed_jobs()) + "/" + std::to_string(b.total_jobs),
          std::to_string(b.failed_jobs),
          std::to_string(b.progress()) + "%",
          time_cell(j["created_at"]),
          time_cell(j["finished_at"])};
}

const std::vector<std::string> kHeaders = {"id",     "name",     "state",   "processed",
                                           "failed", "progress", "created", "finished"};

void define_batch(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.footer(
      "--data: {\"name\",\"jobs\":[spec|{\"chain\":[spec…],\"catch\"?:spec}…],\"then\"?:spec,"
      "\"catch\"?:spec,\"finally\"?:spec,\"allow_failures\"?:bool}; a spec is "
      "{\"type\",\"data\"?,\"queue\"?,\"priority\"?,\"delay\"?}\n");
  app.callback([&ctx, a] {
    db::Connection& conn = open(ctx, *a);
    const auto spec = queue::parse_batch_spec(a->data);
    const auto b = queue::dispatch_batch(conn, ctx.dispatcher(), a->tenant, spec, a->user);
    ctx.emit({{"batch_id", b.batch_id}, {"job_ids", b.job_ids}},
             "Dispatched batch " + b.batch_id + " with " + std::to_string(b.job_ids.size()) +
                 " job(s) (see `unity batch:show " + b.batch_id +
                 " --tenant=" + std::to_string(a->tenant) + "`)");
  });
}

void define_chain(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<DomainArgs>();
  add_domain_options(app, *a);
  app.footer(
      "--data: {\"jobs\":[spec…],\"catch\"?:spec}; a spec is "
      "{\"type\",\"data\"?,\"queue\"?,\"priority\"?,\"delay\"?}\n");
  app.callback([&ctx, a] {
    db::Connection& conn = open(ctx, *a);
    const auto spec = queue::parse_chain_spec(a->data);
    const auto c = queue::dispatch_chain(conn, ctx.dispatcher(), a->tenant, spec);
    ctx.emit({{"chain_id", c.chain_id}, {"job_id", c.job_id}},
             "Dispatched chain " + c.chain_id + " of " + std::to_string(spec.jobs.size()) +
                 " job(s); its first job is " + std::to_string(c.job_id));
  });
}

struct BatchIdArgs {
  std::string id;
  int64_t tenant = 0;
};

void add_id_options(CLI::App& app, BatchIdArgs& a) {
  app.add_option("id", a.id, "The batch id (a UUID)")->required();
  app.add_option("--tenant", a.tenant, "Tenant id")->required();
}

void define_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BatchIdArgs>();
  add_id_options(app, *a);
  app.callback([&ctx, a] {
    auto b = queue::batch_find(ctx.tenant_app(a->tenant), a->tenant, a->id);
    if (!b) throw not_found("batch " + a->id + " not found");
    const nlohmann::json j = queue::batch_json(*b);
    std::string failed;
    for (const auto& id : b->failed_job_ids) failed += (failed.empty() ? "" : ", ") + id;
    const std::vector<std::vector<std::string>> rows = {
        {"id", b->id},
        {"name", b->name},
        {"state", state_of(*b)},
        {"jobs", std::to_string(b->total_jobs) + " total, " + std::to_string(b->pending_jobs) +
                     " pending, " + std::to_string(b->processed_jobs()) + " processed, " +
                     std::to_string(b->failed_jobs) + " failed"},
        {"progress", std::to_string(b->progress()) + "%"},
        {"cancelled jobs", std::to_string(b->cancelled_jobs)},
        {"created by", b->user_id ? "user " + std::to_string(*b->user_id) : "-"},
        {"failed jobs", failed.empty() ? "-" : failed},
        {"created", time_cell(j["created_at"])},
        {"cancelled", time_cell(j["cancelled_at"])},
        {"finished", time_cell(j["finished_at"])}};
    ctx.emit(j, render_table({"field", "value"}, rows));
  });
}

void define_list(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<int64_t>(0);
  auto limit = std::make_shared<int>(50);
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.add_option("--limit", *limit, "Newest N (default 50)")->check(CLI::Range(1, 100000));
  app.callback([&ctx, tenant, limit] {
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& b : queue::batch_list(ctx.tenant_app(*tenant), *tenant, *limit)) {
      out.push_back(queue::batch_json(b));
      rows.push_back(batch_row(b));
    }
    ctx.emit(out, render_table(kHeaders, rows));
  });
}

void define_cancel(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BatchIdArgs>();
  add_id_options(app, *a);
  app.callback([&ctx, a] {
    const int64_t now = system_clock().now().time_since_epoch().count();
    const auto b = queue::batch_cancel(ctx.tenant_app(a->tenant), a->tenant, a->id, now);
    ctx.emit(queue::batch_json(b), "Batch " + b.id + " cancelled: its " +
                                       std::to_string(b.pending_jobs) +
                                       " unfinished job(s) not yet started will be skipped");
  });
}

}  // namespace

void add_batch_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"queue:batch",
                      "Dispatch a batch of jobs (and chains) with then/catch/finally",
                      with(define_batch)});
  commands.push_back({"queue:chain",
                      "Dispatch a chain: each job runs when the one before completes",
                      with(define_chain)});
  commands.push_back({"batch:show", "A batch's counters and progress", with(define_show)});
  commands.push_back({"queue:batches", "A tenant's batches, newest first", with(define_list)});
  commands.push_back({"batch:cancel", "Cancel a batch: its jobs not yet started are skipped",
                      with(define_cancel)});
}

}  // namespace unity::cli
