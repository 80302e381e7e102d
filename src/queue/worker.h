#pragma once
// The worker behind `unity queue:work`.
//
// Threads: the caller's thread claims (the fetcher); `concurrency` executors run handlers, each
// on its own connection; a completer acknowledges non-transactional jobs in batches; a keeper
// extends leases (heartbeats), cancels jobs past their timeout and flushes the audit log.
//
// - Strict priority (Guarantee 6): queues are claimed in the order given, and a lower queue only
//   when the higher ones have no ready job. Claims never exceed free slots unless `batch` asks for
//   more (then claimed-ahead jobs may wait behind a newly arrived higher-priority job).
// - Fairness (Guarantee 7): within a queue, ready jobs are claimed round-robin across tenants,
//   weighted by tenants.weight, capped per tenant by tenants.max_concurrency; paused tenants
//   (queue_pauses) are skipped.
// - Wake-up: LISTEN/NOTIFY where the driver has it; else the database's data_version, polled every
//   millisecond while idle; `sleep_s` bounds the wait either way (delayed jobs, missed wake-ups).
// - Stop (Guarantee 8): request_stop() (SIGTERM/SIGINT) stops claiming, returns claimed-but-not-
//   started jobs to the queue, lets running jobs finish (up to their timeout) and returns. pause()
//   (SIGUSR2) stops claiming until resume() (SIGCONT). `queue:restart` makes run() return after
//   the current jobs, in every worker whose process was created before it (checked every second,
//   and at once on PostgreSQL's NOTIFY), including one that was still starting up.
// - Timeouts (Guarantee 9): a job past its timeout is cancelled (JobContext::cancelled()); if it
//   has not returned `grace` later, the attempt is recorded as failed and the process exits with
//   code 124 so its supervisor starts a clean one.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "queue/audit_log.h"
#include "queue/job.h"
#include "queue/registry.h"

namespace unity::queue {

struct WorkerOptions {
  std::vector<std::string> queues;        // priority order; empty: high, DB_QUEUE, low
  int concurrency = 1;                    // jobs at once (1–1024)
  int batch = 0;                          // most jobs claimed per round trip; 0: free slots
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
};

// "host:pid", the default worker name.
std::string default_worker_name();

enum class WorkerExit { kStopped, kEmpty, kMaxJobs, kMaxTime, kMemory, kRestart };
const char* worker_exit_name(WorkerExit e);

struct WorkerStats {
  int64_t processed = 0;  // attempts finished (any outcome)
  int64_t completed = 0;
  int64_t retried = 0;
  int64_t failed = 0;
};

class Worker {
 public:
  // `config`, `registry`, `log` and `clock` must outlive the worker; `log` may be null.
  Worker(const Config& config, const JobRegistry& registry, WorkerOptions options, AuditLog* log,
         const Clock& clock = system_clock());
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until a stop condition. Throws Error(kInvalidArgument) for options out of range and
  // kUnavailable when the database cannot be reached at start.
  WorkerExit run();

  // Thread-safe and async-signal-safe (they only set flags).
  void request_stop();
  void pause();
  void resume();

  WorkerStats stats() const;
  const std::string& name() const;

  // Flags a signal handler may set for the worker running in this process (see cli).
  static std::atomic<bool>& stop_flag();
  static std::atomic<bool>& pause_flag();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unity::queue
