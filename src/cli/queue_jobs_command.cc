// queue:jobs: a tenant's recent jobs, newest first: those waiting or running (ready, delayed,
// reserved) and, with QUEUE_KEEP_COMPLETED_MINUTES > 0, those that finished within that time
// (completed, failed, cancelled; JobStore::jobs_list).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "queue/store.h"

namespace unity::cli {

namespace {

std::string time_of(int64_t us) { return format_iso8601(TimePoint(std::chrono::microseconds(us))); }

nlohmann::json job_json(const queue::JobRow& j) {
  return {{"id", j.id},
          {"uuid", j.uuid},
          {"type", j.type},
          {"queue", j.queue},
          {"state", j.state},
          {"priority", j.priority},
          {"attempts", j.attempts},
          {"batch_id", j.batch_id ? nlohmann::json(*j.batch_id) : nlohmann::json()},
          {"created_at", time_of(j.created_at_us)},
          {"finished_at",
           j.finished_at_us ? nlohmann::json(time_of(*j.finished_at_us)) : nlohmann::json()}};
}

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
      out.push_back(job_json(j));
      rows.push_back({std::to_string(j.id), j.type, j.queue, j.state, std::to_string(j.priority),
                      std::to_string(j.attempts), time_of(j.created_at_us),
                      j.finished_at_us ? time_of(*j.finished_at_us) : "-"});
    }
    ctx.emit(out, render_table({"id", "type", "queue", "state", "priority", "attempts",
                                "created_at", "finished_at"},
                               rows));
  });
}

}  // namespace

void add_queue_jobs_command(Commands& commands, Context& ctx) {
  commands.push_back({"queue:jobs",
                      "A tenant's recent jobs, newest first: waiting, running and (with "
                      "QUEUE_KEEP_COMPLETED_MINUTES) finished",
                      [&ctx](CLI::App& app) { define_jobs(app, ctx); }});
}

}  // namespace unity::cli
