// ProcessBulkImport benchmark: N product rows (default 1,000,000) imported by the job's body
// (jobs::run_import: the RFC 4180 reader, validation, CatalogService upserts with their events,
// chunked transactions) against `sqlite3 .import` of the same file into a bare table. Prints one
// JSON object (both times, the ratio, rows per second, max RSS of this process and of sqlite3);
// asserts nothing.
//
//   unity_import_bench [--rows=N] [--chunk=C]
//
// Runs on fresh SQLite files in a temporary folder, removed after.
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "db/migrate.h"
#include "db/tenancy.h"
#include "erp/erp.h"
#include "events/event_bus.h"
#include "jobs/import_job.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"
#include "queue/registry.h"

using namespace unity;
using SteadyClock = std::chrono::steady_clock;

namespace {

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

long max_rss_kib(int who) {
  rusage u{};
  getrusage(who, &u);
  return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 1'000'000;
  int64_t chunk = jobs::kImportChunkRows;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--rows=", 0) == 0)
      rows = std::stoll(a.substr(7));
    else if (a.rfind("--chunk=", 0) == 0)
      chunk = std::stoll(a.substr(8));
    else {
      std::fprintf(stderr, "usage: unity_import_bench [--rows=N] [--chunk=C]\n");
      return 2;
    }
  }
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("unity-import-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string csv = (dir / "products.csv").string();
  {
    std::ofstream out(csv, std::ios::binary);
    out << "sku,name,price,cost,unit\r\n";
    for (int64_t i = 0; i < rows; ++i) {
      out << "SKU-" << i << ",\"Product " << i << ", \"\"bench\"\"\"," << (i % 1000) + 1 << "."
          << (i % 100) << "," << (i % 500) << ".5,pcs\r\n";
    }
  }
  const auto csv_bytes = fs::file_size(csv);

  // (a) sqlite3 .import into a bare table.
  const std::string bare = (dir / "bare.sqlite").string();
  const std::string cmd = "sqlite3 " + bare +
                          " 'CREATE TABLE bare (sku TEXT, name TEXT, price TEXT, cost TEXT, unit "
                          "TEXT)' '.import --csv --skip 1 " +
                          csv + " bare'";
  auto t0 = SteadyClock::now();
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "sqlite3 .import failed\n");
    return 1;
  }
  const double sqlite_ms = ms_since(t0);

  // (b) the import job's body on a migrated database, with the application's event bus.
  const Config config = Config::from_vars({{"DB_DATABASE", (dir / "unity.sqlite").string()}});
  {
    auto owner = db::open_connection(config, db::Role::kOwner);
    db::Migrator(*owner, config.db_app_role, config.queue_table).migrate();
  }
  auto conn = db::open_connection(config, db::Role::kApp);
  const int64_t tenant = db::create_tenant(*conn, "Bench").id;
  conn->set_tenant(tenant);
  queue::JobRegistry registry;
  queue::Dispatcher dispatcher(config, registry);
  events::EventBus bus(registry, dispatcher);
  notify::DatabaseNotifier notifier(registry, dispatcher);
  erp::wire_erp(bus, notifier);
  const int64_t id =
      jobs::create_import(*conn, (dir / "storage").string(), "products", csv, std::nullopt);
  jobs::ImportRunOptions options;
  options.chunk_rows = chunk;
  t0 = SteadyClock::now();
  jobs::run_import(*conn, bus, id, {}, std::nullopt, system_clock(), options);
  const double import_ms = ms_since(t0);
  const auto status = jobs::import_status(*conn, id);

  nlohmann::json out = {
      {"rows", rows},
      {"csv_bytes", csv_bytes},
      {"chunk_rows", chunk},
      {"status", status["status"]},
      {"imported_rows", status["imported_rows"]},
      {"import_ms", import_ms},
      {"sqlite3_import_ms", sqlite_ms},
      {"ratio", import_ms / sqlite_ms},
      {"import_rows_per_s", rows / (import_ms / 1000.0)},
      {"max_rss_kib", max_rss_kib(RUSAGE_SELF)},
      {"sqlite3_max_rss_kib", max_rss_kib(RUSAGE_CHILDREN)},
  };
  std::printf("%s\n", out.dump().c_str());
  conn.reset();
  fs::remove_all(dir);
  return 0;
}
