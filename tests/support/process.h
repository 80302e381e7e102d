#pragma once
// Real processes for fault tests: start `unity` with extra environment, signal it, wait for it.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace unity::testing {

class Process {
 public:
  // Starts `argv` (argv[0] is the program path) with the current environment plus `env`, in
  // `dir`, stdout and stderr to `log_path` (appended).
  static Process start(const std::vector<std::string>& argv,
                       const std::map<std::string, std::string>& env, const std::string& dir,
                       const std::string& log_path);
  Process(Process&& other) noexcept;
  ~Process();  // kills (SIGKILL) and reaps it if still running

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // The exit code (or 128+signal) once it ends; nullopt if still running after `timeout`.
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// The `unity` binary under test (UNITY_BIN, else the build tree's).
std::string unity_binary();
// The `unity-bench` binary under test (UNITY_BENCH_BIN, else the one next to unity_binary()).
std::string unity_bench_binary();

// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout);

}  // namespace unity::testing

#include <thread>

template <typename F>
bool unity::testing::eventually(F condition, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}
