#pragma once
// The jobs one worker process holds between its claimer and its executors: claimed and waiting
// for an executor (in queue priority order), and running. Thread-safe.
//
// Wake-ups are batched: add() wakes as many executors as jobs it adds, and a finished job wakes
// the claimer only when enough slots are free for its next claim (not once per job).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "core/clock.h"
#include "queue/attempt.h"
#include "queue/job_metrics.h"
#include "queue/store.h"

namespace unity::queue {

struct WorkerStats {
  int64_t processed = 0;  // attempts finished (any outcome)
  int64_t completed = 0;
  int64_t retried = 0;
  int64_t failed = 0;
};

// A job an executor is running.
struct InFlight {
  ClaimedJob job;
  Clock::Monotonic started;
  std::chrono::seconds timeout;
  // Set past the timeout and when queue:cancel flagged the job (JobContext::cancelled).
  std::shared_ptr<std::atomic<bool>> cancel;
};

// Completed and failed attempts per queue since the last take_counts() (queue:stats).
using ThroughputCounts = std::map<std::string, std::pair<int64_t, int64_t>>;

class LocalJobs {
 public:
  // `queues` in priority order; `slots`: the worker's concurrency.
  LocalJobs(const std::vector<std::string>& queues, int slots, const AttemptDefaults& defaults,
            const Clock& clock);

  // Adds claimed jobs; a job of a higher queue goes before claimed-ahead jobs of lower ones.
  void add(std::vector<ClaimedJob> jobs);
  // The next job to run, now running; nullopt once `stop` is requested and none is waiting.
  std::optional<InFlight> take(std::stop_token stop);
  // An executor finished `job` with `outcome` after running `run_us`.
  void finish(const ClaimedJob& job, Outcome outcome, int64_t run_us = 0);
  // Claimed jobs no executor took (the worker is stopping), removed.
  std::vector<ClaimedJob> take_waiting();

  // Slots neither running nor spoken for by a waiting job.
  int free_slots() const;
  int waiting() const;
  bool idle() const;  // nothing waiting, nothing running
  // Blocks until at least `wanted` slots are free, `timeout` passes, `stop` is requested or
  // wake_claimer() is called.
  void wait_for_slots(int wanted, std::chrono::milliseconds timeout, std::stop_token stop);
  void wake_claimer();

  // Every job held (waiting or running), for heartbeats.
  std::vector<Lease> held() const;
  std::vector<InFlight> running() const;
  int64_t started() const;  // attempts started so far
  int64_t started_or_waiting() const;
  int64_t finished() const;  // attempts finished so far
  WorkerStats stats() const;
  ThroughputCounts take_counts();
  JobTypeMetrics take_type_metrics();  // per job type, for GET /metrics

 private:
  size_t rank(const std::string& queue) const;

  const AttemptDefaults& defaults_;
  const Clock& clock_;
  const int slots_;
  std::map<std::string, size_t> rank_;

  mutable std::mutex mu_;
  std::condition_variable_any work_cv_;   // executors
  std::condition_variable_any slots_cv_;  // the claimer
  int wanted_slots_ = 1;                  // what the claimer waits for
  bool claimer_woken_ = false;
  std::deque<ClaimedJob> waiting_;
  std::map<int64_t, InFlight> running_;
  int64_t started_ = 0;
  WorkerStats stats_;
  ThroughputCounts counts_;
  JobTypeMetrics type_metrics_;
};

}  // namespace unity::queue
