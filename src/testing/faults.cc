#include "testing/faults.h"

#include <cstdlib>

namespace unity::testing {

namespace {

class CrashAfterHandler final : public queue::Job {
 public:
  CrashAfterHandler(std::unique_ptr<queue::Job> inner, int exit_code)
      : inner_(std::move(inner)), exit_code_(exit_code) {}
  void handle(queue::JobContext& ctx) override {
    inner_->handle(ctx);
    std::_Exit(exit_code_);
  }
  void failed(queue::JobContext& ctx, const std::string& error) override {
    inner_->failed(ctx, error);
  }

 private:
  std::unique_ptr<queue::Job> inner_;
  int exit_code_;
};

}  // namespace

queue::JobRegistry crash_after_handler(const queue::JobRegistry& inner, int exit_code) {
  queue::JobRegistry out;
  for (const std::string& name : inner.names()) {
    const queue::JobType& type = inner.get(name);
    out.add(name, type.options, [make = type.make, exit_code] {
      return std::make_unique<CrashAfterHandler>(make(), exit_code);
    });
  }
  return out;
}

}  // namespace unity::testing
