#pragma once
// The jobs one worker process holds between its claimer and its executors: claimed and waiting
// for an executor (in queue priority order), and running. Thread-safe.
//
// Wake-ups are few: at most one sleeping executor is being woken at a time. add() wakes one; an
// executor that takes a job and sees more waiting wakes the next (a cascade), so jobs that block
// still run side by side, while short jobs are mostly run by executors that are awake already
// instead of costing a thread switch each. A finished job wakes the claimer only when enough
// slots are free for its next claim (not once per job).

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
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
  int64_t deferred = 0;  // put back by a middleware before they ran (queue/middleware.h)
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
  // `queues` in priority order; `slots`: the worker's concurrency. With `claim_ahead`, the
  // worker may hold claimed jobs beyond its slots while jobs are short (see ahead()).
  LocalJobs(const std::vector<std::string>& queues, int slots, const AttemptDefaults& defaults,
            const Clock& clock, bool claim_ahead = false);

  // Adds claimed jobs; a job of a higher queue goes before claimed-ahead jobs of lower ones.
  // Releases `reserved` (what reserve() granted for this claim) in the same step.
  void add(std::vector<ClaimedJob> jobs, int reserved = 0);
  // Room for a claim in flight, where two claim loops share the room: grants up to `wanted`, at
  // most room() and, with `most_held` > 0, at most `most_held` minus the jobs started, waiting
  // and reserved (--max-jobs). What is granted counts against room() (and idle() is false) until
  // add() or unreserve() releases it, so two reservations together never exceed the room.
  int reserve(int wanted, int64_t most_held = 0);
  void unreserve(int reserved);
  // The next job to run, now running; null once `stop` is requested and none is waiting. The
  // pointer stays valid until finish() of its job.
  const InFlight* take(std::stop_token stop);
  // As take(), without waiting: the next waiting job if there is one and `wanted` accepts it
  // (it stays first in line otherwise).
  const InFlight* try_take(const std::function<bool(const ClaimedJob&)>& wanted);
  // An executor finished `job` with `outcome` after running `run_us` (`job` may be the one
  // take() returned: it is released last).
  void finish(const ClaimedJob& job, Outcome outcome, int64_t run_us = 0);
  // Claimed jobs no executor took (the worker is stopping), removed.
  std::vector<ClaimedJob> take_waiting();

  // Slots neither running nor spoken for by a waiting job.
  int free_slots() const;
  // How many more jobs the claimer may claim now: free_slots() plus ahead().
  int room() const;
  // Jobs held beyond the slots: as many as the executors start within kAheadWindow at the recent
  // run time per job, at most kAheadPerSlot × slots; 0 without claim_ahead, until kAheadAfterJobs
  // attempts have finished, or once jobs take longer than the window. So a worker running short
  // jobs claims in large batches without idle executors between claims, while one running long jobs
  // never keeps a job from another worker that could start it.
  int ahead() const;
  static constexpr std::chrono::microseconds kAheadWindow{2000};
  static constexpr int kAheadAfterJobs = 8;
  // Bounds what a misjudged average can hold back; larger claims are cheaper per job (W1 drain:
  // 8 × instead of 2 × gave SQLite a fifth more jobs per second and PostgreSQL 1.7×; 16 × gave
  // PostgreSQL another 1.2×, SQLite the same; 32 × both another 1.06×, worker peak memory
  // +0.2–0.3 MiB).
  static constexpr int kAheadPerSlot = 32;
  int waiting() const;
  int idle_executors() const;  // executors asleep in take()
  bool idle() const;           // nothing waiting, running or reserved
  // Blocks until room() is at least `wanted`, `timeout` passes, `stop` is requested or
  // wake_claimer() is called (a wake-up before the wait counts). `loop`: which claim loop waits
  // (0 or 1; each has its own wake-up).
  static constexpr int kClaimLoops = 2;
  void wait_for_slots(int wanted, std::chrono::milliseconds timeout, std::stop_token stop,
                      int loop = 0);
  // Wakes claim loop `loop`, or every one (-1).
  void wake_claimer(int loop = -1);

  // Every job held (waiting or running), for heartbeats.
  std::vector<Lease> held() const;
  std::vector<InFlight> running() const;
  int64_t started() const;             // attempts started so far
  int64_t started_or_waiting() const;  // or reserved
  int64_t finished() const;            // attempts finished so far
  WorkerStats stats() const;
  ThroughputCounts take_counts();
  JobTypeMetrics take_type_metrics();  // per job type, for GET /metrics

 private:
  size_t rank(const std::string& queue) const;
  // With mu_ held: true when a sleeping executor should be woken (notify_one after unlocking).
  bool wake_one_locked();
  int room_locked() const;
  // With mu_ held: true (and the claim loops marked woken) when one should be woken.
  bool wake_claimers_locked();
  // Moves the first waiting job to running; unlocks `lock` (then wakes an executor if needed).
  const InFlight* start_front(std::unique_lock<std::mutex>& lock);

  const AttemptDefaults& defaults_;
  const Clock& clock_;
  const int slots_;
  const bool claim_ahead_;
  std::map<std::string, size_t> rank_;

  mutable std::mutex mu_;
  std::condition_variable_any work_cv_;   // executors
  int idle_executors_ = 0;                // waiting on work_cv_
  int wakes_ = 0;                         // wake-ups sent and not yet taken (0 or 1)
  std::condition_variable_any slots_cv_;  // the claim loops
  struct ClaimLoopWait {
    int wanted_slots = 1;  // what the loop waits for
    bool woken = false;
  };
  std::array<ClaimLoopWait, kClaimLoops> claim_loops_{
      {{}, {std::numeric_limits<int>::max(), false}}};
  int reserved_ = 0;  // reserve()d for claims in flight
  std::deque<ClaimedJob> waiting_;
  // By job id and lease token: a job retried at once may be claimed again (under a new token)
  // before the executor that ran it has called finish().
  std::map<std::pair<int64_t, int64_t>, InFlight> running_;
  int64_t started_ = 0;
  double avg_run_us_ = 0;  // moving average of an attempt's run time (claim_ahead only)
  int ahead_ = 0;          // ahead(), updated by finish()
  WorkerStats stats_;
  ThroughputCounts counts_;
  JobTypeMetrics type_metrics_;
};

}  // namespace unity::queue
