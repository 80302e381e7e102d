// sync TYPE (dispatches SyncExternalData) and syncs:list (the tenant's sync_logs rows). Also
// installs the job's runtime (the event bus and SYNC_TOKEN of this process: jobs/sync_job.h), so
// a `queue:work` of this binary runs the job with them. An endpoint whose host is not in
// SYNC_ALLOWED_HOSTS is refused before anything is written (exit 2). `sync --wait` follows the job
// to its end (cli/progress.h) and exits 5 when it failed.
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/json.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "events/event_bus.h"
#include "jobs/job_start.h"
#include "jobs/sync_job.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

struct SyncArgs {
  std::string type, endpoint, direction;
  int64_t tenant = 0;
  std::optional<int64_t> user;
  FollowArgs wait;
};

void define_sync(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<SyncArgs>();
  app.add_option("type", a->type, "products | customers | inventory | orders")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "Requesting user id (must belong to the tenant)");
  app.add_option("--endpoint", a->endpoint, "Base URL of the external system")->required();
  app.add_option("--direction", a->direction,
                 "pull | push (default: pull for products and customers, push for the others)");
  add_follow_options(app, a->wait, "--wait",
                     "Follow the job to its end (a progress bar on a terminal; needs a worker), "
                     "print its status, exit 5 if it failed");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    const bool inline_run = ctx.config().queue_connection == QueueConnection::kSync;
    const auto started =
        jobs::start_sync_job(conn, {ctx.config(), ctx.dispatcher(), a->tenant, a->user}, a->type,
                             a->direction, a->endpoint);
    const auto& job = started.job;
    const int64_t sync_id = started.id;
    const std::string label = "sync " + std::to_string(sync_id);
    const bool waited = a->wait.enabled && !inline_run;
    JobEnd end;
    if (waited) {
      end = wait_for_job(
          ctx, conn,
          {label, job.id, job.uuid,
           "; see it with `unity syncs:list --tenant " + std::to_string(a->tenant) + "`",
           [&] {
             auto r = jobs::load_sync(conn, sync_id);
             return !r || r->status != "running";
           }},
          a->wait);
    }
    const auto row = jobs::load_sync(conn, sync_id);
    nlohmann::json out = started.json;
    out["status"] = row ? row->status : "running";
    ctx.emit(out, inline_run || waited
                      ? "Synced " + a->type + " (" + (row ? row->direction : a->direction) +
                            "): sync " + std::to_string(sync_id) + " " + (row ? row->status : "") +
                            "\n"
                      : "Dispatched SyncExternalData as job " + std::to_string(job.id) + " (sync " +
                            std::to_string(sync_id) + ")\n");
    if (!a->wait.enabled) return;
    if (row && row->status == "failed") {
      throw_job_failed(label, row->error_message.value_or("no error recorded"));
    }
    if (end.failed) throw_job_failed(label, end.error);
  });
}

void define_list(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<int64_t>(0);
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.callback([&ctx, tenant] {
    db::Connection& conn = ctx.tenant_app(*tenant);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : jobs::load_syncs(conn)) {
      out.push_back(jobs::sync_json(s));
      rows.push_back({std::to_string(s.id), s.sync_type, s.direction, s.status,
                      std::to_string(s.records), s.synced_at.value_or(s.failed_at.value_or("")),
                      s.error_message.value_or("")});
    }
    ctx.emit(out,
             render_table({"id", "type", "direction", "status", "records", "at", "error"}, rows));
  });
}

}  // namespace

void add_sync_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"sync",
                      "Dispatch SyncExternalData: sync TYPE --endpoint=URL [--direction=pull|push]",
                      with(define_sync)});
  commands.push_back(
      {"syncs:list", "The tenant's external syncs, newest first", with(define_list)});
}

}  // namespace unity::cli
