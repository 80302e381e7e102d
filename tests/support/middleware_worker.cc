// A queue worker for the middleware kill test: configured like `unity queue:work` (the
// environment and the .env of its working directory), running one job type under
// WithoutOverlapping with a short lock expiry, so a test can kill it with SIGKILL mid-job.
//   unity_middleware_worker
// test.exclusive_process {"k":KEY,"ms":N}: records its start (diag_marks.mark, microseconds since
// the epoch) and its attempt, then sleeps N ms (returning early when cancelled). Key "k", released
// for 0.2 s while held; the lock expires 3 s after it was taken.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/config.h"
#include "core/json.h"
#include "db/connection.h"
#include "queue/worker.h"

namespace {

class ExclusiveSleepJob : public unity::queue::Job {
 public:
  void handle(unity::queue::JobContext& ctx) override {
    const auto payload = unity::parse_json_object(ctx.payload(), "payload");
    ctx.db().execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1, $2, $3, $4)",
        {ctx.tenant_id(), std::to_string(unity::system_clock().now().time_since_epoch().count()),
         ctx.job_id(), ctx.attempt()});
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(unity::optional_int(payload, "ms").value_or(0));
    while (std::chrono::steady_clock::now() < until && !ctx.cancelled()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

}  // namespace

int main() {
  using namespace unity;
  try {
    const Config config = Config::load(".");
    queue::JobRegistry registry;
    registry.add<ExclusiveSleepJob>(
        "test.exclusive_process",
        {.transactional = false,
         .middleware = {queue::WithoutOverlapping{.key = queue::payload_key("k"),
                                                  .release_after = std::chrono::milliseconds(200),
                                                  .expire_after = std::chrono::seconds(3)}}});
    queue::WorkerOptions o;
    o.sleep_s = 0.1;
    o.name = queue::default_worker_name();
    queue::Worker(db::connection_factory(config), config, registry, o, nullptr).run();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_middleware_worker: %s\n", e.what());
    return 1;
  }
}
