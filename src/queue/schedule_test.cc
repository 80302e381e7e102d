// The scheduler: slot computation, once per slot on both drivers (also across schedulers), the
// catch-up rule, failures that do not stop the other tasks, pruning, and the worker's lifecycle.
#include "queue/schedule.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "db/transaction.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using testing::Driver;
using testing::TestDatabase;

TimePoint at(const std::string& text) { return parse_iso8601(text); }
std::string text(TimePoint t) { return format_iso8601(t); }

TEST(FrequencyTest, DailySlotIsTheLatestTimeOfDayAtOrBefore) {
  const auto f = Frequency::daily_at(0, 0);
  EXPECT_EQ(text(f.slot_at_or_before(at("2026-03-01T00:00:30Z"))), "2026-03-01T00:00:00.000000Z");
  EXPECT_EQ(text(f.slot_at_or_before(at("2026-03-01T00:00:00Z"))), "2026-03-01T00:00:00.000000Z");
  EXPECT_EQ(text(f.slot_at_or_before(at("2026-02-28T23:59:59.999Z"))),
            "2026-02-28T00:00:00.000000Z");
  EXPECT_EQ(text(f.next_after(at("2026-03-01T00:00:00Z"))), "2026-03-02T00:00:00.000000Z");
  const auto late = Frequency::daily_at(2, 30);
  EXPECT_EQ(text(late.slot_at_or_before(at("2026-03-01T01:00:00Z"))),
            "2026-02-28T02:30:00.000000Z");
  EXPECT_EQ(text(late.next_after(at("2026-03-01T01:00:00Z"))), "2026-03-01T02:30:00.000000Z");
  EXPECT_EQ(late.describe(), "daily at 02:30 UTC");
}

TEST(FrequencyTest, HourlyAndEveryNMinutes) {
  const auto h = Frequency::hourly_at(5);
  EXPECT_EQ(text(h.slot_at_or_before(at("2026-03-01T10:04:59Z"))), "2026-03-01T09:05:00.000000Z");
  EXPECT_EQ(text(h.slot_at_or_before(at("2026-03-01T10:05:00Z"))), "2026-03-01T10:05:00.000000Z");
  EXPECT_EQ(text(h.next_after(at("2026-03-01T10:05:00Z"))), "2026-03-01T11:05:00.000000Z");
  EXPECT_EQ(h.describe(), "hourly at :05");
  const auto q = Frequency::every_minutes(15);
  EXPECT_EQ(text(q.slot_at_or_before(at("2026-03-01T10:44:10Z"))), "2026-03-01T10:30:00.000000Z");
  EXPECT_EQ(text(q.next_after(at("2026-03-01T23:50:00Z"))), "2026-03-02T00:00:00.000000Z");
  EXPECT_EQ(Frequency::every_minutes(1).describe(), "every minute");
}

TEST(FrequencyTest, SlotsBeforeTheEpochFloorToo) {
  const auto f = Frequency::daily_at(0, 0);
  EXPECT_EQ(text(f.slot_at_or_before(at("1969-12-31T12:00:00Z"))), "1969-12-31T00:00:00.000000Z");
}

TEST(FrequencyTest, OutOfRangeIsInvalidArgument) {
  for (auto make : {+[] { Frequency::daily_at(24, 0); }, +[] { Frequency::daily_at(0, 60); },
                    +[] { Frequency::hourly_at(-1); }, +[] { Frequency::every_minutes(0); },
                    +[] { Frequency::every_minutes(1441); }}) {
    try {
      make();
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST(ScheduleAddTest, RefusesDuplicateNamesAndEmptyTasks) {
  Schedule s;
  s.add("a", Frequency::hourly_at(0), [](TimePoint) {});
  EXPECT_THROW(s.add("a", Frequency::hourly_at(0), [](TimePoint) {}), Error);
  EXPECT_THROW(s.add("", Frequency::hourly_at(0), [](TimePoint) {}), Error);
  EXPECT_THROW(s.add("b", Frequency::hourly_at(0), nullptr), Error);
  EXPECT_EQ(s.tasks().size(), 1u);
}

class ScheduleTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
  }

  // Adds a task that records each slot it ran for in ran_[name].
  void add_recording(Schedule& s, const std::string& name, Frequency f) {
    s.add(name, std::move(f), [this, name](TimePoint slot) {
      std::lock_guard lock(mu_);
      ran_[name].push_back(text(slot));
    });
  }
  std::vector<std::string> ran(const std::string& name) {
    std::lock_guard lock(mu_);
    return ran_[name];
  }
  int64_t rows() { return conn_->query_int("SELECT count(*) FROM schedule_runs"); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::string>> ran_;  // guarded by mu_
};

TEST_P(ScheduleTest, RunsEachDueSlotOnce) {
  ManualClock clock(at("2026-03-01T00:00:30Z"));
  Schedule s(clock);
  add_recording(s, "daily", Frequency::daily_at(0, 0));
  add_recording(s, "late", Frequency::daily_at(1, 0));
  auto runs = s.run_due(*conn_, clock.now(), "test");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].task, "daily");
  EXPECT_EQ(text(runs[0].slot), "2026-03-01T00:00:00.000000Z");
  EXPECT_FALSE(runs[0].error);
  EXPECT_EQ(runs[1].task, "late");
  EXPECT_EQ(text(runs[1].slot), "2026-02-28T01:00:00.000000Z");  // the latest one, caught up
  EXPECT_TRUE(s.run_due(*conn_, clock.now(), "test").empty());
  EXPECT_TRUE(s.run_due(*conn_, at("2026-03-01T00:59:00Z"), "test").empty());
  EXPECT_EQ(ran("daily"), std::vector<std::string>{"2026-03-01T00:00:00.000000Z"});
  runs = s.run_due(*conn_, at("2026-03-01T01:00:00Z"), "test");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].task, "late");
  EXPECT_EQ(ran("late").size(), 2u);
  auto row = conn_->query_one(
      "SELECT runner, finished_at, error FROM schedule_runs WHERE task = 'daily'", {});
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>(0), "test");
  EXPECT_FALSE(row->is_null(1));
  EXPECT_TRUE(row->is_null(2));
}

TEST_P(ScheduleTest, AfterAGapOnlyTheLatestMissedSlotRuns) {
  Schedule s;
  add_recording(s, "daily", Frequency::daily_at(0, 0));
  ASSERT_EQ(s.run_due(*conn_, at("2026-03-01T00:00:00Z")).size(), 1u);
  // Down for three days: only the 4th's slot runs.
  ASSERT_EQ(s.run_due(*conn_, at("2026-03-04T09:00:00Z")).size(), 1u);
  EXPECT_EQ(ran("daily"), (std::vector<std::string>{"2026-03-01T00:00:00.000000Z",
                                                    "2026-03-04T00:00:00.000000Z"}));
  // A lagging clock does not run a slot older than one already run.
  EXPECT_TRUE(s.run_due(*conn_, at("2026-03-02T00:00:10Z")).empty());
  EXPECT_EQ(ran("daily").size(), 2u);
}

TEST_P(ScheduleTest, AFailingTaskIsRecordedAndTheOthersStillRun) {
  Schedule s;
  s.add("broken", Frequency::daily_at(0, 0),
        [](TimePoint) { throw unavailable("the bank is closed"); });
  add_recording(s, "fine", Frequency::daily_at(0, 0));
  auto runs = s.run_due(*conn_, at("2026-03-01T00:00:30Z"));
  ASSERT_EQ(runs.size(), 2u);
  ASSERT_TRUE(runs[0].error);
  EXPECT_NE(runs[0].error->find("the bank is closed"), std::string::npos);
  EXPECT_FALSE(runs[1].error);
  EXPECT_EQ(ran("fine").size(), 1u);
  EXPECT_EQ(conn_->query_one("SELECT error FROM schedule_runs WHERE task = 'broken'", {})
                ->get<std::string>(0),
            "the bank is closed");
  // A failed slot is not retried (the next one runs).
  EXPECT_TRUE(s.run_due(*conn_, at("2026-03-01T00:05:00Z")).empty());
  auto st = s.status(*conn_, at("2026-03-01T00:05:00Z"));
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[0].last_status, "failed");
  EXPECT_EQ(st[1].last_status, "ok");
  EXPECT_EQ(text(*st[1].last_slot), "2026-03-01T00:00:00.000000Z");
  EXPECT_EQ(text(st[1].next_due), "2026-03-02T00:00:00.000000Z");
}

TEST_P(ScheduleTest, ASlotClaimedByAnotherSchedulerIsSkipped) {
  Schedule s;
  add_recording(s, "daily", Frequency::daily_at(0, 0));
  conn_->execute(
      "INSERT INTO schedule_runs (task, slot, runner, started_at) VALUES ('daily', $1, 'other', "
      "$1)",
      {text(at("2026-03-01T00:00:00Z"))});
  EXPECT_TRUE(s.run_due(*conn_, at("2026-03-01T00:00:30Z")).empty());
  EXPECT_TRUE(ran("daily").empty());
  EXPECT_EQ(s.status(*conn_, at("2026-03-01T00:00:30Z"))[0].last_status, "running");
}

TEST_P(ScheduleTest, ConcurrentSchedulersRunASlotOnce) {
  Schedule s;
  add_recording(s, "every", Frequency::every_minutes(1));
  constexpr int kSchedulers = 4;
  std::vector<std::unique_ptr<db::Connection>> conns;
  for (int i = 0; i < kSchedulers; ++i) conns.push_back(db_->app());
  for (int minute = 0; minute < 5; ++minute) {
    const TimePoint t = at("2026-03-01T10:00:10Z") + std::chrono::minutes(minute);
    std::vector<std::jthread> threads;
    for (int i = 0; i < kSchedulers; ++i) {
      threads.emplace_back([&, i] { s.run_due(*conns[i], t, "s" + std::to_string(i)); });
    }
  }
  EXPECT_EQ(ran("every").size(), 5u);
  EXPECT_EQ(rows(), 5);
}

TEST_P(ScheduleTest, RunDueInsideATransactionIsRefused) {
  Schedule s;
  add_recording(s, "daily", Frequency::daily_at(0, 0));
  db::Transaction tx(*conn_);
  try {
    s.run_due(*conn_, at("2026-03-01T00:00:30Z"));
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
}

TEST_P(ScheduleTest, OldRunsArePrunedAfterTheRetention) {
  Schedule s;
  add_recording(s, "daily", Frequency::daily_at(0, 0));
  for (const char* day : {"2026-01-01", "2026-01-20", "2026-02-15", "2026-03-01"}) {
    ASSERT_EQ(s.run_due(*conn_, at(std::string(day) + "T00:00:00Z")).size(), 1u);
  }
  // 2026-03-01 minus 30 days is 2026-01-30: the first two went.
  EXPECT_EQ(rows(), 2);
  EXPECT_EQ(Schedule::prune_runs(*conn_, at("2026-03-01T00:00:00Z")), 1);
  EXPECT_EQ(rows(), 1);
}

TEST_P(ScheduleTest, WorkerRunsAtEachMinuteBoundaryAndStops) {
  ManualClock clock(at("2026-03-01T10:00:30Z"));
  Schedule s(clock);
  add_recording(s, "every", Frequency::every_minutes(1));
  std::mutex mu;
  std::vector<std::string> reported;  // guarded by mu
  ScheduleWorkerOptions o;
  o.poll = std::chrono::milliseconds(5);
  o.on_runs = [&](const std::vector<TaskRun>& runs) {
    std::lock_guard lock(mu);
    for (const auto& r : runs) reported.push_back(r.task + "@" + text(r.slot));
  };
  ScheduleWorker w(s, *conn_, clock, o);
  w.start();
  ASSERT_TRUE(testing::eventually([&] { return w.rounds() >= 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(ran("every"), std::vector<std::string>{"2026-03-01T10:00:00.000000Z"});
  // Nothing happens before the boundary.
  clock.set(at("2026-03-01T10:00:59Z"));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(w.rounds(), 1);
  clock.set(at("2026-03-01T10:01:00Z"));
  ASSERT_TRUE(testing::eventually([&] { return w.rounds() >= 2; }, std::chrono::seconds(10)));
  EXPECT_EQ(ran("every").back(), "2026-03-01T10:01:00.000000Z");
  const auto t0 = std::chrono::steady_clock::now();
  w.stop();
  w.stop();  // safe twice
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  std::lock_guard lock(mu);
  EXPECT_EQ(reported, (std::vector<std::string>{"every@2026-03-01T10:00:00.000000Z",
                                                "every@2026-03-01T10:01:00.000000Z"}));
}

TEST_P(ScheduleTest, WorkerStopWithoutStartIsSafe) {
  Schedule s;
  ScheduleWorker w(s, *conn_, system_clock());
  w.stop();
  w.stop();
}

TEST_P(ScheduleTest, WorkerReportsErrorsAndKeepsGoing) {
  ManualClock clock(at("2026-03-01T10:00:30Z"));
  Schedule s(clock);
  add_recording(s, "every", Frequency::every_minutes(1));
  std::atomic<int> errors{0};
  ScheduleWorkerOptions o;
  o.poll = std::chrono::milliseconds(5);
  o.on_error = [&](const std::string&) { ++errors; };
  auto owner = db_->owner();
  owner->execute_script("ALTER TABLE schedule_runs RENAME TO schedule_runs_away");
  ScheduleWorker w(s, *conn_, clock, o);
  w.start();
  ASSERT_TRUE(testing::eventually([&] { return w.rounds() >= 1; }, std::chrono::seconds(10)));
  EXPECT_EQ(errors.load(), 1);
  EXPECT_TRUE(ran("every").empty());
  owner->execute_script("ALTER TABLE schedule_runs_away RENAME TO schedule_runs");
  clock.set(at("2026-03-01T10:01:00Z"));
  ASSERT_TRUE(testing::eventually([&] { return w.rounds() >= 2; }, std::chrono::seconds(10)));
  w.stop();
  EXPECT_EQ(ran("every"), std::vector<std::string>{"2026-03-01T10:01:00.000000Z"});
}

INSTANTIATE_TEST_SUITE_P(Drivers, ScheduleTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
