// The event bus on both drivers: the store, sync and queued listeners, idempotency, isolation.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "events/event_bus.h"
#include "events/event_store.h"
#include "events/test_events.h"
#include "queue/worker.h"
#include "support/test_db.h"

namespace unity::events {
namespace {

using test::OtherThingHappened;
using test::ThingHappened;
using testing::Driver;
using testing::TestDatabase;

void mark(db::Connection& c, int64_t tenant, const std::string& what, int64_t job_id, int attempt) {
  c.execute("INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1, $2, $3, $4)",
            {tenant, what, job_id, attempt});
}

class EventBusTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    queue::register_diag_jobs(jobs_);
    a_ = db::create_tenant(*conn_, "Acme").id;
    b_ = db::create_tenant(*conn_, "Globex").id;
  }

  EventBus& bus() {
    if (!bus_) {
      dispatcher_ = std::make_unique<queue::Dispatcher>(db_->config(), jobs_);
      bus_ = std::make_unique<EventBus>(jobs_, *dispatcher_);
    }
    return *bus_;
  }

  void dispatch_thing(int64_t tenant, int64_t id, const std::string& label = "x") {
    db::TenantScope scope(*conn_, tenant);
    bus().dispatch(*conn_, ThingHappened(new_event_meta(tenant, std::nullopt), id, label,
                                         Decimal::parse("12.50")));
  }

  void drain() {
    queue::WorkerOptions o;
    o.stop_when_empty = true;
    o.backoff = queue::Backoff::parse("0");
    o.concurrency = 2;
    queue::Worker(db::connection_factory(db_->config()), db_->config(), jobs_, o, nullptr).run();
  }

  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  queue::JobRegistry jobs_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  std::unique_ptr<EventBus> bus_;
  int64_t a_ = 0, b_ = 0;
};

TEST_P(EventBusTest, EventRoundTripsThroughTheStoreWithoutLoss) {
  bus().listen<ThingHappened>("Noop", [](const ThingHappened&, queue::JobContext&) {});
  dispatch_thing(a_, 42, "Zoë's \"thing\" 東京");
  db::TenantScope scope(*conn_, a_);
  auto stored = EventStore(*conn_).list({});
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].name, "ThingHappened");
  EXPECT_EQ(stored[0].aggregate_type, "thing");
  EXPECT_EQ(stored[0].aggregate_id, "42");
  auto event = bus().registry().read(stored[0].name, meta_of(stored[0]),
                                     nlohmann::json::parse(stored[0].payload));
  const auto& thing = dynamic_cast<const ThingHappened&>(*event);
  EXPECT_EQ(thing.thing_id(), 42);
  EXPECT_EQ(thing.label(), "Zoë's \"thing\" 東京");
  EXPECT_EQ(thing.amount(), Decimal::parse("12.50"));
  EXPECT_EQ(event->meta().id, stored[0].uuid);
  EXPECT_EQ(event->tenant_id(), a_);
}

TEST_P(EventBusTest, RolledBackDispatchLeavesNoEventNoJobNoEffect) {
  bus().listen_sync<ThingHappened>("SyncMark", [this](const ThingHappened& e, db::Connection& c) {
    mark(c, e.tenant_id(), "sync", 0, 0);
  });
  bus().listen<ThingHappened>("QueuedMark", [](const ThingHappened& e, queue::JobContext& ctx) {
    mark(ctx.db(), e.tenant_id(), "queued", ctx.job_id(), ctx.attempt());
  });
  {
    db::TenantScope scope(*conn_, a_);
    db::Transaction tx(*conn_);
    bus().dispatch(*conn_, ThingHappened(new_event_meta(a_, std::nullopt), 1, "x", Decimal()));
  }
  EXPECT_EQ(count("SELECT count(*) FROM domain_events"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
  dispatch_thing(a_, 2);
  EXPECT_EQ(count("SELECT count(*) FROM domain_events"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE type = 'listener.QueuedMark'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'sync'"), 1);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'queued'"), 1);
}

TEST_P(EventBusTest, DispatchAllStoresInOrderRunsListenersAndIsAllOrNothing) {
  std::vector<int64_t> seen;
  bus().listen_sync<ThingHappened>("SyncMark", [&seen](const ThingHappened& e, db::Connection& c) {
    seen.push_back(e.thing_id());
    mark(c, e.tenant_id(), "sync", 0, 0);
  });
  bus().listen<ThingHappened>("QueuedMark", [](const ThingHappened& e, queue::JobContext& ctx) {
    mark(ctx.db(), e.tenant_id(), "queued", ctx.job_id(), ctx.attempt());
  });
  bus().listen<OtherThingHappened>("QueuedOther",
                                   [](const OtherThingHappened& e, queue::JobContext& ctx) {
                                     mark(ctx.db(), e.tenant_id(), "other", ctx.job_id(), 0);
                                   });
  // More events than one multi-row INSERT holds, two types interleaved.
  const size_t n = EventStore::kAppendBatch + 3;
  std::vector<std::unique_ptr<Event>> owned;
  std::vector<const Event*> list;
  for (size_t i = 0; i < n; ++i) {
    if (i % 100 == 7) {
      owned.push_back(std::make_unique<OtherThingHappened>(new_event_meta(a_, std::nullopt)));
    } else {
      owned.push_back(std::make_unique<ThingHappened>(new_event_meta(a_, 5), int64_t(i),
                                                      "t\"" + std::to_string(i), Decimal()));
    }
    list.push_back(owned.back().get());
  }
  const size_t others = 5;  // i = 7, 107, 207, 307, 407
  {
    db::TenantScope scope(*conn_, a_);
    db::Transaction tx(*conn_);
    bus().dispatch_all(*conn_, list);  // rolled back: nothing stays
  }
  EXPECT_EQ(count("SELECT count(*) FROM domain_events"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
  seen.clear();
  {
    db::TenantScope scope(*conn_, a_);
    bus().dispatch_all(*conn_, list);
    auto stored = EventStore(*conn_).list({.limit = 10000});
    ASSERT_EQ(stored.size(), n);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(stored[i].uuid, list[i]->meta().id) << i;  // in the given order
      EXPECT_EQ(stored[i].name, list[i]->name());
      EXPECT_EQ(nlohmann::json::parse(stored[i].payload),
                nlohmann::json::parse(list[i]->payload_json()));
      if (stored[i].name == "ThingHappened") {
        EXPECT_EQ(stored[i].user_id, 5);
      }
    }
  }
  ASSERT_EQ(seen.size(), n - others);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE type = 'listener.QueuedMark'"),
            int64_t(n - others));
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE type = 'listener.QueuedOther'"),
            int64_t(others));
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'queued'"), int64_t(n - others));
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'other'"), int64_t(others));
  // Another tenant's event in the list: refused before anything is written.
  db::TenantScope scope(*conn_, b_);
  const ThingHappened foreign(new_event_meta(a_, std::nullopt), 1, "x", Decimal());
  EXPECT_THROW(bus().dispatch_all(*conn_, {&foreign}), Error);
  EXPECT_EQ(EventStore(*conn_).list({}).size(), 0u);
}

TEST_P(EventBusTest, FailingSyncListenerRollsTheWholeDispatchBack) {
  bus().listen_sync<ThingHappened>(
      "Refuses", [](const ThingHappened&, db::Connection&) { throw invalid_argument("refused"); });
  EXPECT_THROW(dispatch_thing(a_, 1), Error);
  EXPECT_EQ(count("SELECT count(*) FROM domain_events"), 0);
}

TEST_P(EventBusTest, ListenerFailingTwiceThenSucceedingLeavesExactlyOneEffect) {
  bus().listen<ThingHappened>("Flaky",
                              [](const ThingHappened& e, queue::JobContext& ctx) {
                                mark(ctx.db(), e.tenant_id(), "flaky", ctx.job_id(), ctx.attempt());
                                if (ctx.attempt() <= 2) throw unavailable("flaky dependency");
                              },
                              {.tries = 3});
  dispatch_thing(a_, 1);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 1);
  EXPECT_EQ(count("SELECT attempt FROM diag_marks"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM listener_runs"), 1);
}

TEST_P(EventBusTest, AlwaysFailingListenerLandsInFailedJobsWhileSiblingsSucceed) {
  bus().listen<ThingHappened>(
      "Broken",
      [](const ThingHappened&, queue::JobContext&) { throw internal_error("always broken"); },
      {.tries = 2});
  for (const char* name : {"SiblingOne", "SiblingTwo"}) {
    bus().listen<ThingHappened>(name, [name](const ThingHappened& e, queue::JobContext& ctx) {
      mark(ctx.db(), e.tenant_id(), name, ctx.job_id(), ctx.attempt());
    });
  }
  dispatch_thing(a_, 1);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs WHERE type = 'listener.Broken'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE attempt = 1"), 2);  // never repeated
}

TEST_P(EventBusTest, RedeliveredEventListenerPairChangesNothingTwice) {
  bus().listen<ThingHappened>("Counter", [](const ThingHappened& e, queue::JobContext& ctx) {
    mark(ctx.db(), e.tenant_id(), "count", ctx.job_id(), ctx.attempt());
  });
  dispatch_thing(a_, 1);
  const std::string payload =
      db_->owner()->query_one("SELECT payload FROM jobs")->get<std::string>(0);
  drain();
  // The same (event, listener) delivered again, as a lost acknowledgement would.
  db::TenantScope scope(*conn_, a_);
  dispatcher_->dispatch(*conn_, a_, "listener.Counter", payload);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(EventBusTest, ListenerJobCannotReachAnotherTenantsEvent) {
  bus().listen<ThingHappened>("Spy", [](const ThingHappened& e, queue::JobContext& ctx) {
    mark(ctx.db(), ctx.tenant_id(), "spied:" + std::to_string(e.tenant_id()), ctx.job_id(), 1);
  });
  dispatch_thing(a_, 1);
  const std::string payload =
      db_->owner()->query_one("SELECT payload FROM jobs")->get<std::string>(0);
  db_->owner()->execute("DELETE FROM jobs");
  // A job of tenant B that names tenant A's event id.
  db::TenantScope scope(*conn_, b_);
  dispatcher_->dispatch(*conn_, b_, "listener.Spy", payload);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  EXPECT_NE(db_->owner()
                ->query_one("SELECT exception FROM failed_jobs")
                ->get<std::string>(0)
                .find("not found"),
            std::string::npos);
}

TEST_P(EventBusTest, EventOfAnotherTenantCannotBeDispatchedInThisContext) {
  db::TenantScope scope(*conn_, b_);
  try {
    bus().dispatch(*conn_, ThingHappened(new_event_meta(a_, std::nullopt), 1, "x", Decimal()));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
  EXPECT_EQ(count("SELECT count(*) FROM domain_events"), 0);
}

TEST_P(EventBusTest, AuditTrailFiltersByTypeSinceAndAggregateWithinTheTenant) {
  bus().registry().add<OtherThingHappened>();
  dispatch_thing(a_, 1);
  dispatch_thing(a_, 2);
  dispatch_thing(b_, 1);
  {
    db::TenantScope scope(*conn_, a_);
    bus().dispatch(*conn_, OtherThingHappened(new_event_meta(a_, 7)));
  }
  db::TenantScope scope(*conn_, a_);
  EventStore store(*conn_);
  EXPECT_EQ(store.list({}).size(), 3u);
  EXPECT_EQ(store.list({.type = "ThingHappened"}).size(), 2u);
  EXPECT_EQ(store.list({.aggregate = "thing:2"}).size(), 1u);
  EXPECT_EQ(store.list({.since = system_clock().now() + std::chrono::hours(1)}).size(), 0u);
  EXPECT_EQ(store.list({.type = "OtherThingHappened"})[0].user_id, 7);
}

TEST_P(EventBusTest, ListenersListShowsEveryEventWithItsListeners) {
  bus().listen_sync<ThingHappened>("Inline", [](const ThingHappened&, db::Connection&) {});
  bus().listen<ThingHappened>("Later", [](const ThingHappened&, queue::JobContext&) {},
                              {.queue = "low", .tries = 5, .timeout_s = 30});
  bus().listen<OtherThingHappened>("Later", [](const OtherThingHappened&, queue::JobContext&) {});
  auto all = bus().listeners();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].event, "OtherThingHappened");
  EXPECT_EQ(all[1].listener, "Inline");
  EXPECT_FALSE(all[1].queued);
  EXPECT_EQ(all[2].queue, "low");
  EXPECT_EQ(all[2].tries, 5);
  EXPECT_THROW(
      bus().listen<ThingHappened>("Later", [](const ThingHappened&, queue::JobContext&) {}), Error);
}

INSTANTIATE_TEST_SUITE_P(Drivers, EventBusTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::events
