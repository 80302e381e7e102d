// A queue worker for the crash tests: configured like `unity queue:work` (the environment and the
// .env of its working directory), running the diag.* types through testing::crash_after_handler,
// so the process exits with code 99 between a handler and its acknowledgement.
//   unity_fault_worker [--stop-when-empty]
#include <cstdio>
#include <string>

#include "core/config.h"
#include "db/connection.h"
#include "queue/audit_log.h"
#include "queue/worker.h"
#include "testing/faults.h"

int main(int argc, char** argv) {
  using namespace unity;
  try {
    const Config config = Config::load(".");
    queue::JobRegistry diag;
    queue::register_diag_jobs(diag);
    const queue::JobRegistry crashing = testing::crash_after_handler(diag);
    queue::WorkerOptions o;
    o.stop_when_empty = argc > 1 && std::string(argv[1]) == "--stop-when-empty";
    o.name = queue::default_worker_name();
    queue::AuditLog log(config.storage_path + "/logs/worker.log", o.name);
    queue::Worker(db::connection_factory(config), config, crashing, o, &log).run();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_fault_worker: %s\n", e.what());
    return 1;
  }
}
