#pragma once
// The options of `unity-bench`, shared by the driver and the roles it spawns.

#include <cstdint>
#include <optional>
#include <string>

namespace unity::bench {

struct BenchArgs {
  std::string workload = "all";    // drain, enqueue, latency or all
  std::optional<int64_t> jobs;     // of the workload named (with all: of W1)
  std::optional<int> concurrency;  // worker concurrency of the workload named (with all: of W1)
  int batch = 0;                   // the worker's claim batch (WorkerOptions::batch); 0: free slots
  int enqueue_batch = 1000;        // jobs per bulk enqueue call in W1
  int runs = 3;                    // runs of W1 and W2
  int cap_s = 300;                 // W1 drain cap
  std::string variant;             // name in the output; default "default" or "transactional"
  std::string before_run;          // shell command run (untimed) before each timed run
  bool transactional = false;      // bench jobs run in their handler's transaction
  bool audit_log = false;          // workers write STORAGE_PATH/logs/worker.log
  bool force = false;              // run even when the queue table holds other jobs
  // Hidden: the role of a spawned process and its settings.
  std::string role = "driver";  // driver, worker, producer or enqueue
  std::string mode;             // the worker's: drain or latency
  int64_t expected = 0;         // jobs the role enqueues or waits for
  double cap_ms = 0;            // the worker's window
  double interval_ms = 5;       // the producer's slot
};

}  // namespace unity::bench
