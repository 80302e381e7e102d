#pragma once
// Sends spans (core/trace.h) to an OpenTelemetry collector as OTLP/HTTP JSON: POST
// <endpoint>/v1/traces with {"resourceSpans":[{"resource","scopeSpans":[{"scope","spans"}]}]},
// ids in hex, times in nanoseconds since the epoch. Configured by OTEL_EXPORTER_OTLP_ENDPOINT
// (core/config.h); the CLI installs one as the span sink of `unity serve` and `queue:work`.
//
// Off the job path: add() only queues (under a mutex, never waiting on the network); a thread of
// its own sends batches of up to `max_batch` spans at least every `interval`. A failed POST
// (refused, timeout, non-2xx) is counted and the batch dropped: export never fails a job or a
// request, and never retries into a collector that is down. Past `max_queued` waiting spans new
// ones are dropped (counted). Thread-safe. Destruction sends what is queued (one last try), then
// stops.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/trace.h"

namespace unity::jobs {

struct OtlpOptions {
  std::string endpoint;  // "http://collector:4318" (no /v1/traces)
  std::string service_name = "unity";
  std::chrono::milliseconds interval{1000};
  size_t max_batch = 512;
  size_t max_queued = 20000;
  std::chrono::milliseconds timeout{5000};  // per POST
};

class OtlpExporter {
 public:
  explicit OtlpExporter(OtlpOptions options);
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  void add(const trace::Span& span);
  // Sends everything queued now and waits for it (tests, shutdown).
  void flush();

  int64_t sent() const;     // spans a collector accepted
  int64_t dropped() const;  // spans lost to a full queue or a failed POST

  // The OTLP/HTTP JSON body for `spans`.
  static std::string to_otlp_json(const std::vector<trace::Span>& spans,
                                  const std::string& service_name);

 private:
  void loop(std::stop_token stop);
  void send(std::vector<trace::Span> batch);

  const OtlpOptions options_;
  mutable std::mutex mu_;  // guards queued_, sent_, dropped_, sending_
  std::condition_variable_any cv_;
  std::condition_variable_any idle_;
  std::vector<trace::Span> queued_;
  int64_t sent_ = 0;
  int64_t dropped_ = 0;
  bool sending_ = false;
  bool flush_ = false;
  std::jthread thread_;  // last: starts after the rest is built
};

}  // namespace unity::jobs
