#pragma once
// What `unity serve` counts in its own memory for GET /metrics: requests by method, route
// pattern ("/api/v1/products/{sku}", never the raw path, so the series stay few) and status;
// request latency as a histogram by method and route; the database connections of the server's
// threads (one per thread, opened on first use: open, in use by a request, the most there can
// be); the open notification streams (asked of the hub when rendered).
//
// Thread-safe: every server thread records; render() may run at the same time.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace unity::http {

class HttpMetrics {
 public:
  // Upper bounds of the latency buckets, in seconds.
  static constexpr std::array<double, 14> kLatencyBoundsS = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

  void record(const std::string& method, const std::string& route, int status,
              std::chrono::microseconds took);

  // The database connections of the server's threads.
  void set_pool_size(int64_t n) { pool_size_ = n; }
  void connection_opened() { ++pool_open_; }
  void connection_closed() { --pool_open_; }
  void request_started() { ++pool_in_use_; }
  void request_finished() { --pool_in_use_; }

  // Where the number of open streams comes from (the server sets it; 0 without one).
  void set_open_streams(std::function<int64_t()> source);

  // The HTTP, stream and pool families in the Prometheus text format (HELP, TYPE, samples).
  std::string render() const;

 private:
  void render_requests(std::ostringstream& out) const;
  struct Latency {
    std::array<int64_t, kLatencyBoundsS.size() + 1> buckets{};  // not cumulative; last: +Inf
    int64_t count = 0;
    int64_t sum_us = 0;
  };
  mutable std::mutex mu_;  // guards requests_, latency_, open_streams_
  std::map<std::tuple<std::string, std::string, int>, int64_t> requests_;
  std::map<std::pair<std::string, std::string>, Latency> latency_;
  std::function<int64_t()> open_streams_;
  std::atomic<int64_t> pool_size_{0}, pool_open_{0}, pool_in_use_{0};
};

// Prometheus text format helpers, shared by the /metrics families of every layer.
// A label value escaped for the text format (\\, \" and \n).
std::string prom_escape(const std::string& value);
// "# HELP name help\n# TYPE name type\n".
std::string prom_family(const std::string& name, const std::string& type, const std::string& help);
// A number as Prometheus reads it ("0.005", "12", "+Inf").
std::string prom_number(double v);

}  // namespace unity::http
