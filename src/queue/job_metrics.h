#pragma once
// Per job type counters and histograms for GET /metrics (table queue_job_metrics, migration
// 0018). Jobs run in worker processes and /metrics is served by `unity serve`, so the numbers go
// through the database: a worker adds each finished attempt to a JobTypeMetrics in memory
// (record()) and its keeper writes the sums about once a second (add_to(), beside
// JobStore::metrics_add), so no job's transaction waits on a shared counter row.
//
// The table holds one cumulative value per (job type, series) since the database was created:
// "completed", "failed", "retried", "deferred" (attempts a middleware put back before they ran:
// rate limited, key held, exceptions throttled; queue/middleware.h), and for each histogram ("run":
// an attempt's run time, "wait": from when a job became available until a worker claimed it)
// "<h>_count", "<h>_sum_us" and
// "<h>_b<i>", the attempts that fell in bucket i (not cumulative: kBucketBoundsS[i-1] <
// seconds <= kBucketBoundsS[i]; i == kBucketBoundsS.size() is +Inf).
//
// queue_metrics (migration 0001, throughput per queue and minute) gains wait_us and waited in
// 0018: the sum of the waits and how many attempts they are, per queue and minute.
//
// JobTypeMetrics is a value, not thread-safe: the worker guards it with its own mutex.

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "db/connection.h"

namespace unity::queue {

// Upper bounds of the histogram buckets, in seconds (Prometheus `le`).
inline constexpr std::array<double, 14> kBucketBoundsS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                          1,     2.5,  5,     10,   30,  60,   300};

// The bucket index of a duration in microseconds (kBucketBoundsS.size() for +Inf).
size_t bucket_of(int64_t us);

class JobTypeMetrics {
 public:
  // One finished attempt of a job of `type` in `queue`: its outcome ("done", "failed", "retry",
  // …), how long it ran and how long it had waited to be claimed.
  void record(const std::string& type, const std::string& queue, const std::string& outcome,
              int64_t run_us, int64_t wait_us);
  bool empty() const { return types_.empty(); }

  // Adds the sums to queue_job_metrics, and the waits per queue to the minute of `now_us` in
  // queue_metrics (wait_us, waited: the dashboard's wait per queue over the last hour), on `conn`
  // (in the caller's transaction if one is open).
  void add_to(db::Connection& conn, int64_t now_us) const;

  // Every (type, series) → cumulative value in the table.
  using Totals = std::map<std::string, std::map<std::string, int64_t>>;
  static Totals read(db::Connection& conn);

 private:
  // Fixed counters per type, so record() (on the worker's hot path, under its mutex) costs two
  // map lookups; a node is allocated only the first time a type or queue is seen after a flush.
  struct Histogram {
    std::array<int64_t, kBucketBoundsS.size() + 1> buckets{};  // not cumulative; last: +Inf
    int64_t count = 0;
    int64_t sum_us = 0;
    void observe(int64_t us);
  };
  struct Counts {
    int64_t completed = 0, failed = 0, retried = 0, deferred = 0;
    Histogram run, wait;
  };
  std::map<std::string, Counts, std::less<>> types_;
  std::map<std::string, std::pair<int64_t, int64_t>, std::less<>> queue_waits_;  // µs, attempts
};

}  // namespace unity::queue
