// ProcessBulkImport benchmark: N product rows (default 1,000,000) imported by the job's body
// (jobs::run_import: the RFC 4180 reader, validation, the bulk upsert by SKU with a ProductCreated
// event per new product, chunked transactions) against the database's own bulk loader on the
// same file: `sqlite3 .import` into a bare table on SQLite, psql's `\copy` (COPY FROM STDIN) on
// PostgreSQL; the loader into the same table (products, indexes and foreign key included: the
// issue's reference); and the schema's floor (products plus their events, set-based). Prints one
// JSON object per driver (both times, the ratio, rows per second, max RSS of this process and of
// the loader); asserts nothing.
//
//   unity_import_bench [--rows=N] [--chunk=C] [--pg=URL] [--copy]
//
// --copy: on PostgreSQL the import writes each chunk with COPY into its staging table then
// INSERT … SELECT instead of the multi-row INSERT … VALUES (ImportRunOptions::copy).
//
// SQLite runs on fresh files in a temporary folder, removed after; PostgreSQL when --pg names a
// superuser URL (a fresh database is made there and dropped after).
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/config.h"
#include "db/migrate.h"
#include "db/postgres/pg_connection.h"
#include "db/tenancy.h"
#include "erp/erp.h"
#include "events/event_bus.h"
#include "jobs/import_job.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"
#include "queue/registry.h"

using namespace unity;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

long max_rss_kib(int who) {
  rusage u{};
  getrusage(who, &u);
  return u.ru_maxrss;
}

// The import job's body on a freshly migrated database of `config`, with the application's
// event bus; returns its time and the import's status.
// Migrates a fresh database and creates the benchmark's tenant; returns its id.
int64_t prepare(const Config& config) {
  auto owner = db::open_connection(config, db::Role::kOwner);
  db::Migrator(*owner, config.db_app_role, config.queue_table).migrate();
  return db::create_tenant(*owner, "Bench").id;
}

nlohmann::json run_job(const Config& config, const std::string& csv, const fs::path& storage,
                       int64_t chunk, bool copy) {
  const int64_t tenant = prepare(config);
  auto conn = db::open_connection(config, db::Role::kApp);
  conn->set_tenant(tenant);
  queue::JobRegistry registry;
  queue::Dispatcher dispatcher(config, registry);
  events::EventBus bus(registry, dispatcher);
  notify::DatabaseNotifier notifier(registry, dispatcher);
  erp::wire_erp(bus, notifier);
  const int64_t id = jobs::create_import(*conn, storage.string(), "products", csv, std::nullopt);
  jobs::ImportRunOptions options;
  options.chunk_rows = chunk;
  options.copy = copy;
  const auto t0 = SteadyClock::now();
  jobs::run_import(*conn, bus, id, {}, std::nullopt, system_clock(), options);
  const double import_ms = ms_since(t0);
  const auto status = jobs::import_status(*conn, id);
  return {{"import_ms", import_ms},
          {"status", status["status"]},
          {"imported_rows", status["imported_rows"]},
          {"copy", copy}};
}

// Runs `cmd` (the bulk loader) and returns its wall time.
double run_loader(const std::string& cmd) {
  const auto t0 = SteadyClock::now();
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
  return ms_since(t0);
}

// The schema's floor: the loader into a temporary table, then two set-based statements that
// write what the import writes (the products, one ProductCreated row each in domain_events)
// with the real tables' indexes, constraints and foreign keys, and no per-row client work.
// products_sql alone is the bulk load into the same table (SQLite; see main for PostgreSQL).
std::string products_sql(bool postgres, int64_t tenant) {
  const std::string t = std::to_string(tenant);
  const std::string now = postgres ? "now()" : "'2026-12-01T00:00:00Z'";
  return "INSERT INTO products (tenant_id, sku, name, price, cost, reorder_level, unit, "
         "low_stock_flag, created_at, updated_at) SELECT " +
         t + ", sku, name, " + (postgres ? "price::numeric, cost::numeric" : "price, cost") +
         ", 0, unit, 0, " + now + ", " + now + " FROM staging";
}

std::string floor_sql(bool postgres, int64_t tenant) {
  const std::string t = std::to_string(tenant);
  const std::string uuid = postgres ? "lpad(to_hex(p.id), 32, '0')::uuid" : "printf('%032x', p.id)";
  const std::string payload =
      postgres ? "json_build_object('cost', p.cost, 'name', p.name, 'price', p.price, "
                 "'product_id', p.id, 'reorder_level', p.reorder_level, 'sku', p.sku, 'unit', "
                 "p.unit)::jsonb"
               : "json_object('cost', p.cost, 'name', p.name, 'price', p.price, 'product_id', "
                 "p.id, 'reorder_level', p.reorder_level, 'sku', p.sku, 'unit', p.unit)";
  const std::string now = postgres ? "now()" : "'2026-12-01T00:00:00Z'";
  return products_sql(postgres, tenant) +
         "; INSERT INTO domain_events (uuid, tenant_id, name, aggregate_type, "
         "aggregate_id, payload, occurred_at) SELECT " +
         uuid + ", " + t + ", 'ProductCreated', 'product', p.id, " + payload + ", " + now +
         " FROM products p";
}

nlohmann::json summary(const char* driver, int64_t rows, int64_t chunk, const nlohmann::json& job,
                       const char* loader, double loader_ms, double same_table_ms,
                       double floor_ms) {
  const double import_ms = job["import_ms"].get<double>();
  return {{"driver", driver},
          {"same_table_loader_ms", same_table_ms},
          {"ratio_to_same_table", import_ms / same_table_ms},
          {"schema_floor_ms", floor_ms},
          {"ratio_to_floor", import_ms / floor_ms},
          {"rows", rows},
          {"chunk_rows", chunk},
          {"copy", job["copy"]},
          {"status", job["status"]},
          {"imported_rows", job["imported_rows"]},
          {"import_ms", import_ms},
          {"loader", loader},
          {"loader_ms", loader_ms},
          {"ratio", import_ms / loader_ms},
          {"import_rows_per_s", rows / (import_ms / 1000.0)},
          {"max_rss_kib", max_rss_kib(RUSAGE_SELF)},
          {"loader_max_rss_kib", max_rss_kib(RUSAGE_CHILDREN)}};
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();  // as `unity` does
  int64_t rows = 1'000'000;
  int64_t chunk = jobs::kImportChunkRows;
  std::string pg;
  bool copy = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--rows=", 0) == 0) {
      rows = std::stoll(a.substr(7));
    } else if (a.rfind("--chunk=", 0) == 0) {
      chunk = std::stoll(a.substr(8));
    } else if (a.rfind("--pg=", 0) == 0) {
      pg = a.substr(5);
    } else if (a == "--copy") {
      copy = true;
    } else {
      std::fprintf(stderr,
                   "usage: unity_import_bench [--rows=N] [--chunk=C] [--pg=URL] [--copy]\n");
      return 2;
    }
  }
  const fs::path dir =
      fs::temp_directory_path() / ("unity-import-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::all);  // readable by whoever runs psql's \copy
  const std::string csv = (dir / "products.csv").string();
  {
    std::ofstream out(csv, std::ios::binary);
    out << "sku,name,price,cost,unit\r\n";
    for (int64_t i = 0; i < rows; ++i) {
      out << "SKU-" << i << ",\"Product " << i << ", \"\"bench\"\"\"," << (i % 1000) + 1 << "."
          << (i % 100) << "," << (i % 500) << ".5,pcs\r\n";
    }
  }
  try {
    const std::string bare = (dir / "bare.sqlite").string();
    const double sqlite_ms =
        run_loader("sqlite3 " + bare +
                   " 'CREATE TABLE bare (sku TEXT, name TEXT, price TEXT, cost TEXT, unit TEXT)' "
                   "'.import --csv --skip 1 " +
                   csv + " bare'");
    const auto job = run_job(Config::from_vars({{"DB_DATABASE", (dir / "unity.sqlite").string()}}),
                             csv, dir / "storage", chunk, copy);
    // The file through a temporary table, then `sql` (given the tenant) into a fresh database
    // `name` with the real schema: the loader's best on a table whose columns the file lacks.
    auto staged_sqlite = [&](const char* name, std::string (*sql)(bool, int64_t)) {
      const std::string db = (dir / name).string();
      const int64_t tenant = prepare(Config::from_vars({{"DB_DATABASE", db}}));
      return run_loader(
          "sqlite3 -cmd 'PRAGMA foreign_keys=ON' " + db +
          " 'CREATE TEMP TABLE staging (sku TEXT, name TEXT, price TEXT, cost TEXT, unit TEXT)' "
          "'.import --csv --skip 1 --schema temp " +
          csv + " staging' \"BEGIN; " + sql(false, tenant) + "; COMMIT\"");
    };
    const double sqlite_floor_ms = staged_sqlite("floor.sqlite", floor_sql);
    // The reference: the loader into the same table, indexes included (sqlite3's .import
    // cannot fill the columns the file lacks: tenant, timestamps).
    const double sqlite_same_ms = staged_sqlite("same.sqlite", products_sql);
    std::printf("%s\n", summary("sqlite", rows, chunk, job, "sqlite3 .import", sqlite_ms,
                                sqlite_same_ms, sqlite_floor_ms)
                            .dump()
                            .c_str());
    std::fflush(stdout);
    if (!pg.empty()) {
      const std::string name = "unity_import_bench_" + std::to_string(getpid());
      db::open_postgres({pg, std::nullopt, 10000})->execute_script("CREATE DATABASE " + name);
      const std::string url = pg.substr(0, pg.rfind('/') + 1) + name;
      const double copy_ms = run_loader(
          "psql -q -v ON_ERROR_STOP=1 '" + url +
          "' -c 'CREATE TABLE bare (sku text, name text, price text, cost text, unit text)' "
          "-c \"\\copy bare FROM '" +
          csv + "' WITH (FORMAT csv, HEADER true)\"");
      const auto pg_job = run_job(Config::from_vars({{"DB_CONNECTION", "pgsql"}, {"DB_URL", url}}),
                                  csv, dir / "storage-pg", chunk, copy);
      const std::string floor_name = name + "_floor";
      db::open_postgres({pg, std::nullopt, 10000})->execute_script("CREATE DATABASE " + floor_name);
      const std::string floor_url = pg.substr(0, pg.rfind('/') + 1) + floor_name;
      const int64_t pg_floor_tenant =
          prepare(Config::from_vars({{"DB_CONNECTION", "pgsql"}, {"DB_URL", floor_url}}));
      const double pg_floor_ms = run_loader(
          "psql -q -v ON_ERROR_STOP=1 '" + floor_url +
          "' -c 'CREATE TEMP TABLE staging (sku text, name text, price text, cost text, unit "
          "text)' -c \"\\copy staging FROM '" +
          csv + "' WITH (FORMAT csv, HEADER true)\" -c \"" + floor_sql(true, pg_floor_tenant) +
          "\"");
      // The reference: COPY straight into products (its primary key, unique SKU index,
      // CHECKs, the foreign key to tenants); the columns the file lacks get defaults first.
      const std::string same_name = name + "_same";
      db::open_postgres({pg, std::nullopt, 10000})->execute_script("CREATE DATABASE " + same_name);
      const std::string same_url = pg.substr(0, pg.rfind('/') + 1) + same_name;
      const int64_t pg_same_tenant =
          prepare(Config::from_vars({{"DB_CONNECTION", "pgsql"}, {"DB_URL", same_url}}));
      db::open_postgres({same_url, std::nullopt, 10000})
          ->execute_script("ALTER TABLE products ALTER tenant_id SET DEFAULT " +
                           std::to_string(pg_same_tenant) +
                           ", ALTER reorder_level SET DEFAULT 0, ALTER created_at SET DEFAULT "
                           "now(), ALTER updated_at SET DEFAULT now()");
      const double pg_same_ms =
          run_loader("psql -q -v ON_ERROR_STOP=1 '" + same_url +
                     "' -c \"\\copy products (sku, name, price, cost, unit) FROM '" + csv +
                     "' WITH (FORMAT csv, HEADER true)\"");
      std::printf("%s\n", summary("postgres", rows, chunk, pg_job, "psql \\copy", copy_ms,
                                  pg_same_ms, pg_floor_ms)
                              .dump()
                              .c_str());
      for (const auto& db_name : {name, floor_name, same_name}) {
        db::open_postgres({pg, std::nullopt, 10000})
            ->execute_script("DROP DATABASE " + db_name + " WITH (FORCE)");
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_import_bench: %s\n", e.what());
    fs::remove_all(dir);
    return 1;
  }
  fs::remove_all(dir);
  return 0;
}
