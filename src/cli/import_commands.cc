// import TYPE FILE [--map=field=Column,…] (dispatches ProcessBulkImport) and imports:show ID (the
// import's status, counts and row errors). The file is copied under STORAGE_PATH/imports before
// the job is dispatched, so the job does not depend on the caller's file staying.
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/error.h"
#include "db/tenancy.h"
#include "events/event_bus.h"
#include "jobs/import_job.h"
#include "jobs/rate_limit.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

struct ImportArgs {
  int64_t tenant = 0;
  std::optional<int64_t> user;
  std::string type, file, map;
};

void define_import(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ImportArgs>();
  app.add_option("type", a->type, "products | customers | vendors | inventory")->required();
  app.add_option("file", a->file, "The CSV file (RFC 4180, UTF-8, header row)")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "Importing user id (must belong to the tenant)");
  app.add_option("--map", a->map,
                 "field=Column,… (default: columns named like the fields, any case)");
  app.callback([&ctx, a] {
    const jobs::ColumnMap map = jobs::parse_column_map(a->type, a->map);
    db::Connection& conn = ctx.tenant_app(a->tenant);
    if (a->user) db::find_user(conn, *a->user);
    jobs::limit_job_start(conn, ctx.config(), "import", a->tenant, a->user);
    const int64_t import_id =
        jobs::create_import(conn, ctx.config().storage_path, a->type, a->file, a->user);
    auto job = ctx.dispatcher().dispatch(conn, a->tenant, jobs::kProcessBulkImport,
                                         jobs::import_payload(import_id, map, a->user));
    const bool ran = ctx.config().queue_connection == QueueConnection::kSync;
    std::string human = "Dispatched ProcessBulkImport as job " + std::to_string(job.id) +
                        " for import " + std::to_string(import_id);
    if (ran) {
      const auto s = jobs::import_status(conn, import_id);
      human = "Import " + std::to_string(import_id) + ": " + s["status"].get<std::string>() + ", " +
              std::to_string(s["imported_rows"].get<int64_t>()) + " imported, " +
              std::to_string(s["failed_rows"].get<int64_t>()) + " failed of " +
              std::to_string(s["total_rows"].get<int64_t>());
    }
    ctx.emit(
        {{"job_id", job.id}, {"import_id", import_id}, {"uuid", job.uuid}, {"queue", job.queue}},
        human);
  });
}

struct ShowArgs {
  int64_t tenant = 0;
  int64_t id = 0;
};

void define_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ShowArgs>();
  app.add_option("id", a->id, "Import id")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    const auto s = jobs::import_status(conn, a->id);
    std::string human = "Import " + std::to_string(a->id) + ": " + s["status"].get<std::string>() +
                        ", " + std::to_string(s["imported_rows"].get<int64_t>()) + " imported, " +
                        std::to_string(s["failed_rows"].get<int64_t>()) + " failed of " +
                        std::to_string(s["total_rows"].get<int64_t>()) + "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : s["errors"]) {
      rows.push_back({std::to_string(e["row"].get<int64_t>()),
                      e["column"].is_null() ? "" : e["column"].get<std::string>(),
                      e["message"].get<std::string>()});
    }
    if (!rows.empty()) human += render_table({"row", "column", "message"}, rows);
    ctx.emit(s, human);
  });
}

}  // namespace

void add_import_commands(Commands& commands, Context& ctx) {
  // The job's services dispatch their events on this binary's bus (wired on first use).
  jobs::set_import_events([&ctx]() -> events::EventDispatcher& { return ctx.bus(); });
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"import",
                      "Dispatch ProcessBulkImport: import TYPE FILE [--map=field=Column,…] "
                      "(products, customers, vendors, inventory)",
                      with(define_import)});
  commands.push_back({"imports:show", "An import's status, counts and row errors: imports:show ID",
                      with(define_show)});
}

}  // namespace unity::cli
