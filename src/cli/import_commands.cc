// import TYPE FILE [--map=field=Column,…] (dispatches ProcessBulkImport) and imports:show ID (the
// import's status, counts and row errors). The file is copied under STORAGE_PATH/imports before
// the job is dispatched, so the job does not depend on the caller's file staying. `import --wait`
// and `imports:show --watch` follow the import to its end (cli/progress.h) and exit 5 when it
// failed; so does `import` with QUEUE_CONNECTION=sync, where the job runs inside the command.
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/progress.h"
#include "core/error.h"
#include "db/tenancy.h"
#include "events/event_bus.h"
#include "jobs/import_job.h"
#include "jobs/job_start.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

struct ImportArgs {
  int64_t tenant = 0;
  std::optional<int64_t> user;
  std::string type, file, map;
  FollowArgs wait;
};

bool finished(const nlohmann::json& status) {
  const auto& s = status["status"];
  return s != "pending" && s != "processing";
}

// "Import 3: completed, 2 imported, 0 failed of 2".
std::string status_line(int64_t id, const nlohmann::json& s) {
  return "Import " + std::to_string(id) + ": " + s["status"].get<std::string>() + ", " +
         std::to_string(s["imported_rows"].get<int64_t>()) + " imported, " +
         std::to_string(s["failed_rows"].get<int64_t>()) + " failed of " +
         std::to_string(s["total_rows"].get<int64_t>());
}

// Exits 5 with the import's last error when it ended failed (a file-level error or given up).
void check_not_failed(int64_t id, const nlohmann::json& s) {
  if (s["status"] != "failed") return;
  const auto& errors = s["errors"];
  throw_job_failed("import " + std::to_string(id),
                   errors.empty() ? "see `unity imports:show " + std::to_string(id) + "`"
                                  : errors.back()["message"].get<std::string>());
}

void define_import(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ImportArgs>();
  app.add_option("type", a->type, "products | customers | vendors | inventory")->required();
  app.add_option("file", a->file, "The CSV file (RFC 4180, UTF-8, header row)")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "Importing user id (must belong to the tenant)");
  app.add_option("--map", a->map,
                 "field=Column,… (default: columns named like the fields, any case)");
  add_follow_options(app, a->wait, "--wait",
                     "Follow the import to its end (a progress bar on a terminal; needs a "
                     "worker), print its status, exit 5 if it failed");
  app.callback([&ctx, a] {
    jobs::check_import_request(a->type, a->map);
    db::Connection& conn = ctx.tenant_app(a->tenant);
    const auto started = jobs::start_import(
        conn, {ctx.config(), ctx.dispatcher(), a->tenant, a->user}, a->type, a->file, a->map);
    const auto& job = started.job;
    const int64_t import_id = started.id;
    const bool ran = ctx.config().queue_connection == QueueConnection::kSync;
    nlohmann::json out = started.json;
    if (!ran && !a->wait.enabled) {
      ctx.emit(out, "Dispatched ProcessBulkImport as job " + std::to_string(job.id) +
                        " for import " + std::to_string(import_id));
      return;
    }
    const std::string label = "import " + std::to_string(import_id);
    JobEnd end;
    if (!ran) {
      end = wait_for_job(ctx, conn,
                         {label, job.id, job.uuid,
                          "; follow it with `unity imports:show " + std::to_string(import_id) +
                              " --tenant " + std::to_string(a->tenant) + " --watch`",
                          [&] { return finished(jobs::import_status(conn, import_id)); }},
                         a->wait);
    }
    const auto s = jobs::import_status(conn, import_id);
    for (const char* k : {"status", "total_rows", "imported_rows", "failed_rows"}) out[k] = s[k];
    ctx.emit(out, status_line(import_id, s));
    // Waited for, or run inline (QUEUE_CONNECTION=sync): a failed import is a failed command.
    if (end.failed) throw_job_failed(label, end.error);
    check_not_failed(import_id, s);
  });
}

struct ShowArgs {
  int64_t tenant = 0;
  int64_t id = 0;
  FollowArgs watch;
};

// imports:show --watch: the import's rows processed of its total, until it has finished.
void watch_import(Context& ctx, db::Connection& conn, const ShowArgs& a) {
  auto poll = [&]() -> FollowState {
    const auto s = jobs::import_status(conn, a.id);
    const int64_t total = s["total_rows"].get<int64_t>();
    const int64_t done = s["imported_rows"].get<int64_t>() + s["failed_rows"].get<int64_t>();
    int percent = s["status"] == "pending" ? 0 : -1;
    if (total > 0) percent = static_cast<int>(done * 100 / total);
    if (s["status"] == "completed" || s["status"] == "completed_with_errors") percent = 100;
    return {finished(s), percent, s["status"].get<std::string>()};
  };
  follow("import " + std::to_string(a.id), !ctx.json, a.watch, poll,
         "; is a worker running? (`unity queue:work`)");
}

void define_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ShowArgs>();
  app.add_option("id", a->id, "Import id")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  add_follow_options(app, a->watch, "--watch",
                     "Follow the import until it has finished (a progress bar on a terminal), "
                     "then show it; exit 5 if it failed");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    if (a->watch.enabled) watch_import(ctx, conn, *a);
    const auto s = jobs::import_status(conn, a->id);
    std::string human = status_line(a->id, s) + "\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : s["errors"]) {
      rows.push_back({std::to_string(e["row"].get<int64_t>()),
                      e["column"].is_null() ? "" : e["column"].get<std::string>(),
                      e["message"].get<std::string>()});
    }
    if (!rows.empty()) human += render_table({"row", "column", "message"}, rows);
    ctx.emit(s, human);
    if (a->watch.enabled) check_not_failed(a->id, s);
  });
}

}  // namespace

void add_import_commands(Commands& commands, Context& ctx) {
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
