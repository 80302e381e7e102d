#include "queue/job_metrics.h"

#include <algorithm>

namespace unity::queue {

size_t bucket_of(int64_t us) {
  const double s = static_cast<double>(us) / 1e6;
  return static_cast<size_t>(std::lower_bound(kBucketBoundsS.begin(), kBucketBoundsS.end(), s) -
                             kBucketBoundsS.begin());
}

void JobTypeMetrics::Histogram::observe(int64_t us) {
  us = std::max<int64_t>(us, 0);
  ++buckets[bucket_of(us)];
  ++count;
  sum_us += us;
}

void JobTypeMetrics::record(const std::string& type, const std::string& queue,
                            const std::string& outcome, int64_t run_us, int64_t wait_us) {
  auto& w = queue_waits_[queue];
  w.first += std::max<int64_t>(wait_us, 0);
  ++w.second;
  Counts& c = types_[type];
  if (outcome == "done") ++c.completed;
  if (outcome == "failed") ++c.failed;
  if (outcome == "retry" || outcome == "released") ++c.retried;
  if (outcome == "deferred") ++c.deferred;
  c.run.observe(run_us);
  c.wait.observe(wait_us);
}

void JobTypeMetrics::add_to(db::Connection& conn, int64_t now_us) const {
  constexpr std::string_view kWait =
      "INSERT INTO queue_metrics (minute, queue, wait_us, waited) VALUES ($1, $2, $3, $4)"
      " ON CONFLICT (minute, queue) DO UPDATE SET wait_us = queue_metrics.wait_us +"
      " excluded.wait_us, waited = queue_metrics.waited + excluded.waited";
  for (const auto& [queue, w] : queue_waits_) {
    conn.execute(kWait, {now_us / 60'000'000, queue, w.first, w.second});
  }
  constexpr std::string_view kAdd =
      "INSERT INTO queue_job_metrics (job_type, series, value) VALUES ($1, $2, $3)"
      " ON CONFLICT (job_type, series) DO UPDATE SET value = queue_job_metrics.value +"
      " excluded.value";
  for (const auto& [type, c] : types_) {
    auto add = [&](const std::string& series, int64_t value) {
      if (value != 0) conn.execute(kAdd, {type, series, value});
    };
    add("completed", c.completed);
    add("failed", c.failed);
    add("retried", c.retried);
    add("deferred", c.deferred);
    for (const auto& [name, h] : {std::pair{"run", &c.run}, std::pair{"wait", &c.wait}}) {
      add(std::string(name) + "_count", h->count);
      add(std::string(name) + "_sum_us", h->sum_us);
      for (size_t i = 0; i < h->buckets.size(); ++i) {
        add(std::string(name) + "_b" + std::to_string(i), h->buckets[i]);
      }
    }
  }
}

JobTypeMetrics::Totals JobTypeMetrics::read(db::Connection& conn) {
  Totals out;
  conn.query_each("SELECT job_type, series, value FROM queue_job_metrics", {},
                  [&](const db::Row& r) {
                    out[r.get<std::string>(0)][r.get<std::string>(1)] = r.get<int64_t>(2);
                  });
  return out;
}

}  // namespace unity::queue
