#include "child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iostream>

#include "core/error.h"
#include "measure.h"

extern char** environ;

namespace unity::bench {

Child::Child(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw internal_error("pipe2 failed");
  read_fd_ = fds[0];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>("unity-bench"));
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, "/proc/self/exe", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(read_fd_);
    throw internal_error("cannot start a bench process: " + std::string(strerror(rc)));
  }
}
Child::~Child() {
  if (!status_) {
    kill(pid_, SIGKILL);  // this child only, by its pid
    waitpid(pid_, nullptr, 0);
  }
  close(read_fd_);
}
std::string Child::wait_line(const std::function<bool(const std::string&)>& match,
                             double timeout_ms, const std::string& what) {
  const double deadline = now_ms() + timeout_ms;
  for (;;) {
    for (auto it = lines_.begin(); it != lines_.end(); ++it) {
      if (!match(*it)) continue;
      std::string line = std::move(*it);
      lines_.erase(it);
      return line;
    }
    if (eof_) {
      const int code = wait_exit(5000);
      throw internal_error(what + " exited (status " + std::to_string(code) +
                           ") without the expected output (its errors are above)");
    }
    const double left = deadline - now_ms();
    if (left <= 0) throw deadline_exceeded(what + ": timed out waiting for its output");
    read_some(static_cast<int>(std::min(left, 1000.0)));
  }
}

int Child::wait_exit(double timeout_ms) {
  const double deadline = now_ms() + timeout_ms;
  while (!status_) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    } else if (now_ms() >= deadline) {
      std::cerr << "[unity-bench] process " << pid_ << " did not exit; sending SIGKILL\n";
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
      status_ = 128 + SIGKILL;
    } else {
      sleep_ms(20);
    }
  }
  return *status_;
}

void Child::read_some(int timeout_ms) {
  pollfd p{read_fd_, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) <= 0) return;
  char buf[4096];
  const ssize_t n = read(read_fd_, buf, sizeof buf);
  if (n <= 0) {
    eof_ = true;
    return;
  }
  partial_.append(buf, static_cast<size_t>(n));
  for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
    lines_.push_back(partial_.substr(0, nl));
    partial_.erase(0, nl + 1);
  }
}

bool is_json_line(const std::string& l) { return !l.empty() && l.front() == '{'; }

}  // namespace unity::bench
