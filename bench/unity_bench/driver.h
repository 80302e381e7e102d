#pragma once
// The driver role of `unity-bench`: runs the peers' workloads W1–W4
// (../shared/bench/peers/RESULTS.md, "How to add a new contender") against the configured
// database and returns that document's JSON object (peer "unity").
//
// Before every run it deletes EVERY row of the queue table, so it refuses a queue holding jobs
// that are not the benchmark's unless --force (kFailedPrecondition).

#include <nlohmann/json.hpp>

#include "bench_env.h"
#include "options.h"

namespace unity::bench {

// Throws kInvalidArgument for a workload or job count out of range.
void validate(const BenchArgs& a);

// Runs the workloads `a` names; spawns this binary for the worker and producer roles.
nlohmann::json run_driver(BenchEnv& env, const BenchArgs& a);

}  // namespace unity::bench
