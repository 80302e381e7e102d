// RecalculateInventoryValuation benchmark (issue: "FIFO valuation of 1,000,000 ledger movements
// within 2x of the time to read them"). Prints one JSON object per driver, asserts nothing.
//
//   unity_valuation_bench [--movements=N] [--products=P] [--locations=L] [--runs=R] [--pg=URL]
//
// Seeds one tenant's ledger with N movements (default 1,000,000) over P products (default 1,000)
// at L locations (default 4): receipts at random costs and issues that never oversell, in time
// order. Then, on the app connection in the tenant context (row-level security applies on
// PostgreSQL), after VACUUM, ANALYZE and one untimed read, each of R runs (default 3) times
//   (a) read:      the valuation's own ledger query (jobs::ledger_query), every row fetched and
//                  its cells touched, nothing computed;
//   (b) valuation: jobs::recalculate_valuations() in one transaction: the same query, the FIFO
//                  replay with exact decimals and the stored rows replaced, committed.
// Reports the medians and ratio = valuation / read. Runs on a fresh SQLite file in /tmp, and on
// PostgreSQL when --pg names a superuser URL (a fresh database is made there and dropped after).
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
#include "db/postgres/pg_connection.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "jobs/valuation.h"

using namespace unity;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Options {
  int64_t movements = 1'000'000;
  int products = 1000;
  int locations = 4;
  int runs = 3;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

std::string decimal_text(int64_t mantissa) { return Decimal::from_mantissa(mantissa).to_string(4); }

// Products, locations and a valid ledger, inserted 500 rows per statement.
void seed(db::Connection& conn, int64_t tenant, const Options& o) {
  const std::string now = format_iso8601(system_clock().now());
  std::vector<int64_t> products, locations;
  db::Transaction tx(conn);
  for (int p = 0; p < o.products; ++p) {
    products.push_back(conn.query_int(
        "INSERT INTO products (tenant_id, sku, name, price, cost, reorder_level, unit, created_at, "
        "updated_at) VALUES ($1, $2, $3, '1.0000', '1.0000', '0.0000', 'pcs', $4, $4) RETURNING id",
        {tenant, "SKU-" + std::to_string(p), "Product " + std::to_string(p), now}));
  }
  for (int l = 0; l < o.locations; ++l) {
    locations.push_back(conn.query_int(
        "INSERT INTO locations (tenant_id, code, name, created_at) VALUES ($1, $2, $2, $3) "
        "RETURNING id",
        {tenant, "LOC-" + std::to_string(l), now}));
  }
  constexpr int kBatch = 500;
  std::string sql =
      "INSERT INTO stock_movements (tenant_id, product_id, location_id, quantity, unit_cost, "
      "reason, occurred_at) VALUES ";
  for (int i = 0; i < kBatch; ++i) {
    const int b = i * 5;
    sql += (i ? ", ($1, $" : "($1, $") + std::to_string(b + 2) + ", $" + std::to_string(b + 3) +
           ", $" + std::to_string(b + 4) + ", $" + std::to_string(b + 5) + ", 'bench', $" +
           std::to_string(b + 6) + ")";
  }
  std::mt19937_64 rng(42);
  std::vector<int64_t> on_hand(products.size() * locations.size(), 0);  // mantissas
  const int64_t start_us = system_clock().now().time_since_epoch().count() - o.movements * 1000;
  db::Params params{tenant};
  int64_t pending = 0;
  for (int64_t i = 0; i < o.movements; ++i) {
    const size_t key = rng() % on_hand.size();
    int64_t quantity = 0, cost = 0;
    if (on_hand[key] > 0 && rng() % 10 < 4) {
      quantity = -static_cast<int64_t>(1 + rng() % static_cast<uint64_t>(on_hand[key]));
      cost = 0;
    } else {
      quantity = static_cast<int64_t>(1 + rng() % 100) * 100;  // 0.01 .. 1.00 steps, up to 100
      quantity *= 1 + static_cast<int64_t>(rng() % 100);
      cost = static_cast<int64_t>(rng() % 1'000'000);  // up to 99.9999
    }
    on_hand[key] += quantity;
    params.add(products[key / locations.size()])
        .add(locations[key % locations.size()])
        .add(decimal_text(quantity))
        .add(decimal_text(cost))
        .add(format_iso8601(TimePoint(std::chrono::microseconds(start_us + i * 1000))));
    if (++pending == kBatch) {
      conn.execute(sql, params);
      params = db::Params{tenant};
      pending = 0;
    }
  }
  for (int64_t i = 0; i < pending; ++i) {
    const auto& v = params.values();
    const size_t b = 1 + static_cast<size_t>(i) * 5;
    conn.execute(
        "INSERT INTO stock_movements (tenant_id, product_id, location_id, quantity, unit_cost, "
        "reason, occurred_at) VALUES ($1, $2, $3, $4, $5, 'bench', $6)",
        {tenant, v[b], v[b + 1], v[b + 2], v[b + 3], v[b + 4]});
  }
  tx.commit();
}

nlohmann::json run(const Config& config, const std::string& driver, const Options& o) {
  {
    auto owner = db::open_connection(config, db::Role::kOwner);
    db::Migrator(*owner, config.db_app_role, config.queue_table).migrate();
  }
  auto conn = db::open_connection(config, db::Role::kApp);
  const int64_t tenant = db::create_tenant(*conn, "Bench").id;
  conn->set_tenant(tenant);
  const auto seed0 = SteadyClock::now();
  seed(*conn, tenant, o);
  const double seed_ms = ms_since(seed0);
  {
    // A settled table, as a ledger is in steady state: PostgreSQL's visibility map set (index-only
    // scans) and hint bits written, statistics fresh on both. One untimed read warms the caches.
    auto owner = db::open_connection(config, db::Role::kOwner);
    owner->execute_script("VACUUM");
    owner->execute_script("ANALYZE");
  }

  const jobs::LedgerQuery q = jobs::ledger_query(tenant, {});
  std::vector<double> read_ms, valuation_ms;
  jobs::RecalculationSummary summary;
  conn->query_each(q.sql, q.params, [](const db::Row&) {});
  for (int r = 0; r < o.runs; ++r) {
    int64_t rows = 0, bytes = 0;
    auto t0 = SteadyClock::now();
    {
      db::Transaction tx(*conn, db::TxMode::kRead);
      conn->query_each(q.sql, q.params, [&](const db::Row& row) {
        ++rows;
        for (size_t c = 0; c < row.size(); ++c) {
          if (const auto* s = std::get_if<std::string>(&row.value(c))) bytes += s->size();
        }
      });
      tx.commit();
    }
    read_ms.push_back(ms_since(t0));
    if (rows != o.movements) throw internal_error("read " + std::to_string(rows) + " rows");
    t0 = SteadyClock::now();
    summary = jobs::recalculate_valuations(*conn, {}, format_iso8601(system_clock().now()));
    valuation_ms.push_back(ms_since(t0));
    if (bytes == 0) throw internal_error("nothing read");
  }
  const double read = median(read_ms), valuation = median(valuation_ms);
  return {{"driver", driver},
          {"movements", o.movements},
          {"products", o.products},
          {"locations", o.locations},
          {"runs", o.runs},
          {"seed_ms", seed_ms},
          {"read_ms", read},
          {"valuation_ms", valuation},
          {"ratio", valuation / read},
          {"rows_written", summary.location_rows + summary.product_rows},
          {"read_ms_all", read_ms},
          {"valuation_ms_all", valuation_ms}};
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();  // as `unity` does
  Options o;
  std::string pg;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--movements=", 0) == 0) o.movements = std::stoll(a.substr(12));
    if (a.rfind("--products=", 0) == 0) o.products = std::stoi(a.substr(11));
    if (a.rfind("--locations=", 0) == 0) o.locations = std::stoi(a.substr(12));
    if (a.rfind("--runs=", 0) == 0) o.runs = std::max(1, std::stoi(a.substr(7)));
    if (a.rfind("--pg=", 0) == 0) pg = a.substr(5);
  }
  try {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("unity-valuation-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const auto sqlite =
        run(Config::from_vars({{"DB_DATABASE", (dir / "bench.sqlite").string()}}), "sqlite", o);
    std::printf("%s\n", sqlite.dump().c_str());
    std::fflush(stdout);
    std::filesystem::remove_all(dir);
    if (!pg.empty()) {
      const std::string name = "unity_valuation_bench_" + std::to_string(getpid());
      db::open_postgres({pg, std::nullopt, 10000})->execute_script("CREATE DATABASE " + name);
      const std::string url = pg.substr(0, pg.rfind('/') + 1) + name;
      const auto postgres =
          run(Config::from_vars({{"DB_CONNECTION", "pgsql"}, {"DB_URL", url}}), "postgres", o);
      std::printf("%s\n", postgres.dump().c_str());
      db::open_postgres({pg, std::nullopt, 10000})
          ->execute_script("DROP DATABASE " + name + " WITH (FORCE)");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_valuation_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
