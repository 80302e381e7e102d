// The diag.* job types (see registry.h).
#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/json.h"
#include "db/connection.h"
#include "queue/registry.h"

namespace unity::queue {

namespace {

class NoopJob : public Job {
 public:
  void handle(JobContext&) override {}
};

class SleepJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    const auto payload = parse_json_object(ctx.payload(), "diag.sleep payload");
    const int64_t ms = optional_int(payload, "ms").value_or(1000);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      if (ctx.cancelled() && !optional_int(payload, "ignore_cancel").value_or(0)) {
        throw deadline_exceeded("diag.sleep cancelled");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(ms, 10)));
    }
  }
};

class FailJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    const auto payload = parse_json_object(ctx.payload(), "diag.fail payload");
    const int64_t times = optional_int(payload, "times").value_or(1);
    if (ctx.attempt() <= times) {
      throw internal_error("diag.fail: failing attempt " + std::to_string(ctx.attempt()) + " of " +
                           std::to_string(times));
    }
  }
};

class WriteJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    const auto payload = parse_json_object(ctx.payload(), "diag.write payload");
    ctx.db().execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1, $2, $3, $4)",
        {ctx.tenant_id(), optional_string(payload, "mark").value_or(""), ctx.job_id(),
         ctx.attempt()});
    const int64_t sleep_ms = optional_int(payload, "sleep_ms").value_or(0);
    if (sleep_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
  }
};

}  // namespace

void register_diag_jobs(JobRegistry& registry) {
  // No retry settings of their own (the worker's options apply). Only diag.write touches the
  // database, so only it holds a transaction: a sleeping job must not hold SQLite's write lock.
  registry.add<NoopJob>("diag.noop", {.transactional = false});
  registry.add<SleepJob>("diag.sleep", {.transactional = false});
  registry.add<FailJob>("diag.fail", {.transactional = false});
  registry.add<WriteJob>("diag.write");
  // diag.write's encrypted twin (queue/payload_crypt.h), for tests of encryption at rest.
  registry.add<WriteJob>("diag.secret", {.encrypted = true});
}

}  // namespace unity::queue
