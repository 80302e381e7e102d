// SendBulkNotifications benchmark (issue: "Bulk notification to 100,000 users: within 1.5x of
// inserting the same rows bare"). Prints one JSON object, asserts nothing.
//
//   unity_bulk_notify_bench [--users=N] [--runs=R]
//
// On a fresh SQLite file in /tmp, seeds one tenant with N users (default 100,000). Each of R runs
// (default 3) times, on the app connection in the tenant context:
//   (a) bare: the same N notification rows (a new UUID each, the same rendered data) written with
//             500-row INSERTs in one transaction, committed;
//   (b) job:  what `notify:bulk --users=all --type=announcement` costs once queued: the tracking
//             row and the job dispatched in one transaction, then a real queue::Worker running
//             SendBulkNotifications until the queue is empty (claim, batches of 5,000 users each
//             checked against the tenant and committed with the row's progress, completion).
// The notifications are deleted (untimed) between measurements. Reports the medians and
// ratio = job / bare.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/error.h"
#include "db/migrate.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "events/event_bus.h"
#include "jobs/bulk_notify.h"
#include "jobs/job_log.h"
#include "jobs/jobs.h"
#include "notify/bulk.h"
#include "notify/messages.h"
#include "queue/dispatch.h"
#include "queue/worker.h"

using namespace unity;
using SteadyClock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

std::vector<int64_t> seed_users(db::Connection& conn, int64_t tenant, int64_t n) {
  const std::string now = format_iso8601(system_clock().now());
  constexpr int64_t kBatch = 500;
  db::Transaction tx(conn);
  for (int64_t start = 0; start < n; start += kBatch) {
    const int64_t rows = std::min(kBatch, n - start);
    std::string sql =
        "INSERT INTO users (tenant_id, email, name, role, created_at, updated_at) VALUES ";
    std::vector<db::Value> values{tenant, now};
    for (int64_t i = 0; i < rows; ++i) {
      const std::string e = "$" + std::to_string(3 + 2 * i), nm = "$" + std::to_string(4 + 2 * i);
      sql += (i ? ", (" : "(") + std::string("$1, ") + e + ", " + nm + ", 'sales', $2, $2)";
      values.emplace_back("user" + std::to_string(start + i) + "@bench.test");
      values.emplace_back("User " + std::to_string(start + i));
    }
    conn.execute(sql, db::Params(std::move(values)));
  }
  tx.commit();
  std::vector<int64_t> ids;
  conn.query_each("SELECT id FROM users WHERE tenant_id = $1 ORDER BY id", {tenant},
                  [&](const db::Row& r) { ids.push_back(r.get<int64_t>(0)); });
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();  // as `unity` does
  int64_t users = 100'000;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--users=", 0) == 0)
      users = std::stoll(a.substr(8));
    else if (a.rfind("--runs=", 0) == 0)
      runs = std::stoi(a.substr(7));
    else {
      std::fprintf(stderr, "usage: unity_bulk_notify_bench [--users=N] [--runs=R]\n");
      return 2;
    }
  }
  try {
    const auto dir =
        std::filesystem::temp_directory_path() / ("unity-bulk-bench-" + std::to_string(::getpid()));
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
    const std::vector<int64_t> ids = seed_users(*conn, tenant, users);
    const double seed_ms = ms_since(t0);

    queue::JobRegistry registry;
    queue::Dispatcher dispatcher(config, registry);
    events::EventBus bus(registry, dispatcher);
    jobs::wire_jobs(registry, bus);
    const nlohmann::json data = {{"title", "Stocktake"}, {"message", "Friday at 5pm, all hands"}};
    const std::string rendered =
        notify::render_data(*notify::general_notification("announcement", data));

    Config sync_config = config;
    sync_config.queue_connection = QueueConnection::kSync;
    queue::Dispatcher inline_dispatcher(sync_config, registry);
    std::vector<double> bare_ms, job_ms, inline_ms;
    int64_t sent = 0;
    for (int r = 0; r < runs; ++r) {
      t0 = SteadyClock::now();
      {
        db::Transaction tx(*conn);
        notify::deliver_batch(*conn, ids, "AnnouncementNotification", rendered,
                              format_iso8601(system_clock().now()));
        tx.commit();
      }
      bare_ms.push_back(ms_since(t0));
      conn->execute("DELETE FROM notifications");

      t0 = SteadyClock::now();
      int64_t bulk_id = 0;
      {
        db::Transaction tx(*conn);
        bulk_id = jobs::create_bulk_notification(*conn,
                                                 {"announcement", data, std::nullopt, ids.front()});
        dispatcher.dispatch(*conn, tenant, jobs::kSendBulkNotifications,
                            nlohmann::json{{"bulk_id", bulk_id}}.dump());
        tx.commit();
      }
      queue::WorkerOptions wo;
      wo.stop_when_empty = true;
      wo.job_log = [](const std::string&) {};
      queue::Worker(db::connection_factory(config), config, registry, wo, nullptr).run();
      job_ms.push_back(ms_since(t0));
      const auto status = jobs::load_bulk_notification(*conn, bulk_id);
      sent = status.sent;
      if (status.status != "completed" || sent != users) {
        throw internal_error("job ended " + status.status + " with " + std::to_string(sent) +
                             " sent");
      }
      const int64_t rows = conn->query_int("SELECT count(*) FROM notifications");
      if (rows != users) throw internal_error("job wrote " + std::to_string(rows) + " rows");
      conn->execute("DELETE FROM notifications");

      // The same job run inline (QUEUE_CONNECTION=sync): the job's own cost without the worker.
      t0 = SteadyClock::now();
      {
        db::Transaction tx(*conn);
        bulk_id = jobs::create_bulk_notification(*conn,
                                                 {"announcement", data, std::nullopt, ids.front()});
        inline_dispatcher.dispatch(*conn, tenant, jobs::kSendBulkNotifications,
                                   nlohmann::json{{"bulk_id", bulk_id}}.dump());
        tx.commit();
      }
      inline_ms.push_back(ms_since(t0));
      if (conn->query_int("SELECT count(*) FROM notifications") != users) {
        throw internal_error("the inline job wrote a wrong number of rows");
      }
      conn->execute("DELETE FROM notifications");
    }
    const double bare = median(bare_ms), job = median(job_ms);
    const nlohmann::json out = {{"driver", "sqlite"},    {"users", users},
                                {"runs", runs},          {"batch_size", jobs::kBulkBatchSize},
                                {"seed_ms", seed_ms},    {"bare_insert_ms", bare},
                                {"job_ms", job},         {"bare_runs_ms", bare_ms},
                                {"job_runs_ms", job_ms}, {"job_inline_ms", median(inline_ms)},
                                {"ratio", job / bare}};
    std::printf("%s\n", out.dump().c_str());
    conn.reset();
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_bulk_notify_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
