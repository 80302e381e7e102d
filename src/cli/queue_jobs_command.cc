// queue:jobs: a tenant's recent jobs, newest first: those waiting or running (ready, delayed,
// reserved) and, with QUEUE_KEEP_COMPLETED_MINUTES > 0, those that finished within that time
// (completed, failed, cancelled; JobStore::jobs_list). queue:cancel: one of them taken off
// (JobStore::job_cancel).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "queue/store.h"
#include "queue/views.h"

namespace unity::cli {

namespace {

std::string time_of(int64_t us) { return format_iso8601(TimePoint(std::chrono::microseconds(us))); }

struct JobsArgs {
  int64_t tenant = 0;
  std::string state, type;
  int limit = 50;
};

void define_jobs(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<JobsArgs>();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--state", a->state,
                 "ready, delayed, reserved, completed, failed or cancelled (default: all)");
  app.add_option("--type", a->type, "Only jobs of this type");
  app.add_option("--limit", a->limit, "Newest N (1-1000, default 50)");
  app.callback([&ctx, a] {
    queue::JobStore store(ctx.tenant_app(a->tenant), ctx.config().queue_table, system_clock());
    const auto jobs =
        store.jobs_list(a->tenant, a->state.empty() ? std::nullopt : std::optional(a->state),
                        a->type.empty() ? std::nullopt : std::optional(a->type), a->limit);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& j : jobs) {
      out.push_back(queue::job_row_json(j));
      rows.push_back({std::to_string(j.id), j.type, j.queue, j.state, std::to_string(j.priority),
                      std::to_string(j.attempts), time_of(j.created_at_us),
                      j.finished_at_us ? time_of(*j.finished_at_us) : "-"});
    }
    ctx.emit(out, render_table({"id", "type", "queue", "state", "priority", "attempts",
                                "created_at", "finished_at"},
                               rows));
  });
}

void define_cancel(CLI::App& app, Context& ctx) {
  auto id = std::make_shared<std::string>();
  auto tenant = std::make_shared<int64_t>(0);
  app.add_option("id", *id, "The job's id or uuid")->required();
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.footer(
      "A ready or delayed job is removed (state cancelled); a running one is asked to stop: its "
      "worker hears of it at its next heartbeat and records it as cancelled when the attempt "
      "ends (state cancelling). Never failed, never retried.\n");
  app.callback([&ctx, id, tenant] {
    queue::JobStore store(ctx.tenant_app(*tenant), ctx.config().queue_table, system_clock());
    store.set_keep_finished(std::chrono::minutes(ctx.config().queue_keep_completed_minutes));
    const auto job = store.job_cancel(*tenant, *id);
    const bool now = job.state == queue::CancelState::kCancelled;
    const std::string name = std::to_string(job.id);
    ctx.emit(queue::cancelled_job_json(job),
             now ? "Job " + name + " cancelled"
                 : "Job " + name + " is running: its worker was asked to stop it");
  });
}

}  // namespace

void add_queue_jobs_command(Commands& commands, Context& ctx) {
  commands.push_back({"queue:cancel",
                      "Cancel a job: a waiting one is removed, a running one asked to stop",
                      [&ctx](CLI::App& app) { define_cancel(app, ctx); }});
  commands.push_back({"queue:jobs",
                      "A tenant's recent jobs, newest first: waiting, running and (with "
                      "QUEUE_KEEP_COMPLETED_MINUTES) finished",
                      [&ctx](CLI::App& app) { define_jobs(app, ctx); }});
}

}  // namespace unity::cli
