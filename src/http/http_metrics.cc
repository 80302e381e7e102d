#include "http/http_metrics.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace unity::http {

std::string prom_escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string prom_family(const std::string& name, const std::string& type, const std::string& help) {
  return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

std::string prom_number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  std::ostringstream s;
  s.precision(15);
  s << v;
  return s.str();
}

void HttpMetrics::record(const std::string& method, const std::string& route, int status,
                         std::chrono::microseconds took) {
  const double s = static_cast<double>(took.count()) / 1e6;
  const size_t bucket =
      static_cast<size_t>(std::lower_bound(kLatencyBoundsS.begin(), kLatencyBoundsS.end(), s) -
                          kLatencyBoundsS.begin());
  std::lock_guard lock(mu_);
  ++requests_[{method, route, status}];
  Latency& l = latency_[{method, route}];
  ++l.buckets[bucket];
  ++l.count;
  l.sum_us += took.count();
}

void HttpMetrics::set_open_streams(std::function<int64_t()> source) {
  std::lock_guard lock(mu_);
  open_streams_ = std::move(source);
}

// Under mu_. Left out whole while no request was answered (parsers differ on empty families).
void HttpMetrics::render_requests(std::ostringstream& out) const {
  if (requests_.empty()) return;
  out << prom_family("unity_http_requests_total", "counter",
                     "HTTP requests answered by this process, by method, route and status.");
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    out << "unity_http_requests_total{method=\"" << prom_escape(method) << "\",route=\""
        << prom_escape(route) << "\",status=\"" << status << "\"} " << n << "\n";
  }
  out << prom_family("unity_http_request_duration_seconds", "histogram",
                     "Time to answer an HTTP request in this process, by method and route.");
  for (const auto& [key, l] : latency_) {
    const std::string labels =
        "method=\"" + prom_escape(key.first) + "\",route=\"" + prom_escape(key.second) + "\"";
    int64_t cumulative = 0;
    for (size_t i = 0; i <= kLatencyBoundsS.size(); ++i) {
      cumulative += l.buckets[i];
      const double le = i < kLatencyBoundsS.size() ? kLatencyBoundsS[i] : INFINITY;
      out << "unity_http_request_duration_seconds_bucket{" << labels << ",le=\"" << prom_number(le)
          << "\"} " << cumulative << "\n";
    }
    out << "unity_http_request_duration_seconds_sum{" << labels << "} "
        << prom_number(static_cast<double>(l.sum_us) / 1e6) << "\n";
    out << "unity_http_request_duration_seconds_count{" << labels << "} " << l.count << "\n";
  }
}

std::string HttpMetrics::render() const {
  std::ostringstream out;
  std::lock_guard lock(mu_);
  render_requests(out);
  out << prom_family("unity_http_open_streams", "gauge",
                     "Notification streams (SSE and WebSocket) open in this process.");
  out << "unity_http_open_streams " << (open_streams_ ? open_streams_() : 0) << "\n";
  out << prom_family("unity_db_pool_connections", "gauge",
                     "Database connections of this process's HTTP threads: open, in use by a "
                     "request, and the most there can be (one per thread).");
  out << "unity_db_pool_connections{state=\"open\"} " << pool_open_.load() << "\n";
  out << "unity_db_pool_connections{state=\"in_use\"} " << pool_in_use_.load() << "\n";
  out << "unity_db_pool_connections{state=\"max\"} " << pool_size_.load() << "\n";
  return out.str();
}

}  // namespace unity::http
