#include "bench_jobs.h"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "core/error.h"
#include "measure.h"
#include "queue/job.h"

namespace unity::bench {

namespace {

// A number field of the flat payloads, without a JSON parser: the handlers stay no-ops.
double number_field(const std::string& payload, std::string_view key) {
  const std::string needle = "\"" + std::string(key) + "\":";
  const size_t at = payload.find(needle);
  if (at == std::string::npos)
    throw invalid_argument("bench payload without \"" + std::string(key) + "\"");
  return std::strtod(payload.c_str() + at + needle.size(), nullptr);
}

class NoopJob : public queue::Job {
 public:
  void handle(queue::JobContext& ctx) override {
    tally().start(static_cast<int64_t>(number_field(ctx.payload(), "n")));
  }
};

class LatencyJob : public queue::Job {
 public:
  void handle(queue::JobContext& ctx) override {
    const double t = now_ms();  // the handler's first action
    const std::string& p = ctx.payload();
    tally().start(static_cast<int64_t>(number_field(p, "n")), t - number_field(p, "t"));
  }
};

class ReadyJob : public queue::Job {
 public:
  void handle(queue::JobContext&) override { tally().mark_ready(); }
};

}  // namespace

std::string noop_payload(int64_t n) { return "{\"n\":" + std::to_string(n) + "}"; }

std::string latency_payload(int64_t n, double t) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, t);
  return "{\"n\":" + std::to_string(n) + ",\"t\":" + std::string(buf, end) + "}";
}

void Tally::reset(int64_t expected) {
  expected_ = expected;
  seen_ = std::vector<std::atomic<uint8_t>>(static_cast<size_t>(expected));
  latency_ms_.assign(static_cast<size_t>(expected), std::numeric_limits<double>::infinity());
}

bool Tally::start(int64_t n, double latency) {
  if (n < 0 || n >= expected_) throw invalid_argument("bench job n out of range");
  if (seen_[static_cast<size_t>(n)].exchange(1)) {
    ++duplicates_;
    return false;
  }
  latency_ms_[static_cast<size_t>(n)] = latency;
  if (++started_ == expected_) wake();
  return true;
}

void Tally::mark_ready() {
  ready_ = true;
  wake();
}

void Tally::wake() {
  std::lock_guard lock(mu_);
  cv_.notify_all();
}

bool Tally::wait(const std::function<bool()>& done, double deadline_ms) {
  std::unique_lock lock(mu_);
  while (!done() && now_ms() < deadline_ms) cv_.wait_for(lock, std::chrono::milliseconds(50));
  return done();
}

Tally& tally() {
  static Tally t;
  return t;
}

std::unique_ptr<queue::JobRegistry> bench_registry(bool transactional) {
  auto registry = std::make_unique<queue::JobRegistry>();
  queue::register_diag_jobs(*registry);
  queue::JobOptions o;
  o.queue = kBenchQueue;
  o.transactional = transactional;
  registry->add<NoopJob>("bench.noop", o);
  registry->add<LatencyJob>("bench.latency", o);
  registry->add<ReadyJob>("bench.ready", o);
  return registry;
}

}  // namespace unity::bench
