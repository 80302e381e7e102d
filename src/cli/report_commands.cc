// report (dispatches GenerateReports) and reports:show (the row that tracks it). `report --wait`
// and `reports:show --watch` follow the report to its end (cli/progress.h) and exit 5 when it
// failed.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/json.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "jobs/job_start.h"
#include "jobs/report_job.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

nlohmann::json opt(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json();
}

bool finished(const std::string& status) { return status == "completed" || status == "failed"; }

// Exits 5 with the report's error when it ended failed.
void check_not_failed(const jobs::StoredReport& r) {
  if (r.status != "failed") return;
  throw_job_failed("report " + std::to_string(r.id), r.error_message.value_or("no error recorded"));
}

struct ReportArgs {
  int64_t tenant = 0;
  int64_t user = 0;
  jobs::ReportRequest request;
  FollowArgs wait;
};

// Records the request and dispatches the job (jobs::start_report); under the sync driver the job
// has run inside it, and a failure has marked the row failed and reaches the caller.
void define_report(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ReportArgs>();
  app.add_option("type", a->request.report_type,
                 "sales | inventory | financial | customer | procurement")
      ->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "Requesting user id (receives ReportGeneratedNotification)")
      ->required();
  app.add_option("--from", a->request.from, "First day, YYYY-MM-DD")->required();
  app.add_option("--to", a->request.to, "Last day, YYYY-MM-DD (inclusive)")->required();
  app.add_option("--format", a->request.format, "csv | json | xlsx | pdf")->required();
  add_follow_options(app, a->wait, "--wait",
                     "Follow the report to its end (a progress bar on a terminal; needs a "
                     "worker), print its status, exit 5 if it failed");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    const bool sync = ctx.config().queue_connection == QueueConnection::kSync;
    const auto started =
        jobs::start_report(conn, {ctx.config(), ctx.dispatcher(), a->tenant, a->user}, a->request);
    const auto& job = started.job;
    const int64_t id = started.id;
    const bool waited = a->wait.enabled && !sync;
    JobEnd end;
    if (waited) {
      end = wait_for_job(ctx, conn,
                         {"report " + std::to_string(id), job.id, job.uuid,
                          "; follow it with `unity reports:show " + std::to_string(id) +
                              " --tenant " + std::to_string(a->tenant) + " --watch`",
                          [&] { return finished(jobs::load_report(conn, id).status); }},
                         a->wait);
    }
    const auto row = jobs::load_report(conn, id);
    nlohmann::json out = started.json;
    out["status"] = row.status;
    out["path"] = opt(row.path);
    ctx.emit(out, sync || waited
                      ? "Report " + std::to_string(id) + " " + row.status + ": " +
                            (row.status == "failed" ? row.error_message : row.path).value_or("")
                      : "Dispatched GenerateReports as job " + std::to_string(job.id) +
                            " for report " + std::to_string(id));
    if (!a->wait.enabled) return;
    if (end.failed && row.status != "failed")
      throw_job_failed("report " + std::to_string(id), end.error);
    check_not_failed(row);
  });
}

struct ShowArgs {
  int64_t tenant = 0;
  int64_t id = 0;
  FollowArgs watch;
};

// reports:show --watch: the row has no progress of its own, so the bar shows its status.
void watch_report(Context& ctx, db::Connection& conn, const ShowArgs& a) {
  auto poll = [&]() -> FollowState {
    const auto r = jobs::load_report(conn, a.id);
    const int percent = r.status == "pending" ? 0 : r.status == "completed" ? 100 : -1;
    return {finished(r.status), percent, r.status};
  };
  follow("report " + std::to_string(a.id), !ctx.json, a.watch, poll,
         "; is a worker running? (`unity queue:work`)");
}

void define_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ShowArgs>();
  app.add_option("id", a->id, "Report id")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  add_follow_options(app, a->watch, "--watch",
                     "Follow the report until it has finished (a progress bar on a terminal), "
                     "then show it; exit 5 if it failed");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    if (a->watch.enabled) watch_report(ctx, conn, *a);
    const auto r = jobs::load_report(conn, a->id);
    const nlohmann::json out = jobs::report_json(r);
    ctx.emit(out,
             render_table({"id", "type", "status", "file", "path", "error"},
                          {{std::to_string(r.id), r.report_type, r.status, r.file_name.value_or(""),
                            r.path.value_or(""), r.error_message.value_or("")}}));
    if (a->watch.enabled) check_not_failed(r);
  });
}

}  // namespace

void add_report_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"report",
                      "Dispatch GenerateReports TYPE --tenant --user --from --to "
                      "--format=csv|json|xlsx|pdf",
                      with(define_report)});
  commands.push_back({"reports:show", "A report's status, file and path", with(define_show)});
}

}  // namespace unity::cli
