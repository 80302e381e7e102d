// GenerateReports benchmark (issue: "Sales report over 1,000,000 order lines: within 2x of the
// bare aggregation query's time"). Prints one JSON object, asserts nothing.
//
//   unity_report_bench [--lines=N] [--lines-per-order=K] [--products=P] [--runs=R]
//
// Seeds one tenant of a fresh SQLite file in /tmp with N order lines (default 1,000,000), K per
// fulfilled order (default 10), over P products (default 1,000) and 1,000 customers. Then, on the
// app connection in the tenant context, after ANALYZE and one untimed read, each of R runs
// (default 3) times
//   (a) aggregate: the bare aggregation query: per product Σ quantity, Σ line_total, Σ cost
//                  computed by SQLite itself (floating point over the decimal text) over the
//                  same join and date filter;
//   (b) report:    what the job does for `report sales --format=csv`: jobs::build_report() (the
//                  job's streaming query, exact Decimal sums per order and per product) and the
//                  CSV writer to a file.
// Reports the medians and ratio = report / aggregate.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/decimal.h"
#include "core/error.h"
#include "db/migrate.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "db/values_sql.h"
#include "jobs/report_job.h"
#include "jobs/report_writers.h"

using namespace unity;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Options {
  int64_t lines = 1'000'000;
  int lines_per_order = 10;
  int products = 1000;
  int runs = 3;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

std::string dec(int64_t mantissa) { return Decimal::from_mantissa(mantissa).to_string(4); }

void seed(db::Connection& conn, int64_t tenant, const Options& o) {
  const std::string now = format_iso8601(system_clock().now());
  db::Transaction tx(conn);
  std::vector<int64_t> products, customers;
  std::vector<int64_t> price(o.products);
  std::mt19937_64 rng(42);
  for (int p = 0; p < o.products; ++p) {
    price[p] = static_cast<int64_t>(1 + rng() % 100'000) * 100;
    products.push_back(conn.query_int(
        "INSERT INTO products (tenant_id, sku, name, price, cost, reorder_level, unit, created_at, "
        "updated_at) VALUES ($1, $2, $3, $4, '1.0000', '0.0000', 'pcs', $5, $5) RETURNING id",
        {tenant, "SKU-" + std::to_string(p), "Product " + std::to_string(p), dec(price[p]), now}));
  }
  for (int c = 0; c < 1000; ++c) {
    customers.push_back(
        conn.query_int("INSERT INTO customers (tenant_id, name, email, created_at, updated_at) "
                       "VALUES ($1, $2, $3, $4, $4) RETURNING id",
                       {tenant, "Customer " + std::to_string(c),
                        "customer" + std::to_string(c) + "@bench.test", now}));
  }
  const int64_t orders = (o.lines + o.lines_per_order - 1) / o.lines_per_order;
  // Fulfilled through 2026, one order every few minutes.
  const int64_t start_us = parse_iso8601("2026-01-01").time_since_epoch().count();
  const int64_t step_us = 365LL * 24 * 3600 * 1'000'000 / std::max<int64_t>(orders, 1);
  constexpr int kLineBatch = 100;
  const std::string line_sql =
      "INSERT INTO order_lines (tenant_id, order_id, product_id, quantity, unit_price, "
      "line_total, cost) VALUES " +
      db::values_sql(kLineBatch, 6, 2, "$1, ", "");
  db::Params lines{tenant};
  int pending = 0;
  int64_t written = 0;
  for (int64_t i = 0; i < orders && written < o.lines; ++i) {
    const std::string at =
        format_iso8601(TimePoint(std::chrono::microseconds(start_us + i * step_us)));
    const int64_t order = conn.query_int(
        "INSERT INTO orders (tenant_id, customer_id, status, total, cost_of_goods, fulfilled_at, "
        "created_at, updated_at) VALUES ($1, $2, 'fulfilled', '0.0000', '0.0000', $3, $3, $3) "
        "RETURNING id",
        {tenant, customers[rng() % customers.size()], at});
    for (int l = 0; l < o.lines_per_order && written < o.lines; ++l, ++written) {
      const size_t p = rng() % products.size();
      const int64_t q = static_cast<int64_t>(1 + rng() % 40) * 2500;  // 0.25 .. 10
      const Decimal quantity = Decimal::from_mantissa(q);
      const Decimal total = quantity * Decimal::from_mantissa(price[p]);
      const Decimal cost = quantity * Decimal::from_mantissa(price[p] / 2 + 1);
      lines.add(order)
          .add(products[p])
          .add(dec(q))
          .add(dec(price[p]))
          .add(total.to_string(4))
          .add(cost.to_string(4));
      if (++pending == kLineBatch) {
        conn.execute(line_sql, lines);
        lines = db::Params{tenant};
        pending = 0;
      }
    }
  }
  if (pending) {
    conn.execute(
        "INSERT INTO order_lines (tenant_id, order_id, product_id, quantity, "
        "unit_price, line_total, cost) VALUES " +
            db::values_sql(pending, 6, 2, "$1, ", ""),
        lines);
  }
  tx.commit();
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();  // as `unity` does
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--lines=", 0) == 0) o.lines = std::stoll(a.substr(8));
    if (a.rfind("--lines-per-order=", 0) == 0) o.lines_per_order = std::stoi(a.substr(18));
    if (a.rfind("--products=", 0) == 0) o.products = std::stoi(a.substr(11));
    if (a.rfind("--runs=", 0) == 0) o.runs = std::max(1, std::stoi(a.substr(7)));
  }
  try {
    const auto dir =
        std::filesystem::temp_directory_path() / ("unity-report-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const Config config = Config::from_vars({{"DB_DATABASE", (dir / "bench.sqlite").string()}});
    {
      auto owner = db::open_connection(config, db::Role::kOwner);
      db::Migrator(*owner, config.db_app_role, config.queue_table).migrate();
    }
    auto conn = db::open_connection(config, db::Role::kApp);
    const int64_t tenant = db::create_tenant(*conn, "Bench").id;
    conn->set_tenant(tenant);
    auto t0 = SteadyClock::now();
    seed(*conn, tenant, o);
    const double seed_ms = ms_since(t0);
    db::open_connection(config, db::Role::kOwner)->execute_script("ANALYZE");

    const jobs::ReportRequest request{"sales", "csv", "2026-01-01", "2026-12-31", std::nullopt};
    const auto [start, end] = jobs::report_interval(request.from, request.to);
    const std::string aggregate_sql =
        "SELECT ol.product_id, SUM(ol.quantity), SUM(ol.line_total), SUM(ol.cost), COUNT(*) "
        "FROM orders o JOIN order_lines ol ON ol.tenant_id = o.tenant_id AND ol.order_id = o.id "
        "WHERE o.tenant_id = $1 AND o.status = 'fulfilled' AND o.fulfilled_at >= $2 AND "
        "o.fulfilled_at < $3 GROUP BY ol.product_id";
    const std::string csv = (dir / "sales.csv").string();
    conn->query_each(aggregate_sql, {tenant, start, end}, [](const db::Row&) {});
    std::vector<double> aggregate_ms, report_ms;
    int64_t aggregated = 0;
    std::string revenue;
    for (int r = 0; r < o.runs; ++r) {
      aggregated = 0;
      t0 = SteadyClock::now();
      conn->query_each(aggregate_sql, {tenant, start, end},
                       [&](const db::Row& row) { aggregated += row.get<int64_t>(4); });
      aggregate_ms.push_back(ms_since(t0));
      t0 = SteadyClock::now();
      const jobs::Report report =
          jobs::build_report(*conn, request, format_iso8601(system_clock().now()));
      jobs::make_report_writer("csv")->write(report, csv);
      report_ms.push_back(ms_since(t0));
      revenue = report.sections.back().rows.at(0).at(3).text;
    }
    const double aggregate = median(aggregate_ms), report = median(report_ms);
    const nlohmann::json out = {{"driver", "sqlite"},
                                {"order_lines", o.lines},
                                {"lines_aggregated", aggregated},
                                {"lines_per_order", o.lines_per_order},
                                {"products", o.products},
                                {"runs", o.runs},
                                {"seed_ms", seed_ms},
                                {"aggregate_ms", aggregate},
                                {"report_ms", report},
                                {"ratio", report / aggregate},
                                {"csv_bytes", std::filesystem::file_size(csv)},
                                {"revenue", revenue},
                                {"aggregate_ms_all", aggregate_ms},
                                {"report_ms_all", report_ms}};
    std::printf("%s\n", out.dump().c_str());
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_report_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
