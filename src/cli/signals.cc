#include "cli/signals.h"

#include <pthread.h>
#include <signal.h>

#include <ctime>

namespace unity::cli {

void block_signals(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

SignalThread::SignalThread(std::initializer_list<int> signals, std::function<void(int)> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::jthread([set, on_signal = std::move(on_signal)](std::stop_token stop) {
    while (!stop.stop_requested()) {
      const timespec tick{0, 100'000'000};  // how soon destruction is noticed
      const int sig = sigtimedwait(&set, nullptr, &tick);
      if (sig > 0) on_signal(sig);
    }
  });
}

SignalThread::~SignalThread() {
  thread_.request_stop();
  thread_.join();
}

}  // namespace unity::cli
