#pragma once
// The command line owns signals; the product's threads never see them. A SignalThread blocks the
// given signals in the calling thread (so every thread started after it inherits the block) and
// takes them with sigtimedwait() on a thread of its own, calling `on_signal` there: ordinary code,
// not a handler, so it may lock, allocate and call Worker::request_stop().
//
// Construct it before starting any other thread. The signals stay blocked after destruction: a
// second SIGTERM during shutdown must not kill the process halfway.

#include <functional>
#include <initializer_list>
#include <thread>

namespace unity::cli {

// Blocks `signals` in the calling thread (and so in the threads it starts later). Call it first
// thing in a command that takes signals on a SignalThread: a signal during start-up then waits
// for the SignalThread instead of killing the process.
void block_signals(std::initializer_list<int> signals);

class SignalThread {
 public:
  SignalThread(std::initializer_list<int> signals, std::function<void(int)> on_signal);
  ~SignalThread();
  SignalThread(const SignalThread&) = delete;
  SignalThread& operator=(const SignalThread&) = delete;

 private:
  std::jthread thread_;
};

}  // namespace unity::cli
