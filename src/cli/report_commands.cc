// report (dispatches GenerateReports) and reports:show (the row that tracks it).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
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

struct ReportArgs {
  int64_t tenant = 0;
  int64_t user = 0;
  jobs::ReportRequest request;
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
    const auto row = jobs::load_report(conn, id);
    ctx.emit({{"job_id", job.id},
              {"uuid", job.uuid},
              {"queue", job.queue},
              {"report_id", id},
              {"status", row.status},
              {"path", opt(row.path)}},
             sync ? "Report " + std::to_string(id) + " " + row.status + ": " + row.path.value_or("")
                  : "Dispatched GenerateReports as job " + std::to_string(job.id) + " for report " +
                        std::to_string(id));
  });
}

struct ShowArgs {
  int64_t tenant = 0;
  int64_t id = 0;
};

void define_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ShowArgs>();
  app.add_option("id", a->id, "Report id")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
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
