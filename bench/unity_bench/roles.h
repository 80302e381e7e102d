#pragma once
// The processes `unity-bench` spawns of itself (hidden --role=…), each printing its figures as one
// JSON line on stdout (the driver reads it from a pipe); everything else goes to stderr.
//   worker --mode=drain      W1 step 2: drain `expected` bench.noop jobs, time it
//   worker --mode=latency    W3: print READY once claiming, then record each job's latency
//   producer                 W3: enqueue `expected` bench.latency jobs at `interval_ms` slots
//   enqueue                  W1's enqueue alone, for profiling a drain worker on its own

#include "bench_env.h"
#include "options.h"

namespace unity::bench {

void run_worker_role(BenchEnv& env, const BenchArgs& a);
void run_producer_role(BenchEnv& env, const BenchArgs& a);
void run_enqueue_role(BenchEnv& env, const BenchArgs& a);

}  // namespace unity::bench
