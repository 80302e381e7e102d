// Tenants' cron schedules on both drivers: validation, tenancy, once per slot across schedulers
// (threads and ScheduleWorkers on a ManualClock), no replay of missed slots, a slot whose job
// cannot be dispatched is reported and skipped; an encrypted type's payload is stored sealed and
// opened only when its slot runs.
#include "queue/user_schedules.h"

#include <gtest/gtest.h>

#include <thread>

#include "core/error.h"
#include "core/secretbox.h"
#include "db/tenancy.h"
#include "queue/dispatch.h"
#include "queue/payload_crypt.h"
#include "queue/registry.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using testing::Driver;
using testing::TestDatabase;

TimePoint at(const std::string& text) { return parse_iso8601(text); }
std::string text(TimePoint t) { return format_iso8601(t); }

class UserScheduleTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    a_ = db::create_tenant(*conn_, "A").id;
    b_ = db::create_tenant(*conn_, "B").id;
    register_diag_jobs(registry_);
  }

  UserSchedule add(int64_t tenant, const std::string& name, const std::string& cron,
                   const std::string& tz = "UTC", const std::string& type = "diag.noop") {
    db::TenantScope scope(*conn_, tenant);
    return add_user_schedule(*conn_, registry_, db_->config(),
                             {name, cron, tz, type, "{\"k\":1}", std::nullopt}, clock_);
  }
  // The code of the error adding `s` to tenant A raises; nullopt when it is added.
  std::optional<ErrorCode> add_error(const NewUserSchedule& s) {
    try {
      db::TenantScope scope(*conn_, a_);
      add_user_schedule(*conn_, registry_, db_->config(), s, clock_);
    } catch (const Error& e) {
      return e.code();
    }
    return std::nullopt;
  }
  int64_t jobs(const std::string& where = "1 = 1") {
    return db_->owner()->query_int("SELECT count(*) FROM jobs WHERE " + where);
  }

  ManualClock clock_{at("2026-03-01T10:00:30Z")};
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  JobRegistry registry_;
  int64_t a_ = 0, b_ = 0;
};

TEST_P(UserScheduleTest, AddValidatesEveryField) {
  EXPECT_EQ(add_error({"ok", "*/5 * * * *", "Europe/Paris", "diag.noop", "{}", "low"}),
            std::nullopt);
  EXPECT_EQ(add_error({"ok", "*/5 * * * *", "", "diag.noop", "{}", {}}), ErrorCode::kAlreadyExists);
  EXPECT_EQ(add_error({"bad", "61 * * * *", "", "diag.noop", "{}", {}}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(add_error({"bad", "* * * * *", "Mars/Base", "diag.noop", "{}", {}}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(add_error({"bad", "* * * * *", "", "no.such.type", "{}", {}}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(add_error({"bad", "* * * * *", "", "diag.noop", "[1]", {}}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(add_error({"bad", "* * * * *", "", "diag.noop", "{}", ""}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(add_error({"has space", "* * * * *", "", "diag.noop", "{}", {}}),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(add_error({"", "* * * * *", "", "diag.noop", "{}", {}}), ErrorCode::kInvalidArgument);
  // Nothing of the refused ones was written.
  db::TenantScope scope(*conn_, a_);
  ASSERT_EQ(list_user_schedules(*conn_).size(), 1u);
  EXPECT_EQ(list_user_schedules(*conn_)[0].timezone, "Europe/Paris");
  EXPECT_EQ(list_user_schedules(*conn_)[0].queue, "low");
}

TEST_P(UserScheduleTest, FirstDueAtTheFirstSlotAfterItWasAdded) {
  const auto s = add(a_, "q", "*/15 * * * *");
  EXPECT_EQ(text(s.next_run_at), "2026-03-01T10:15:00.000000Z");
  EXPECT_FALSE(s.last_run_at);
  const auto paris = add(a_, "p", "0 9 * * *", "Europe/Paris");
  EXPECT_EQ(text(paris.next_run_at), "2026-03-02T08:00:00.000000Z");
  Dispatcher d(db_->config(), registry_, clock_);
  EXPECT_TRUE(run_due_user_schedules(*conn_, d, at("2026-03-01T10:14:59Z"), clock_).empty());
  EXPECT_EQ(jobs(), 0);
}

TEST_P(UserScheduleTest, TenantsSeeAndRemoveOnlyTheirOwn) {
  add(a_, "mine", "* * * * *");
  add(b_, "theirs", "* * * * *");
  add(b_, "mine", "* * * * *");  // the same name in another tenant
  {
    db::TenantScope scope(*conn_, a_);
    const auto own = list_user_schedules(*conn_);
    ASSERT_EQ(own.size(), 1u);
    EXPECT_EQ(own[0].name, "mine");
    try {
      remove_user_schedule(*conn_, "theirs");
      ADD_FAILURE() << "removed another tenant's schedule";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNotFound);
      EXPECT_STREQ(e.what(), "schedule 'theirs' not found");
    }
    remove_user_schedule(*conn_, "mine");
    EXPECT_TRUE(list_user_schedules(*conn_).empty());
  }
  // Without a tenant (the scheduler): every tenant's.
  const auto all = list_user_schedules(*conn_);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].tenant_id, b_);
  EXPECT_THROW(remove_user_schedule(*conn_, "mine"), Error);  // no tenant: refused
}

TEST_P(UserScheduleTest, ADueScheduleDispatchesItsJobOncePerSlot) {
  add(a_, "every5", "*/5 * * * *");
  Dispatcher d(db_->config(), registry_, clock_);
  auto runs = run_due_user_schedules(*conn_, d, at("2026-03-01T10:05:10Z"), clock_);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].task, "every5 (tenant " + std::to_string(a_) + ")");
  EXPECT_EQ(text(runs[0].slot), "2026-03-01T10:05:00.000000Z");
  EXPECT_FALSE(runs[0].error);
  EXPECT_TRUE(run_due_user_schedules(*conn_, d, at("2026-03-01T10:09:59Z"), clock_).empty());
  EXPECT_EQ(
      jobs("type = 'diag.noop' AND payload = '{\"k\":1}' AND tenant_id = " + std::to_string(a_)),
      1);
  db::TenantScope scope(*conn_, a_);
  const auto s = list_user_schedules(*conn_).at(0);
  EXPECT_EQ(text(*s.last_run_at), "2026-03-01T10:05:00.000000Z");
  EXPECT_EQ(text(s.next_run_at), "2026-03-01T10:10:00.000000Z");
}

TEST_P(UserScheduleTest, SlotsMissedWhileNoSchedulerRanAreNotReplayed) {
  add(a_, "hourly", "0 * * * *");
  Dispatcher d(db_->config(), registry_, clock_);
  // Down for three days: the latest slot runs once, the 70 before it never.
  auto runs = run_due_user_schedules(*conn_, d, at("2026-03-04T09:30:00Z"), clock_);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(text(runs[0].slot), "2026-03-04T09:00:00.000000Z");
  EXPECT_TRUE(run_due_user_schedules(*conn_, d, at("2026-03-04T09:59:00Z"), clock_).empty());
  EXPECT_EQ(jobs(), 1);
}

TEST_P(UserScheduleTest, ConcurrentSchedulersDispatchEachSlotOnce) {
  add(a_, "every", "* * * * *");
  add(b_, "every", "* * * * *");
  Dispatcher d(db_->config(), registry_, clock_);
  constexpr int kSchedulers = 4;
  std::vector<std::unique_ptr<db::Connection>> conns;
  for (int i = 0; i < kSchedulers; ++i) conns.push_back(db_->app());
  for (int minute = 1; minute <= 5; ++minute) {
    const TimePoint t = at("2026-03-01T10:00:05Z") + std::chrono::minutes(minute);
    std::vector<std::jthread> threads;
    for (int i = 0; i < kSchedulers; ++i) {
      threads.emplace_back([&, i] { run_due_user_schedules(*conns[i], d, t, clock_); });
    }
  }
  EXPECT_EQ(jobs("tenant_id = " + std::to_string(a_)), 5);
  EXPECT_EQ(jobs("tenant_id = " + std::to_string(b_)), 5);
}

TEST_P(UserScheduleTest, TwoScheduleWorkersRunAUserScheduleOncePerSlot) {
  add(a_, "every", "* * * * *");
  Dispatcher d(db_->config(), registry_, clock_);
  Schedule schedule(clock_);
  schedule.also_run([&](db::Connection& conn, TimePoint t) {
    return run_due_user_schedules(conn, d, t, clock_);
  });
  auto c1 = db_->app(), c2 = db_->app();
  ScheduleWorkerOptions o;
  o.poll = std::chrono::milliseconds(5);
  ScheduleWorker w1(schedule, *c1, clock_, o), w2(schedule, *c2, clock_, o);
  w1.start();
  w2.start();
  ASSERT_TRUE(testing::eventually([&] { return w1.rounds() >= 1 && w2.rounds() >= 1; },
                                  std::chrono::seconds(10)));
  for (int minute = 1; minute <= 3; ++minute) {
    clock_.set(at("2026-03-01T10:00:00Z") + std::chrono::minutes(minute));
    ASSERT_TRUE(
        testing::eventually([&] { return w1.rounds() >= minute + 1 && w2.rounds() >= minute + 1; },
                            std::chrono::seconds(10)));
  }
  w1.stop();
  w2.stop();
  EXPECT_EQ(jobs(), 3);
}

TEST_P(UserScheduleTest, AJobThatCannotBeDispatchedIsReportedAndItsSlotSkipped) {
  add(a_, "gone", "*/5 * * * *", "UTC", "diag.fail");
  JobRegistry without;  // a binary that no longer registers diag.fail
  Dispatcher d(db_->config(), without, clock_);
  auto runs = run_due_user_schedules(*conn_, d, at("2026-03-01T10:05:00Z"), clock_);
  ASSERT_EQ(runs.size(), 1u);
  ASSERT_TRUE(runs[0].error);
  EXPECT_NE(runs[0].error->find("unknown job type 'diag.fail'"), std::string::npos);
  EXPECT_TRUE(run_due_user_schedules(*conn_, d, at("2026-03-01T10:06:00Z"), clock_).empty());
  EXPECT_EQ(jobs(), 0);
  db::TenantScope scope(*conn_, a_);
  EXPECT_EQ(text(list_user_schedules(*conn_).at(0).next_run_at), "2026-03-01T10:10:00.000000Z");
}

// The test database's configuration with APP_KEY `key` ("" for none).
Config with_key(const Config& base, const std::string& key) {
  Config c = base;
  c.app_key = key;
  return c;
}

TEST_P(UserScheduleTest, AnEncryptedTypesPayloadIsStoredSealedAndItsJobGetsTheData) {
  const Config keyed = with_key(db_->config(), secretbox::new_key());
  const std::string data = R"({"mark":"clear-schedule-mark"})";
  {
    db::TenantScope scope(*conn_, a_);
    const auto s =
        add_user_schedule(*conn_, registry_, keyed,
                          {"secret", "*/5 * * * *", "UTC", "diag.secret", data, {}}, clock_);
    EXPECT_TRUE(s.sealed);
    add_user_schedule(*conn_, registry_, keyed,
                      {"open", "*/5 * * * *", "UTC", "diag.write", data, {}}, clock_);
  }
  const auto column = [&](const std::string& name) {
    return db_->owner()
        ->query_one("SELECT payload FROM schedules WHERE name = $1", {name})
        ->get<std::string>(0);
  };
  const std::string stored = column("secret");
  EXPECT_TRUE(stored.starts_with(R"({"sealed":"v1:)" + secretbox::key_id(keyed.app_key) + ":"))
      << stored;
  EXPECT_EQ(stored.find("clear-schedule-mark"), std::string::npos) << stored;
  EXPECT_EQ(column("open"), data);                         // other types are stored as given
  EXPECT_FALSE(list_user_schedules(*conn_).at(0).sealed);  // "open" sorts first

  Dispatcher d(keyed, registry_, clock_);
  const auto runs = run_due_user_schedules(*conn_, d, at("2026-03-01T10:05:00Z"), clock_);
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) EXPECT_FALSE(r.error) << *r.error;
  // The job is stored sealed as any diag.secret job, and opens to the schedule's data.
  const std::string job = db_->owner()
                              ->query_one("SELECT payload FROM jobs WHERE type = 'diag.secret'")
                              ->get<std::string>(0);
  EXPECT_TRUE(is_sealed_payload(job)) << job;
  EXPECT_EQ(open_payload(keyed, "diag.secret", job), data);
  EXPECT_EQ(jobs("type = 'diag.write' AND payload = '" + data + "'"), 1);
  EXPECT_EQ(column("secret"), stored);
}

TEST_P(UserScheduleTest, AnEncryptedTypeIsRefusedWithoutAppKey) {
  EXPECT_EQ(add_error({"secret", "* * * * *", "", "diag.secret", "{}", {}}),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM schedules"), 0);
}

TEST_P(UserScheduleTest, ASealedPayloadThatDoesNotOpenIsReportedAndTheRowKept) {
  const Config keyed = with_key(db_->config(), secretbox::new_key());
  {
    db::TenantScope scope(*conn_, a_);
    add_user_schedule(*conn_, registry_, keyed,
                      {"secret", "*/5 * * * *", "UTC", "diag.secret", R"({"mark":"m"})", {}},
                      clock_);
  }
  const std::string stored =
      db_->owner()->query_one("SELECT payload FROM schedules")->get<std::string>(0);
  for (const std::string& key : {std::string(), secretbox::new_key()}) {  // none, then another
    const Config config = with_key(db_->config(), key);  // the dispatcher keeps a reference
    Dispatcher d(config, registry_, clock_);
    const TimePoint t = key.empty() ? at("2026-03-01T10:05:00Z") : at("2026-03-01T10:10:00Z");
    const auto runs = run_due_user_schedules(*conn_, d, t, clock_);
    ASSERT_EQ(runs.size(), 1u);
    ASSERT_TRUE(runs[0].error);
    EXPECT_TRUE(runs[0].error->starts_with("cannot decrypt the payload of diag.secret: "))
        << *runs[0].error;
    EXPECT_EQ(jobs(), 0);
  }
  EXPECT_EQ(db_->owner()->query_one("SELECT payload FROM schedules")->get<std::string>(0), stored);
  // With the key back, the next slot runs.
  Dispatcher d(keyed, registry_, clock_);
  const auto runs = run_due_user_schedules(*conn_, d, at("2026-03-01T10:15:00Z"), clock_);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_FALSE(runs[0].error);
  EXPECT_EQ(jobs("type = 'diag.secret'"), 1);
}

INSTANTIATE_TEST_SUITE_P(Drivers, UserScheduleTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
