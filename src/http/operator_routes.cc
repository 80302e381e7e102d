// The operators' routes at the root (an operator token only; DESIGN.md "Operators"):
// GET /metrics in the Prometheus text format. The queue's numbers come from the database (jobs by
// queue and state, the per job type counters and histograms the workers write, the workers alive
// by heartbeat), so every `serve` process of one database reports the same; the HTTP, stream and
// pool numbers are this process's own (HttpMetrics).
#include <cmath>
#include <sstream>

#include "core/config.h"
#include "http/route.h"
#include "queue/job_metrics.h"
#include "queue/store.h"
#include "queue/workers.h"

namespace unity::http {

namespace {

using Call = Api::Call;

Api::Route operator_route(std::string method, std::string path, Response (*handler)(Call&)) {
  Api::Route r = route(std::move(method), std::move(path), Access::kOperator, handler);
  r.root = true;
  return r;
}

// A family without samples is left out whole (HELP and TYPE too): parsers differ on empty ones.
void write_jobs(std::ostringstream& out, queue::JobStore& store) {
  const auto queues = store.stats_queues();
  if (queues.empty()) return;
  out << prom_family("unity_jobs", "gauge",
                     "Jobs by queue and state (ready: may run now; running: claimed by a worker; "
                     "delayed: waiting for their time; failed: in failed_jobs).");
  for (const auto& q : queues) {
    const std::string queue = prom_escape(q.queue);
    out << "unity_jobs{queue=\"" << queue << "\",state=\"ready\"} " << q.ready << "\n";
    out << "unity_jobs{queue=\"" << queue << "\",state=\"running\"} " << q.reserved << "\n";
    out << "unity_jobs{queue=\"" << queue << "\",state=\"delayed\"} " << q.delayed << "\n";
    out << "unity_jobs{queue=\"" << queue << "\",state=\"failed\"} " << q.failed << "\n";
  }
}

int64_t value_of(const std::map<std::string, int64_t>& series, const std::string& name) {
  auto it = series.find(name);
  return it == series.end() ? 0 : it->second;
}

void write_type_counter(std::ostringstream& out, const queue::JobTypeMetrics::Totals& totals,
                        const std::string& series, const std::string& help) {
  if (totals.empty()) return;
  const std::string name = "unity_jobs_" + series + "_total";
  out << prom_family(name, "counter", help);
  for (const auto& [type, values] : totals) {
    out << name << "{type=\"" << prom_escape(type) << "\"} " << value_of(values, series) << "\n";
  }
}

void write_type_histogram(std::ostringstream& out, const queue::JobTypeMetrics::Totals& totals,
                          const std::string& histogram, const std::string& help) {
  if (totals.empty()) return;
  const std::string name = "unity_job_" + histogram + "_seconds";
  out << prom_family(name, "histogram", help);
  for (const auto& [type, values] : totals) {
    const std::string label = "type=\"" + prom_escape(type) + "\"";
    int64_t cumulative = 0;
    for (size_t i = 0; i <= queue::kBucketBoundsS.size(); ++i) {
      cumulative += value_of(values, histogram + "_b" + std::to_string(i));
      const double le = i < queue::kBucketBoundsS.size() ? queue::kBucketBoundsS[i] : INFINITY;
      out << name << "_bucket{" << label << ",le=\"" << prom_number(le) << "\"} " << cumulative
          << "\n";
    }
    out << name << "_sum{" << label << "} "
        << prom_number(static_cast<double>(value_of(values, histogram + "_sum_us")) / 1e6) << "\n";
    out << name << "_count{" << label << "} " << value_of(values, histogram + "_count") << "\n";
  }
}

Response metrics(Call& c) {
  require_empty_body(c);
  std::ostringstream out;
  queue::JobStore store(c.conn, c.config.queue_table, c.clock);
  write_jobs(out, store);
  const auto totals = queue::JobTypeMetrics::read(c.conn);
  write_type_counter(out, totals, "completed", "Jobs completed, by job type.");
  write_type_counter(out, totals, "failed",
                     "Jobs failed for good (moved to failed_jobs), by job type.");
  write_type_counter(out, totals, "retried", "Attempts that ended in a retry, by job type.");
  write_type_counter(out, totals, "deferred",
                     "Attempts a middleware put back before they ran (rate limited, key held, "
                     "exceptions throttled), by job type.");
  write_type_histogram(out, totals, "run", "How long an attempt ran, by job type.");
  write_type_histogram(out, totals, "wait",
                       "From when a job could run until a worker claimed it, by job type.");
  out << prom_family("unity_workers_alive", "gauge",
                     "Workers whose heartbeat is recent (queue:workers).");
  out << "unity_workers_alive " << queue::workers_alive(c.conn, c.clock).size() << "\n";
  out << c.metrics.render();
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = out.str();
  return r;
}

}  // namespace

std::vector<Api::Route> operator_routes() { return {operator_route("GET", "metrics", metrics)}; }

}  // namespace unity::http
