// notify:bulk (dispatches SendBulkNotifications, rate limited per tenant and per user) and
// notify:bulk:show (the job's tracking row: status, sent, skipped with reasons). `notify:bulk
// --wait` follows the job to its end (cli/progress.h) and exits 5 when it failed.
#include <charconv>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "cli/domain_args.h"
#include "cli/progress.h"
#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "jobs/bulk_notify.h"
#include "jobs/job_start.h"
#include "queue/dispatch.h"

namespace unity::cli {

namespace {

// "all" → nullopt; "1,2,3" → the ids. kInvalidArgument naming --users otherwise.
std::optional<std::vector<int64_t>> parse_users(const std::string& text) {
  if (text == "all") return std::nullopt;
  std::vector<int64_t> ids;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string item =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int64_t id = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || end != item.data() + item.size() || id < 1) {
      throw invalid_argument("--users must be \"all\" or user ids separated by commas, got " +
                             quote_for_message(text));
    }
    ids.push_back(id);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return ids;
}

struct BulkArgs {
  DomainArgs domain;
  std::string users, type;
  FollowArgs wait;
};

bool finished(const std::string& status) {
  return status == "completed" || status == "completed_with_errors" || status == "failed";
}

void define_bulk(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<BulkArgs>();
  add_domain_options(app, a->domain);
  app.add_option("--users", a->users, "Recipients: user ids separated by commas, or all")
      ->required();
  app.add_option("--type", a->type, "announcement | reminder | alert")->required();
  add_follow_options(app, a->wait, "--wait",
                     "Follow the job to its end (a progress bar on a terminal; needs a worker), "
                     "print its status, exit 5 if it failed");
  app.callback([&ctx, a] {
    Session s = open_session(ctx, a->domain);
    const int64_t tenant = a->domain.tenant;
    auto users = parse_users(a->users);
    const auto started =
        jobs::start_bulk_notification(s.conn, {ctx.config(), ctx.dispatcher(), tenant, s.user},
                                      a->type, std::move(users), s.data);
    const auto& job = started.job;
    const int64_t bulk_id = started.id;
    nlohmann::json out = started.json;
    const bool sync = ctx.config().queue_connection == QueueConnection::kSync;
    const std::string label = "bulk notification " + std::to_string(bulk_id);
    JobEnd end;
    if (a->wait.enabled && !sync) {
      end = wait_for_job(
          ctx, s.conn,
          {label, job.id, job.uuid,
           "; see it with `unity notify:bulk:show " + std::to_string(bulk_id) + " --tenant " +
               std::to_string(tenant) + "`",
           [&] { return finished(jobs::load_bulk_notification(s.conn, bulk_id).status); }},
          a->wait);
    }
    if (sync || a->wait.enabled) {
      const auto status = jobs::load_bulk_notification(s.conn, bulk_id);
      out["status"] = status.status;
      out["sent"] = status.sent;
      out["skipped"] = status.skipped_count;
      out["skipped_ids"] = jobs::to_json(status)["skipped_ids"];
      ctx.emit(out, "Bulk notification " + std::to_string(bulk_id) + " " + status.status +
                        ": sent " + std::to_string(status.sent) + ", skipped " +
                        std::to_string(status.skipped_count) + (sync ? " (sync)" : ""));
      if (!a->wait.enabled) return;
      if (end.failed && status.status != "failed") throw_job_failed(label, end.error);
      if (status.status == "failed") {
        throw_job_failed(label, status.error_message.value_or("no error recorded"));
      }
      return;
    }
    ctx.emit(out, "Dispatched SendBulkNotifications as job " + std::to_string(job.id) +
                      " on queue " + job.queue + " (bulk notification " + std::to_string(bulk_id) +
                      ")");
  });
}

struct ShowArgs {
  int64_t tenant = 0;
  int64_t id = 0;
};

void define_show(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ShowArgs>();
  app.add_option("id", a->id, "Bulk notification id")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    const auto status = jobs::load_bulk_notification(conn, a->id);
    std::string human =
        "Bulk notification " + std::to_string(status.id) + " (" + status.notification_type +
        "): " + status.status + ", " + std::to_string(status.total) + " recipients, sent " +
        std::to_string(status.sent) + ", skipped " + std::to_string(status.skipped_count);
    for (const auto& sk : status.skipped) {
      human += "\n  skipped user " + std::to_string(sk.user_id) + ": " + sk.reason;
    }
    if (status.error_message) human += "\n  error: " + *status.error_message;
    ctx.emit(jobs::to_json(status), human);
  });
}

}  // namespace

void add_bulk_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"notify:bulk",
                      "Dispatch SendBulkNotifications --users=1,2|all "
                      "--type=announcement|reminder|alert --data='{title,message,…}'",
                      with(define_bulk)});
  commands.push_back({"notify:bulk:show",
                      "A bulk notification's status: sent, skipped recipients with reasons",
                      with(define_show)});
}

}  // namespace unity::cli
