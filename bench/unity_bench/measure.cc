#include "measure.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <thread>

namespace unity::bench {

using nlohmann::json;

double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t wall_ms() { return static_cast<int64_t>(now_ms()); }
void sleep_ms(double ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(ms));
}

double r1(double x) { return std::round(x * 10) / 10; }
double r3(double x) { return std::round(x * 1000) / 1000; }
json finite_or_null(double x) { return std::isfinite(x) ? json(r3(x)) : json(nullptr); }

json median(std::vector<double> xs) {
  std::erase_if(xs, [](double x) { return !std::isfinite(x); });
  if (xs.empty()) return nullptr;
  std::sort(xs.begin(), xs.end());
  const size_t m = xs.size() / 2;
  return xs.size() % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
}

std::vector<double> field_of(const json& runs, const char* key) {
  std::vector<double> out;
  for (const auto& r : runs) {
    if (r.contains(key) && r[key].is_number()) out.push_back(r[key].get<double>());
  }
  return out;
}

// Nearest rank: the value at rank ceil(p/100 · n) of the sorted list.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::infinity();
  const auto rank = std::max<size_t>(1, static_cast<size_t>(std::ceil(p / 100 * sorted.size())));
  return sorted[std::min(sorted.size(), rank) - 1];
}

// --- /proc
// ------------------------------------------------------------------------------------------

json vm_hwm_kb() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return nullptr;
}

// Whole-machine CPU ticks: user nice system idle iowait irq softirq steal (noise indicators).
std::vector<int64_t> cpu_snap() {
  std::ifstream stat("/proc/stat");
  std::string cpu;
  stat >> cpu;
  std::vector<int64_t> out(8, 0);
  for (auto& v : out) stat >> v;
  return out;
}

json cpu_delta(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> d(8);
  int64_t total = 0;
  for (size_t i = 0; i < 8; ++i) total += d[i] = b[i] - a[i];
  if (total <= 0) total = 1;
  auto pct = [&](int64_t x) { return r1(100.0 * static_cast<double>(x) / total); };
  return {{"busy_pct", pct(total - d[3] - d[4] - d[7])},
          {"iowait_pct", pct(d[4])},
          {"steal_pct", pct(d[7])}};
}

double process_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) { return t.tv_sec * 1000.0 + t.tv_usec / 1000.0; };
  return ms(u.ru_utime) + ms(u.ru_stime);
}

std::string thousands(double v) {
  const int64_t n = std::llround(v);
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

void progress(const std::string& text) {
  if (isatty(STDERR_FILENO) == 1) std::cerr << "[unity-bench] " << text << std::endl;
}

}  // namespace unity::bench
