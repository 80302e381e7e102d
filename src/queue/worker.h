#pragma once
// The worker behind `unity queue:work`: a claimer on the caller's thread and a few services around
// it, each in its own file, all stopped through one std::stop_token:
//
//   claimer (this file, claimer.h)  ──LocalJobs──▶  executors (executors.h)  ──▶  completer
//        │ rescuer.h: expired leases                   attempt.h: one attempt      (completer.h)
//        └ keeper.h: heartbeats, timeouts, counters
//
// - Strict priority and fairness (Guarantees 6, 7): see claimer.h.
// - Two claim loops where the database has concurrent writers (WorkerOptions::claimers): a second
//   one on its own thread and connection overlaps one claim's statement with the other's
//   hand-off; both reserve their claim's room in LocalJobs, so together they never exceed it.
// - Wake-up: LISTEN/NOTIFY where the driver has it; else the database's data_version, polled every
//   half millisecond while idle; `sleep_s` bounds the wait either way (delayed jobs, missed
//   wake-ups).
// - Stop (Guarantee 8): request_stop() stops claiming, returns claimed-but-not-started jobs to the
//   queue, lets running jobs finish (up to their timeout) and returns. pause() stops claiming
//   until resume(). `queue:restart` makes run() return after the current jobs, in every worker
//   whose process was created before it (checked every second, and at once on PostgreSQL's
//   NOTIFY), including one that was still starting up. The command line maps signals to these
//   calls (SIGTERM/SIGINT, SIGUSR2, SIGCONT); the worker itself installs no handler.
// - Timeouts (Guarantee 9): see keeper.h.
//
// Connections come from a factory (db::connection_factory in the command line, a test database in
// tests): one per thread that needs one, opened lazily and replaced after an error.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "db/connection.h"
#include "queue/audit_log.h"
#include "queue/job.h"
#include "queue/local_jobs.h"
#include "queue/registry.h"

namespace unity::queue {

struct WorkerOptions {
  std::vector<std::string> queues;  // priority order; empty: high, DB_QUEUE, low
  int concurrency = 1;              // jobs at once (1–1024)
  int batch = 0;  // jobs held (claimed ahead) at least; 0: adaptive (LocalJobs::ahead), 1: none
  // Claim loops, each on its own connection: 2 lets one claim's statement run while the other
  // turns its rows into jobs. Only where the database has concurrent writers (PostgreSQL), with
  // --batch=0 and concurrency > 1; 1 otherwise. 0: 2 where allowed.
  int claimers = 0;
  std::optional<int> timeout_s;           // --timeout for jobs without their own (default 60)
  std::optional<int> tries;               // --tries for jobs without their own (default 3)
  std::optional<Backoff> backoff;         // --backoff for jobs without their own (default exp)
  int memory_mb = 0;                      // exit after the resident set passes this; 0: no limit
  double sleep_s = 3;                     // longest idle wait between polls
  int max_time_s = 0;                     // exit after this long; 0: no limit
  int64_t max_jobs = 0;                   // exit after this many jobs; 0: no limit
  bool stop_when_empty = false;           // exit when no job is ready (delayed ones may remain)
  bool once = false;                      // run one job, then exit
  std::string name;                       // worker name in logs and jobs.worker; default host:pid
  std::chrono::milliseconds grace{5000};  // after a timeout, before the process gives up
  JobLogSink job_log;                     // where jobs' own log lines go; empty: stderr
};

// "host:pid", the default worker name.
std::string default_worker_name();

enum class WorkerExit { kStopped, kEmpty, kMaxJobs, kMaxTime, kMemory, kRestart };
const char* worker_exit_name(WorkerExit e);

class Worker {
 public:
  // `config`, `registry`, `log` and `clock` must outlive the worker; `log` may be null.
  Worker(db::ConnectionFactory connect, const Config& config, const JobRegistry& registry,
         WorkerOptions options, AuditLog* log, const Clock& clock = system_clock());
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until a stop condition. Throws Error(kInvalidArgument) for options out of range and
  // kUnavailable when the database cannot be reached at start.
  WorkerExit run();

  // Thread-safe (not async-signal-safe: call them from a thread, as the command line's signal
  // thread does).
  void request_stop();
  void pause();
  void resume();

  WorkerStats stats() const;
  const std::string& name() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unity::queue
