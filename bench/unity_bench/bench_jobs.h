#pragma once
// The bench's own job types, registered next to the diag.* ones in every role's registry:
//   bench.noop     counts handler starts and duplicates by payload n (W1)
//   bench.latency  as its first action records now_ms() - payload.t (W3)
//   bench.ready    the W3 worker's start-up probe: once it ran, the worker is claiming
// They go to queue "bench" as system jobs (tenant 0).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "queue/registry.h"

namespace unity::bench {

constexpr const char* kBenchQueue = "bench";

// {"n":n} (W1, W2).
std::string noop_payload(int64_t n);
// {"n":n,"t":t} (W3).
std::string latency_payload(int64_t n, double t);

// What the handlers of this process saw. One per process (a worker role runs one workload).
// Thread-safe.
class Tally {
 public:
  void reset(int64_t expected);
  int64_t expected() const { return expected_; }
  int64_t started() const { return started_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  bool ready() const { return ready_.load(); }
  // By n; infinity where no job n started.
  const std::vector<double>& latency_ms() const { return latency_ms_; }

  // A handler started for payload number n; false when n was seen before (a duplicate).
  bool start(int64_t n, double latency = 0);
  void mark_ready();
  // Ends the current waits early, so they check their condition again.
  void wake();
  // Waits until `done()` or the wall clock passes `deadline_ms`; returns done().
  bool wait(const std::function<bool()>& done, double deadline_ms);

 private:
  int64_t expected_ = 0;
  std::vector<std::atomic<uint8_t>> seen_;  // by n
  std::vector<double> latency_ms_;          // by n; each slot written once, by its first start
  std::atomic<int64_t> started_{0};
  std::atomic<int64_t> duplicates_{0};
  std::atomic<bool> ready_{false};
  std::mutex mu_;  // guards nothing but the wait on cv_
  std::condition_variable cv_;
};

// This process's tally.
Tally& tally();

// The diag.* types and the bench types. `transactional` picks Guarantee 3 for the bench types:
// off by default (acknowledged in batches), on for --transactional.
std::unique_ptr<queue::JobRegistry> bench_registry(bool transactional);

}  // namespace unity::bench
