// The GenerateReports job type, its `reports` row and its file (see report_job.h).
#include "jobs/report_job.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "erp/input.h"
#include "jobs/job_log.h"
#include "notify/messages.h"
#include "notify/notifier.h"
#include "queue/queues.h"

namespace unity::jobs {

namespace {

namespace fs = std::filesystem;

std::string part_path(const std::string& path) { return path + ".part"; }

void remove_quietly(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
}

// Creates (or empties) `path` readable by its owner and group only (0640): a report holds a
// tenant's business data, and the umask of whoever started the worker may be 022.
void create_private(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) throw unavailable("cannot create " + path + ": " + std::strerror(errno));
  const int rc = ::fchmod(fd, 0640);  // an existing file keeps its mode on open
  ::close(fd);
  if (rc != 0) throw unavailable("cannot set the mode of " + path + ": " + std::strerror(errno));
}

bool is_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  try {
    parse_iso8601(s);
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Errors no retry can fix.
const char* const kReportColumns =
    "id, report_type, status, format, file_name, path, error_message, generated_at, failed_at, "
    "user_id, parameters";

ReportRequest request_of(const StoredReport& r) {
  const auto p = parse_json_object(r.parameters, "the report's parameters");
  ReportRequest req;
  req.report_type = r.report_type;
  req.format = r.format;
  req.from = require_string(p, "from");
  req.to = require_string(p, "to");
  req.user_id = r.user_id;
  return req;
}

class GenerateReports final : public queue::Job {
 public:
  explicit GenerateReports(const Clock& clock) : clock_(clock) {}

  void handle(queue::JobContext& ctx) override {
    const JobLog log(ctx);
    run_attempt(ctx, log, [&] { run(ctx, log); });
  }

  void failed(queue::JobContext& ctx, const std::string& error) override {
    const auto payload = nlohmann::json::parse(ctx.payload(), nullptr, false);
    if (payload.is_object() && payload.contains("report_id") &&
        payload["report_id"].is_number_integer()) {
      mark_report_failed(ctx.db(), payload["report_id"].get<int64_t>(), error, clock_);
    }
    JobLog(ctx).step("failed", {{"error", error}});
  }

 private:
  void run(queue::JobContext& ctx, const JobLog& log) {
    db::Connection& conn = ctx.db();
    const auto payload = parse_json_object(ctx.payload(), "the GenerateReports payload");
    erp::reject_unknown_fields(payload, {"report_id"});
    const StoredReport row = load_report(conn, require_int(payload, "report_id"));
    if (row.status == "completed") {
      log.step("already_completed", {{"report_id", row.id}});
      return;
    }
    if (!row.path || !row.file_name) throw failed_precondition("the report has no file path");
    const ReportRequest request = request_of(row);
    validate_report_request(request);
    set_status(conn, row.id, "processing");
    log.step("started", {{"report_id", row.id},
                         {"report_type", request.report_type},
                         {"format", request.format},
                         {"from", request.from},
                         {"to", request.to}});
    ctx.progress(5);
    auto t0 = std::chrono::steady_clock::now();
    const std::string generated_at = format_iso8601(clock_.now());
    const Report report =
        build_report(conn, request, generated_at, [&ctx] { return ctx.cancelled(); });
    ctx.progress(60);
    log.step("built", {{"sections", report.sections.size()}, {"duration_ms", ms_since(t0)}});
    t0 = std::chrono::steady_clock::now();
    write_file(report, request.format, *row.path);
    log.step("written", {{"path", *row.path}, {"duration_ms", ms_since(t0)}});
    try {
      complete(conn, row, request, generated_at);
    } catch (...) {
      remove_quietly(*row.path);
      throw;
    }
    ctx.progress(100);
    log.step("completed", {{"report_id", row.id}});
  }

  static double ms_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }

  // To `path.part`, then renamed: a reader sees the whole file or none.
  static void write_file(const Report& report, const std::string& format, const std::string& path) {
    const std::string part = part_path(path);
    try {
      std::error_code ec;
      if (fs::create_directories(fs::path(path).parent_path(), ec)) {
        fs::permissions(fs::path(path).parent_path(),
                        fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec, ec);
      }
      if (ec)
        throw unavailable("cannot create the reports folder for " + path + ": " + ec.message());
      create_private(part);  // the writer truncates it and keeps its mode; rename keeps it too
      make_report_writer(format)->write(report, part);
      fs::rename(part, path, ec);
      if (ec) throw unavailable("cannot rename " + part + ": " + ec.message());
    } catch (...) {
      remove_quietly(part);
      throw;
    }
  }

  void set_status(db::Connection& conn, int64_t id, const std::string& status) {
    conn.execute("UPDATE reports SET status = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4",
                 {status, format_iso8601(clock_.now()), conn.require_tenant(), id});
  }

  // The row and the requester's notification in one transaction.
  void complete(db::Connection& conn, const StoredReport& row, const ReportRequest& request,
                const std::string& generated_at) {
    db::Transaction tx(conn);
    conn.execute(
        "UPDATE reports SET status = 'completed', generated_at = $1, error_message = NULL, "
        "failed_at = NULL, updated_at = $1 WHERE tenant_id = $2 AND id = $3",
        {generated_at, conn.require_tenant(), row.id});
    if (request.user_id) {
      const notify::ReportGeneratedNotification n({.report_id = row.id,
                                                   .report_type = request.report_type,
                                                   .file_name = *row.file_name,
                                                   .path = *row.path,
                                                   .format = request.format,
                                                   .requester = *request.user_id});
      notify::deliver_now(conn, {notify::Notifiable::user(*request.user_id)}, n.type(),
                          notify::render_data(n));
    }
    tx.commit();
  }

  const Clock& clock_;
};

}  // namespace

bool is_report_type(std::string_view type) {
  return type == "sales" || type == "inventory" || type == "financial" || type == "customer" ||
         type == "procurement";
}

void validate_report_request(const ReportRequest& r) {
  if (!is_report_type(r.report_type)) {
    throw invalid_argument("unknown report type " + quote_for_message(r.report_type) +
                           " (expected sales, inventory, financial, customer or procurement)");
  }
  if (!is_report_format(r.format)) {
    throw invalid_argument("--format: unknown format " + quote_for_message(r.format) +
                           " (expected csv, json, xlsx or pdf)");
  }
  if (!is_date(r.from))
    throw invalid_argument("--from: expected a date YYYY-MM-DD, got " + quote_for_message(r.from));
  if (!is_date(r.to))
    throw invalid_argument("--to: expected a date YYYY-MM-DD, got " + quote_for_message(r.to));
  if (r.from > r.to) throw invalid_argument("--from " + r.from + " is after --to " + r.to);
}

std::pair<std::string, std::string> report_interval(const std::string& from,
                                                    const std::string& to) {
  return {format_iso8601(parse_iso8601(from)),
          format_iso8601(parse_iso8601(to) + std::chrono::hours(24))};
}

int64_t request_report(db::Connection& conn, const ReportRequest& request,
                       const std::string& storage_path, const Clock& clock) {
  validate_report_request(request);
  const int64_t tenant = conn.require_tenant();
  const std::string now = format_iso8601(clock.now());
  const nlohmann::json params = {
      {"from", request.from}, {"to", request.to}, {"format", request.format}};
  db::Transaction tx(conn);
  auto row = conn.query_one(
      "INSERT INTO reports (tenant_id, user_id, report_type, format, parameters, status, "
      "created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) RETURNING id",
      {tenant, db::opt_value(request.user_id), request.report_type, request.format, params.dump(),
       now});
  const int64_t id = row->get<int64_t>(0);
  const std::string file_name = request.report_type + "-" + request.from + "-" + request.to + "-" +
                                std::to_string(id) + "." + request.format;
  // Absolute, resolved where the report is requested (as an import's copy is): a worker started
  // in another directory writes the file where the requester's STORAGE_PATH says, not its own.
  const std::string path =
      fs::absolute(fs::path(storage_path) / "reports" / std::to_string(tenant) / file_name)
          .lexically_normal()
          .string();
  conn.execute("UPDATE reports SET file_name = $1, path = $2 WHERE tenant_id = $3 AND id = $4",
               {file_name, path, tenant, id});
  tx.commit();
  return id;
}

StoredReport load_report(db::Connection& conn, int64_t id) {
  auto r = conn.query_one(
      std::string("SELECT ") + kReportColumns + " FROM reports WHERE tenant_id = $1 AND id = $2",
      {conn.require_tenant(), id});
  if (!r) throw not_found("report " + std::to_string(id) + " not found");
  StoredReport s;
  s.id = r->get<int64_t>(0);
  s.report_type = r->get<std::string>(1);
  s.status = r->get<std::string>(2);
  s.format = r->get<std::optional<std::string>>(3).value_or("");
  s.file_name = r->get<std::optional<std::string>>(4);
  s.path = r->get<std::optional<std::string>>(5);
  s.error_message = r->get<std::optional<std::string>>(6);
  s.generated_at = r->get<std::optional<std::string>>(7);
  s.failed_at = r->get<std::optional<std::string>>(8);
  s.user_id = r->get<std::optional<int64_t>>(9);
  s.parameters = r->get<std::string>(10);
  return s;
}

void mark_report_failed(db::Connection& conn, int64_t id, const std::string& error,
                        const Clock& clock) {
  auto r = conn.query_one("SELECT status, path FROM reports WHERE tenant_id = $1 AND id = $2",
                          {conn.require_tenant(), id});
  if (!r || r->get<std::string>(0) == "completed") return;
  if (auto path = r->get<std::optional<std::string>>(1)) {
    remove_quietly(part_path(*path));
    remove_quietly(*path);
  }
  const std::string now = format_iso8601(clock.now());
  conn.execute(
      "UPDATE reports SET status = 'failed', error_message = $1, failed_at = $2, updated_at = $2 "
      "WHERE tenant_id = $3 AND id = $4",
      {error, now, conn.require_tenant(), id});
}

void register_report_job(queue::JobRegistry& registry, const Clock& clock) {
  registry.add(kGenerateReports,
               {.queue = queue::kLowQueue,
                .tries = 3,
                .timeout_s = 1800,
                .backoff = queue::Backoff::parse("30,120,300"),
                .transactional = false},
               [&clock] { return std::make_unique<GenerateReports>(clock); });
}

}  // namespace unity::jobs
