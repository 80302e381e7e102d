// Events and notifications benchmark (issue "Domain events …"): prints figures, asserts nothing.
//
//   unity_events_bench [--events=N] [--notifications=N] [--pg=URL]
//
// 1. dispatch: one event with three queued listeners, each in its own transaction (the event row
//    plus three job rows, committed), µs per event, median of 3 runs.
// 2. unread: a user's newest 100 unread notifications and their unread count, with N (default
//    1,000,000) notification rows in the table spread over 1,000 users, µs per query, median.
// Runs on a fresh SQLite file in /tmp, and on PostgreSQL when --pg names a superuser URL
// (a fresh database is made there and dropped after).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/error.h"
#include "db/migrate.h"
#include "db/postgres/pg_connection.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "events/event_bus.h"
#include "notify/inbox.h"
#include "queue/dispatch.h"

using namespace unity;
using SteadyClock = std::chrono::steady_clock;

namespace {

class ThingHappened final : public events::Event {
 public:
  static constexpr std::string_view kName = "ThingHappened";
  ThingHappened(events::EventMeta meta, int64_t id) : Event(std::move(meta)), id_(id) {}
  std::string_view name() const override { return kName; }
  void write_payload(nlohmann::json& out) const override {
    out = {{"thing_id", id_}, {"label", "a thing"}, {"amount", "12.50"}};
  }
  static std::unique_ptr<events::Event> read(events::EventMeta meta, const nlohmann::json& p) {
    return std::make_unique<ThingHappened>(std::move(meta), p.at("thing_id").get<int64_t>());
  }

 private:
  const int64_t id_;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run(const Config& config, const std::string& label, int events, int notifications) {
  {
    auto owner = db::open_connection(config, db::Role::kOwner);
    db::Migrator(*owner, config.db_app_role, config.queue_table).migrate();
  }
  auto conn = db::open_connection(config, db::Role::kApp);
  const int64_t tenant = db::create_tenant(*conn, "Bench").id;
  conn->set_tenant(tenant);

  queue::JobRegistry jobs;
  queue::Dispatcher dispatcher(config, jobs);
  events::EventBus bus(jobs, dispatcher);
  for (const char* l : {"ListenerOne", "ListenerTwo", "ListenerThree"}) {
    bus.listen<ThingHappened>(l, [](const ThingHappened&, queue::JobContext&) {});
  }
  std::vector<double> per_event;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = SteadyClock::now();
    for (int i = 0; i < events; ++i) {
      db::Transaction tx(*conn);
      bus.dispatch(*conn, ThingHappened(events::new_event_meta(tenant, 1), i));
      tx.commit();
    }
    per_event.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() /
                        events);
  }
  std::printf(
      "%s dispatch, 1 event + 3 queued listeners, one transaction each (commit included): %.1f "
      "us/event (median of 3 x %d)\n",
      label.c_str(), median(per_event), events);
  // The same dispatches inside the caller's open transaction (1,000 per commit): the cost the
  // bus adds to a business transaction, the commit being the caller's.
  std::vector<double> in_tx;
  for (int r = 0; r < 3; ++r) {
    const auto t0 = SteadyClock::now();
    for (int i = 0; i < events;) {
      db::Transaction tx(*conn);
      for (int k = 0; k < 1000 && i < events; ++k, ++i) {
        bus.dispatch(*conn, ThingHappened(events::new_event_meta(tenant, 1), i));
      }
      tx.commit();
    }
    in_tx.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count() /
                    events);
  }
  std::printf(
      "%s dispatch, 1 event + 3 queued listeners inside an open transaction (1,000 per commit): "
      "%.1f us/event (median of 3 x %d)\n",
      label.c_str(), median(in_tx), events);

  if (notifications == 0) return;
  // 1,000 users; N notifications; a third read.
  std::vector<int64_t> users;
  {
    db::Transaction tx(*conn);
    for (int u = 0; u < 1000; ++u) {
      users.push_back(db::create_user(*conn, "u" + std::to_string(u) + "@b.test", "U", "admin").id);
    }
    tx.commit();
  }
  const auto load0 = SteadyClock::now();
  const std::string data =
      R"({"title":"Low stock","message":"Widget is low","severity":"warning","action_url":"/products/1","metadata":{}})";
  for (int done = 0; done < notifications;) {
    db::Transaction tx(*conn);
    for (int k = 0; k < 10000 && done < notifications; ++k, ++done) {
      char id[40];
      std::snprintf(id, sizeof id, "018f0000-0000-7000-8000-%012d", done);
      const std::string at = "2026-11-" + std::to_string(1 + done % 28) + "T10:00:00.000000Z";
      conn->execute(
          "INSERT INTO notifications (id, tenant_id, type, notifiable_type, notifiable_id, data,"
          " read_at, created_at, updated_at) VALUES ($1, $2, 'LowStockNotification', 'user', $3, "
          "$4, $5, $6, $6)",
          {std::string(id), tenant, users[done % users.size()], data,
           done % 3 == 0 ? db::Value{at} : db::kNull, at});
    }
    tx.commit();
  }
  std::printf("%s loaded %d notifications in %.1f s\n", label.c_str(), notifications,
              std::chrono::duration<double>(SteadyClock::now() - load0).count());
  // Fresh statistics, as autovacuum's analyze would give the table shortly after such a load.
  db::open_connection(config, db::Role::kOwner)->execute_script("ANALYZE notifications");
  std::vector<double> list_us, count_us;
  for (int i = 0; i < 200; ++i) {
    const auto who = notify::Notifiable::user(users[(i * 37) % users.size()]);
    auto t0 = SteadyClock::now();
    auto rows = notify::list_notifications(*conn, who, true, 100);
    list_us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
    t0 = SteadyClock::now();
    notify::unread_count(*conn, who);
    count_us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
    if (rows.empty()) throw internal_error("no unread notifications found");
  }
  std::printf(
      "%s unread list (newest 100 of ~%d unread) with %d rows: %.0f us median; unread count %.0f "
      "us median\n",
      label.c_str(), notifications / 1000 * 2 / 3, notifications, median(list_us),
      median(count_us));
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();  // as `unity` does
  int events = 2000, notifications = 1'000'000;
  std::string pg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--events=", 0) == 0) events = std::stoi(a.substr(9));
    if (a.rfind("--notifications=", 0) == 0) notifications = std::stoi(a.substr(16));
    if (a.rfind("--pg=", 0) == 0) pg = a.substr(5);
  }
  try {
    const auto dir =
        std::filesystem::temp_directory_path() / ("unity-events-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    run(Config::from_vars({{"DB_DATABASE", (dir / "bench.sqlite").string()}}), "sqlite", events,
        notifications);
    std::filesystem::remove_all(dir);
    if (!pg.empty()) {
      const std::string name = "unity_events_bench_" + std::to_string(getpid());
      db::open_postgres({pg, std::nullopt, 10000})->execute_script("CREATE DATABASE " + name);
      const std::string url = pg.substr(0, pg.rfind('/') + 1) + name;
      run(Config::from_vars({{"DB_CONNECTION", "pgsql"}, {"DB_URL", url}}), "postgres", events,
          notifications);
      db::open_postgres({pg, std::nullopt, 10000})
          ->execute_script("DROP DATABASE " + name + " WITH (FORCE)");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_events_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
