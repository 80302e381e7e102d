// Job middleware (queue/middleware.h) through real workers, on both drivers: rate limits,
// without-overlapping locks, throttled exceptions, that a deferral never uses up an attempt and
// that deferrals are counted (worker stats, per type metrics).
#include <gtest/gtest.h>
#include <signal.h>

#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/json.h"
#include "db/tenancy.h"
#include "queue/dispatch.h"
#include "queue/job_metrics.h"
#include "queue/store.h"
#include "queue/worker.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Driver;
using testing::TestDatabase;

// Leaves a mark "<key>" with its attempt number, in its own statement (kept when it throws).
class MarkJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    const auto p = parse_json_object(ctx.payload(), "payload");
    ctx.db().execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1,$2,$3,$4)",
        {ctx.tenant_id(), p.value("k", std::string()), ctx.job_id(), ctx.attempt()});
    if (p.value("throw", false)) throw internal_error("flaky partner");
  }
};

// Sleeps `ms`, recording when it ran (wall clock), for the overlap test.
struct Run {
  std::string key;
  int64_t job_id = 0;
  int attempt = 0;
  std::chrono::steady_clock::time_point start, end;
};
std::mutex runs_mu;
std::vector<Run> runs;  // guarded by runs_mu

class SleepJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    const auto p = parse_json_object(ctx.payload(), "payload");
    Run r{p.value("k", std::string()),
          ctx.job_id(),
          ctx.attempt(),
          std::chrono::steady_clock::now(),
          {}};
    std::this_thread::sleep_for(milliseconds(p.value("ms", 0)));
    r.end = std::chrono::steady_clock::now();
    std::lock_guard lock(runs_mu);
    runs.push_back(r);
  }
};

class MiddlewareTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    {
      std::lock_guard lock(runs_mu);
      runs.clear();
    }
    registry_.add<MarkJob>(
        "test.rated",
        {.middleware = {RateLimit{.key = payload_key("k"), .max = 2, .period = kMin}}});
    registry_.add<MarkJob>("test.rated_until",
                           {.retry_for = seconds(30),
                            .middleware = {RateLimit{.key = payload_key("k"), .period = kMin}}});
    registry_.add<MarkJob>(
        "test.exclusive_mark",
        {.transactional = false,
         .middleware = {WithoutOverlapping{.key = payload_key("k"), .release_after = seconds(5)}}});
    registry_.add<MarkJob>(
        "test.dropped",
        {.middleware = {WithoutOverlapping{.key = payload_key("k"), .dont_release = true}}});
    registry_.add<SleepJob>("test.exclusive_sleep",
                            {.transactional = false,
                             .middleware = {WithoutOverlapping{
                                 .key = payload_key("k"), .release_after = milliseconds(50)}}});
    registry_.add<MarkJob>(
        "test.flaky", {.tries = 10,
                       .transactional = false,
                       .middleware = {ThrottleExceptions{.max_exceptions = 2, .decay = kMin}}});
    tenant_a_ = db::create_tenant(*conn_, "Acme").id;
    tenant_b_ = db::create_tenant(*conn_, "Globex").id;
  }

  static constexpr seconds kMin{60};

  InsertedJob dispatch(int64_t tenant, const std::string& type, const std::string& payload) {
    return Dispatcher(db_->config(), registry_, *clock_)
        .dispatch(*conn_, tenant, type, payload, {});
  }

  void drain(const Clock& clock) {
    WorkerOptions o{.backoff = Backoff::parse("0"), .stop_when_empty = true};
    Worker(db::connection_factory(db_->config()), db_->config(), registry_, o, nullptr, clock)
        .run();
  }
  void drain() { drain(*clock_); }

  int64_t count(const std::string& sql, const db::Params& p = {}) {
    return db_->owner()->query_int(sql, p);
  }
  int64_t marks(int64_t tenant) {
    return count("SELECT count(*) FROM diag_marks WHERE tenant_id = $1", {tenant});
  }

  // A time at the start of a minute, so a test's fixed windows are known.
  static TimePoint minute_start() {
    const int64_t now = system_clock().now().time_since_epoch().count();
    return TimePoint(std::chrono::microseconds(now - now % 60'000'000 + 60'000'000));
  }

  ManualClock manual_{minute_start()};
  const Clock* clock_ = &manual_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  JobRegistry registry_;
  int64_t tenant_a_ = 0, tenant_b_ = 0;
};

TEST_P(MiddlewareTest, RateLimitDefersTheExtraJobWithoutUsingAnAttempt) {
  for (int i = 0; i < 3; ++i) dispatch(tenant_a_, "test.rated", R"({"k":"partner"})");
  drain();
  EXPECT_EQ(marks(tenant_a_), 2);
  // The third waits for the next window with its attempt given back.
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE attempts = 0 AND reserved_at IS NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE available_at = $1",
                  {manual_.now().time_since_epoch().count() + 60'000'000}),
            1);
  manual_.advance(seconds(59));
  drain();
  EXPECT_EQ(marks(tenant_a_), 2);
  manual_.advance(seconds(1));
  drain();
  EXPECT_EQ(marks(tenant_a_), 3);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT max(attempt) FROM diag_marks"), 1);  // every job ran on its first try
}

TEST_P(MiddlewareTest, RateLimitKeysAreNeverSharedAcrossTenantsOrKeys) {
  for (int i = 0; i < 2; ++i) {
    dispatch(tenant_a_, "test.rated", R"({"k":"partner"})");
    dispatch(tenant_b_, "test.rated", R"({"k":"partner"})");
    dispatch(tenant_a_, "test.rated", R"({"k":"other"})");
  }
  drain();
  EXPECT_EQ(marks(tenant_a_), 4);
  EXPECT_EQ(marks(tenant_b_), 2);
  dispatch(tenant_b_, "test.rated", R"({"k":"partner"})");
  drain();
  EXPECT_EQ(marks(tenant_b_), 2);  // B's third waits; A's counts did not fill B's window
}

TEST_P(MiddlewareTest, DeferredJobFailsOnceItsRetryForHasPassed) {
  dispatch(tenant_a_, "test.rated_until", R"({"k":"x"})");
  dispatch(tenant_a_, "test.rated_until", R"({"k":"x"})");
  drain();
  EXPECT_EQ(marks(tenant_a_), 1);
  manual_.advance(kMin);  // the window ends 60 s later, past the job's 30 s retry_for
  drain();
  EXPECT_EQ(marks(tenant_a_), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs WHERE exception LIKE '%retry_until passed%'"),
            1);
}

TEST_P(MiddlewareTest, WithoutOverlappingNeverRunsTwoJobsOfOneKeyAtOnce) {
  // Two workers, each with its own connections, on the wall clock.
  clock_ = &system_clock();
  for (int i = 0; i < 3; ++i) {
    dispatch(tenant_a_, "test.exclusive_sleep", R"({"k":"order-7","ms":300})");
  }
  dispatch(tenant_a_, "test.exclusive_sleep", R"({"k":"order-8","ms":300})");
  auto work = [this] {
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (count("SELECT count(*) FROM jobs") > 0 && std::chrono::steady_clock::now() < deadline) {
      drain(system_clock());
      std::this_thread::sleep_for(milliseconds(20));
    }
  };
  std::jthread one(work), two(work);
  one.join();
  two.join();
  std::lock_guard lock(runs_mu);
  ASSERT_EQ(runs.size(), 4u);
  int same_key_overlaps = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    EXPECT_EQ(runs[i].attempt, 1) << "a wait for the lock used up an attempt";
    for (size_t j = i + 1; j < runs.size(); ++j) {
      const bool overlap = runs[i].start < runs[j].end && runs[j].start < runs[i].end;
      if (overlap && runs[i].key == runs[j].key) ++same_key_overlaps;
    }
  }
  EXPECT_EQ(same_key_overlaps, 0);
  EXPECT_EQ(count("SELECT count(*) FROM job_locks"), 0);  // every lock released
}

TEST_P(MiddlewareTest, LockLeftByAKilledWorkerIsTakenAfterItExpires) {
  const int64_t now = manual_.now().time_since_epoch().count();
  // What a worker killed with -9 leaves: its lock row, held for 10 s more.
  db_->owner()->execute(
      "INSERT INTO job_locks (tenant_id, key, owner_job_id, token, expires_at)"
      " VALUES ($1, 'lock:test.exclusive_mark:x', 999999, 1, $2)",
      {tenant_a_, now + 10'000'000});
  dispatch(tenant_a_, "test.exclusive_mark", R"({"k":"x"})");
  dispatch(tenant_b_, "test.exclusive_mark", R"({"k":"x"})");  // B's key "x" is B's own
  drain();
  EXPECT_EQ(marks(tenant_a_), 0);
  EXPECT_EQ(marks(tenant_b_), 1);
  EXPECT_EQ(count("SELECT attempts FROM jobs"), 0);
  manual_.advance(seconds(5));  // released for 5 s: tried again, still held
  drain();
  EXPECT_EQ(marks(tenant_a_), 0);
  manual_.advance(seconds(5));  // expired now
  drain();
  EXPECT_EQ(marks(tenant_a_), 1);
  EXPECT_EQ(count("SELECT count(*) FROM job_locks"), 0);
}

TEST_P(MiddlewareTest, LockOfAWorkerKilledWithSigkillIsTakenAfterItExpires) {
  clock_ = &system_clock();
  registry_.add<MarkJob>("test.exclusive_process");  // as the worker binary registers it
  auto start_worker = [&](const std::string& name) {
    return testing::Process::start({UNITY_MIDDLEWARE_WORKER}, db_->cli_env(), db_->dir(),
                                   db_->dir() + "/" + name + ".out");
  };
  const auto first_job = dispatch(tenant_a_, "test.exclusive_process", R"({"k":"k","ms":60000})");
  auto first = start_worker("first");
  ASSERT_TRUE(testing::eventually([&] { return count("SELECT count(*) FROM job_locks") == 1; },
                                  seconds(30)));
  const int64_t expires_at = count("SELECT expires_at FROM job_locks");
  first.signal(SIGKILL);
  EXPECT_EQ(first.wait(seconds(5)), 128 + SIGKILL);
  // Its job stays reserved for its 90 s lease; the lock it held expires 3 s after it was taken.
  const auto second_job = dispatch(tenant_a_, "test.exclusive_process", R"({"k":"k","ms":0})");
  auto second = start_worker("second");
  EXPECT_TRUE(testing::eventually(
      [&] { return count("SELECT count(*) FROM jobs WHERE id = $1", {second_job.id}) == 0; },
      seconds(30)));
  second.signal(SIGKILL);  // a bare worker: no signal handling to test here
  second.wait(seconds(10));
  auto row = db_->owner()->query_one("SELECT mark, attempt FROM diag_marks WHERE job_id = $1",
                                     {second_job.id});
  ASSERT_TRUE(row);
  EXPECT_GE(std::stoll(row->get<std::string>(0)), expires_at);  // not before the lock expired
  EXPECT_EQ(row->get<int64_t>(1), 1);  // its waits for the lock used no attempt
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE id = $1", {first_job.id}), 1);
}

TEST_P(MiddlewareTest, RescuedJobTakesOverItsOwnLockAtOnce) {
  const auto job = dispatch(tenant_a_, "test.exclusive_mark", R"({"k":"x"})");
  // Its previous attempt's worker died holding the lock, which has not expired yet.
  db_->owner()->execute(
      "INSERT INTO job_locks (tenant_id, key, owner_job_id, token, expires_at)"
      " VALUES ($1, 'lock:test.exclusive_mark:x', $2, 1, $3)",
      {tenant_a_, job.id, manual_.now().time_since_epoch().count() + 600'000'000});
  drain();
  EXPECT_EQ(marks(tenant_a_), 1);
  EXPECT_EQ(count("SELECT count(*) FROM job_locks"), 0);
}

TEST_P(MiddlewareTest, LockIsReleasedWhenTheHandlerThrows) {
  dispatch(tenant_a_, "test.exclusive_mark", R"({"k":"x","throw":true})");
  drain();  // 3 tries (backoff 0), each takes and releases the lock
  EXPECT_EQ(marks(tenant_a_), 3);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM job_locks"), 0);
}

TEST_P(MiddlewareTest, DontReleaseDropsAJobWhoseKeyIsHeld) {
  db_->owner()->execute(
      "INSERT INTO job_locks (tenant_id, key, owner_job_id, token, expires_at)"
      " VALUES ($1, 'lock:test.dropped:x', 999999, 1, $2)",
      {tenant_a_, manual_.now().time_since_epoch().count() + 10'000'000});
  dispatch(tenant_a_, "test.dropped", R"({"k":"x"})");
  drain();
  EXPECT_EQ(marks(tenant_a_), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(MiddlewareTest, ThrottledExceptionsDeferFurtherAttemptsUntilTheDecayEnds) {
  dispatch(tenant_a_, "test.flaky", R"({"k":"f","throw":true})");
  drain();
  // Two attempts threw; the third is not run but waits for the decay's end, attempts unchanged.
  EXPECT_EQ(marks(tenant_a_), 2);
  EXPECT_EQ(count("SELECT attempts FROM jobs"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE available_at = $1",
                  {manual_.now().time_since_epoch().count() + 60'000'000}),
            1);
  manual_.advance(seconds(59));
  drain();
  EXPECT_EQ(marks(tenant_a_), 2);
  manual_.advance(seconds(1));
  drain();  // a new decay period: two more attempts, then deferred again
  EXPECT_EQ(marks(tenant_a_), 4);
  EXPECT_EQ(count("SELECT attempts FROM jobs"), 4);
  // Another tenant's exceptions are its own.
  dispatch(tenant_b_, "test.flaky", R"({"k":"f","throw":true})");
  drain();
  EXPECT_EQ(marks(tenant_b_), 2);
}

TEST_P(MiddlewareTest, DeferralsAreCountedInTheWorkersStatsAndTheJobTypeMetrics) {
  for (int i = 0; i < 3; ++i) dispatch(tenant_a_, "test.rated", R"({"k":"partner"})");
  dispatch(tenant_a_, "test.flaky", R"({"k":"f","throw":true})");
  WorkerOptions o{.backoff = Backoff::parse("0"), .stop_when_empty = true};
  Worker w(db::connection_factory(db_->config()), db_->config(), registry_, o, nullptr, *clock_);
  w.run();
  // test.rated: two ran, the third was deferred; test.flaky: two threw, the third was deferred.
  const WorkerStats s = w.stats();
  EXPECT_EQ(s.completed, 2);
  EXPECT_EQ(s.retried, 2);
  EXPECT_EQ(s.deferred, 2);
  auto totals = JobTypeMetrics::read(*db_->owner());  // written by the worker's keeper on stop
  EXPECT_EQ(totals["test.rated"]["deferred"], 1);
  EXPECT_EQ(totals["test.rated"]["completed"], 2);
  EXPECT_EQ(totals["test.rated"]["retried"], 0);
  EXPECT_EQ(totals["test.flaky"]["deferred"], 1);
  EXPECT_EQ(totals["test.flaky"]["retried"], 2);
}

INSTANTIATE_TEST_SUITE_P(Drivers, MiddlewareTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
