#pragma once
// A role process of this binary (`unity-bench --role=…`, spawned from /proc/self/exe, never from
// PATH): its stdout on a pipe to us, stderr shared, stdin /dev/null. Not thread-safe.

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace unity::bench {

class Child {
 public:
  // Starts `unity-bench ARGS…`; throws kInternal when it cannot.
  explicit Child(const std::vector<std::string>& args);
  // SIGKILLs (this child only, by its pid) and reaps it when it has not exited yet.
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // The first line printed so far or within `timeout_ms` that `match` accepts. Throws
  // kDeadlineExceeded on timeout and kInternal when the child exits first (`what` names it).
  std::string wait_line(const std::function<bool(const std::string&)>& match, double timeout_ms,
                        const std::string& what);

  // Waits for the exit; SIGKILLs the child after `timeout_ms`. Returns the exit code (128+signal).
  int wait_exit(double timeout_ms);

 private:
  void read_some(int timeout_ms);

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string partial_;
  std::vector<std::string> lines_;
  bool eof_ = false;
  std::optional<int> status_;
};

// A line holding a JSON object (a role's result).
bool is_json_line(const std::string& l);

}  // namespace unity::bench
