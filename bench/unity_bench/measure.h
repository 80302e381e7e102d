#pragma once
// Time, rounding, statistics and /proc figures of the peers' workloads
// (../shared/bench/peers/RESULTS.md, "Common rules"; lib/workloads.js is the reference).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace unity::bench {

// The workloads' clock: wall-clock ms since the epoch, sub-millisecond, comparable across
// processes.
double now_ms();
int64_t wall_ms();
void sleep_ms(double ms);

double r1(double x);  // rounded to 0.1
double r3(double x);  // rounded to 0.001
nlohmann::json finite_or_null(double x);
// The median of the finite values; null when there is none.
nlohmann::json median(std::vector<double> xs);
// The numbers under `key` in an array of runs.
std::vector<double> field_of(const nlohmann::json& runs, const char* key);
// Nearest rank: the value at rank ceil(p/100 · n) of the sorted list (infinity when empty).
double percentile(const std::vector<double>& sorted, double p);

// This process's peak resident set (VmHWM, kB), or null.
nlohmann::json vm_hwm_kb();
// Whole-machine CPU ticks: user nice system idle iowait irq softirq steal (noise indicators).
std::vector<int64_t> cpu_snap();
// {"busy_pct","iowait_pct","steal_pct"} between two snapshots.
nlohmann::json cpu_delta(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// CPU time (user + system) of this process so far.
double process_cpu_ms();

// 12345.6 -> "12,346".
std::string thousands(double v);
// A progress line on stderr, only when it is a terminal.
void progress(const std::string& text);

}  // namespace unity::bench
