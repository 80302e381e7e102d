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
#include "jobs/rate_limit.h"
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

// Records the request and dispatches the job in one transaction. Under the sync driver the job
// runs inside it; when it fails, its writes roll back and the row is marked failed here, then the
// error reaches the caller.
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
    db::find_user(conn, a->user);
    a->request.user_id = a->user;
    jobs::validate_report_request(a->request);
    const bool sync = ctx.config().queue_connection == QueueConnection::kSync;
    db::Transaction tx(conn);
    jobs::limit_job_start(conn, ctx.config(), "report", a->tenant, a->user);
    const int64_t id =
        jobs::request_report(conn, a->request, ctx.config().storage_path, system_clock());
    queue::InsertedJob job;
    try {
      job = ctx.dispatcher().dispatch(conn, a->tenant, jobs::kGenerateReports,
                                      dump_json(nlohmann::json{{"report_id", id}}));
    } catch (const Error& e) {
      if (!sync) throw;
      jobs::mark_report_failed(conn, id, e.what(), system_clock());
      tx.commit();
      throw;
    }
    tx.commit();
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
    ctx.emit({{"job_id", job.id},
              {"uuid", job.uuid},
              {"queue", job.queue},
              {"report_id", id},
              {"status", row.status},
              {"path", opt(row.path)}},
             sync || waited
                 ? "Report " + std::to_string(id) + " " + row.status + ": " +
                       (row.status == "failed" ? row.error_message : row.path).value_or("")
                 : "Dispatched GenerateReports as job " + std::to_string(job.id) + " for report " +
                       std::to_string(id));
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
    nlohmann::json out = {{"id", r.id},
                          {"status", r.status},
                          {"report_type", r.report_type},
                          {"format", r.format},
                          {"file_name", opt(r.file_name)},
                          {"path", opt(r.path)},
                          {"parameters", parse_json_object(r.parameters, "parameters")},
                          {"error_message", opt(r.error_message)},
                          {"generated_at", opt(r.generated_at)},
                          {"failed_at", opt(r.failed_at)}};
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
