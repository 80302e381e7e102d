// The queue end to end in one process, on both drivers: dispatch, worker, retries, failures,
// fencing, priority, fairness, pauses, delays, unique jobs, the sync driver, tenant isolation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "queue/completer.h"
#include "queue/dispatch.h"
#include "queue/running_job.h"
#include "queue/store.h"
#include "queue/store_session.h"
#include "queue/worker.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using testing::Driver;
using testing::TestDatabase;

// Writes a mark and fails its first attempt: its first write must never be seen.
class WriteThenFailOnceJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    ctx.db().execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1,'w',$2,$3)",
        {ctx.tenant_id(), ctx.job_id(), ctx.attempt()});
    if (ctx.attempt() == 1) throw internal_error("first attempt fails after writing");
  }
};

// Releases itself once with a delay, then completes.
class ReleaseOnceJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    if (ctx.attempt() == 1) ctx.release(std::chrono::milliseconds(0));
  }
};

// Counts the users its tenant context can see, into diag_marks.
class CountUsersJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    const int64_t n = ctx.db().query_int("SELECT count(*) FROM users");
    ctx.db().execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1,$2,$3,1)",
        {ctx.tenant_id(), std::to_string(n), ctx.job_id()});
  }
};

// Gives up at once through ctx.fail(); its failed() hook leaves a mark.
class GiveUpJob : public Job {
 public:
  void handle(JobContext& ctx) override { ctx.fail("nothing to do for this one"); }
  void failed(JobContext& ctx, const std::string& error) override {
    ctx.db().execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1,$2,$3,0)",
        {ctx.tenant_id(), "failed:" + error, ctx.job_id()});
  }
};

// The threads of this process named "unity claim 2" (the worker's second claim loop).
int second_claim_loops() {
  int n = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == "unity claim 2") ++n;
  }
  return n;
}

// Writes a mark "<n>" of the second claim loops running in this process; a third of the jobs
// release themselves once first.
class CountClaimLoopsJob : public Job {
 public:
  void handle(JobContext& ctx) override {
    if (ctx.attempt() == 1 && ctx.job_id() % 3 == 0) {
      ctx.release(std::chrono::milliseconds(0));  // ready again at once, while the drain runs
      return;
    }
    ctx.db().execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1,$2,$3,$4)",
        {ctx.tenant_id(), std::to_string(second_claim_loops()), ctx.job_id(), ctx.attempt()});
  }
};

class QueueTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    register_diag_jobs(registry_);
    registry_.add<WriteThenFailOnceJob>("test.write_then_fail_once", {.tries = 3});
    registry_.add<ReleaseOnceJob>("test.release_once");
    registry_.add<CountUsersJob>("test.count_users");
    registry_.add<GiveUpJob>("test.give_up", {.tries = 5});
    registry_.add<CountClaimLoopsJob>("test.count_claim_loops");
    tenant_a_ = db::create_tenant(*conn_, "Acme").id;
    tenant_b_ = db::create_tenant(*conn_, "Globex").id;
  }

  Dispatcher dispatcher() { return Dispatcher(db_->config(), registry_, *clock_); }

  InsertedJob dispatch(int64_t tenant, const std::string& type, const std::string& payload = "{}",
                       DispatchOptions o = {}) {
    return dispatcher().dispatch(*conn_, tenant, type, payload, o);
  }

  WorkerExit drain(WorkerOptions o = {}) {
    o.stop_when_empty = true;
    if (!o.backoff) o.backoff = Backoff::parse("0");
    Worker w(db::connection_factory(db_->config()), db_->config(), registry_, o, nullptr, *clock_);
    return w.run();
  }

  const Clock* clock_ = &system_clock();  // dispatcher() and drain() read the time here

  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  // The marks' `mark` column in execution order.
  std::vector<std::string> marks() {
    std::vector<std::string> out;
    db_->owner()->query_each("SELECT mark FROM diag_marks ORDER BY id", {},
                             [&](const db::Row& r) { out.push_back(r.get<std::string>(0)); });
    return out;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  JobRegistry registry_;
  int64_t tenant_a_ = 0, tenant_b_ = 0;
};

TEST_P(QueueTest, JobDispatchedInARolledBackTransactionDoesNotExist) {
  {
    db::Transaction tx(*conn_);
    dispatch(tenant_a_, "diag.noop");
  }
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  {
    db::Transaction tx(*conn_);
    dispatch(tenant_a_, "diag.noop");
    tx.commit();
  }
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
}

TEST_P(QueueTest, DispatchWakesListeningWorkersOnCommitOnly) {
  if (!conn_->capabilities().listen_notify)
    GTEST_SKIP() << "no LISTEN/NOTIFY: workers poll data_version";
  auto listener = db_->app();
  listener->listen("unity_jobs");
  dispatch(tenant_a_, "diag.noop", "{}", {.queue = "high"});  // one job, autocommit
  auto n = listener->wait_notification(std::chrono::seconds(5));
  ASSERT_TRUE(n);
  EXPECT_EQ(n->payload, "high");
  {
    db::Transaction tx(*conn_);
    dispatcher().dispatch_many(*conn_, tenant_a_, "diag.noop", {"{}", "{}"});
  }  // rolled back: no wake-up
  EXPECT_FALSE(listener->wait_notification(std::chrono::milliseconds(200)));
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
}

TEST_P(QueueTest, BadDispatchesAreRefusedAndLeaveNothing) {
  auto code_of = [&](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of([&] { dispatch(tenant_a_, "no.such.type"); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { dispatch(tenant_a_, "diag.noop", "{not json"); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { dispatch(tenant_a_, "diag.noop", "[1,2]"); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { dispatch(99999, "diag.noop"); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { dispatch(tenant_a_, "diag.noop", "{}", {.tries = 0}); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(QueueTest, BulkDispatchReturnsEachJobItsOwnIdInOrder) {
  // 600 jobs go as multi-row inserts (256, 256, 64, 16, 8): each returned id is its own job's.
  std::vector<std::string> payloads;
  for (int i = 0; i < 600; ++i) payloads.push_back("{\"mark\":\"" + std::to_string(i) + "\"}");
  const auto jobs = dispatcher().dispatch_many(*conn_, tenant_a_, "diag.write", payloads);
  ASSERT_EQ(jobs.size(), 600u);
  std::set<std::string> uuids;
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto row = conn_->query_one("SELECT payload, uuid FROM jobs WHERE id = $1", {jobs[i].id});
    ASSERT_TRUE(row) << i;
    EXPECT_EQ(row->get<std::string>(0), payloads[i]);
    EXPECT_EQ(row->get<std::string>(1), jobs[i].uuid);
    uuids.insert(jobs[i].uuid);
  }
  EXPECT_EQ(uuids.size(), 600u);
}

TEST_P(QueueTest, WorkerRunsEveryJobExactlyOnce) {
  std::vector<std::string> payloads;
  for (int i = 0; i < 300; ++i) payloads.push_back("{\"mark\":\"" + std::to_string(i) + "\"}");
  dispatcher().dispatch_many(*conn_, tenant_a_, "diag.write", payloads);
  EXPECT_EQ(drain({.concurrency = 4}), WorkerExit::kEmpty);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 300);
  EXPECT_EQ(count("SELECT count(DISTINCT mark) FROM diag_marks"), 300);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(QueueTest, NonTransactionalJobsAreAcknowledgedInBatches) {
  dispatcher().dispatch_many(*conn_, tenant_a_, "diag.noop", std::vector<std::string>(500, "{}"));
  EXPECT_EQ(drain({.concurrency = 8, .batch = 100}), WorkerExit::kEmpty);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT COALESCE(sum(completed),0) FROM queue_metrics"), 500);
}

TEST_P(QueueTest, FailingJobIsRetriedThenLandsInFailedJobsWithItsPayload) {
  dispatch(tenant_a_, "diag.fail", "{\"times\":99}", {.tries = 3});
  drain();
  auto owner = db_->owner();
  auto row =
      owner->query_one("SELECT type, payload, attempts, exception, tenant_id FROM failed_jobs");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<std::string>("type"), "diag.fail");
  EXPECT_EQ(row->get<std::string>("payload"), "{\"times\":99}");
  EXPECT_EQ(row->get<int>("attempts"), 3);
  EXPECT_NE(row->get<std::string>("exception").find("failing attempt 3"), std::string::npos);
  EXPECT_EQ(row->get<int64_t>("tenant_id"), tenant_a_);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);

  // queue:retry puts it back with fresh attempts; with enough tries it still fails again.
  JobStore store(*conn_, "jobs", system_clock());
  auto back = store.failed_retry({"all"}, std::nullopt);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(count("SELECT attempts FROM jobs"), 0);
  EXPECT_THROW(store.failed_retry({"424242"}, std::nullopt), Error);
}

TEST_P(QueueTest, JobThatFailsTwiceThenSucceedsCompletes) {
  dispatch(tenant_a_, "diag.fail", "{\"times\":2}", {.tries = 3});
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(QueueTest, FailedAttemptLeavesNoWritesOfItsOwn) {
  dispatch(tenant_a_, "test.write_then_fail_once");
  drain();
  auto rows = db_->owner()->query("SELECT attempt FROM diag_marks");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].get<int>(0), 2);
}

// On SQLite an executor runs waiting transactional jobs back to back in one transaction, each in
// a savepoint: a failing attempt among them must lose only its own writes, and every other job's
// writes and completion must stay, exactly once.
TEST_P(QueueTest, TransactionalJobsRunBackToBackKeepEachAttemptsWritesApart) {
  constexpr int kJobs = 40;
  for (int i = 0; i < kJobs; ++i) {
    if (i % 4 == 0) {
      dispatch(tenant_a_, "test.write_then_fail_once");
    } else {
      dispatch(i % 2 ? tenant_a_ : tenant_b_, "diag.write",
               R"({"mark":"m)" + std::to_string(i) + R"("})");
    }
  }
  drain({.concurrency = 4});
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  // Each failing job: one mark, from its second attempt; its first attempt's write is gone.
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'w'"), kJobs / 4);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'w' AND attempt = 2"), kJobs / 4);
  // Every other job: exactly one mark.
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark <> 'w'"), kJobs - kJobs / 4);
  EXPECT_EQ(count("SELECT count(DISTINCT mark) FROM diag_marks WHERE mark <> 'w'"),
            kJobs - kJobs / 4);
}

TEST_P(QueueTest, GiveUpSkipsRetriesAndRunsTheFailedHookOnce) {
  dispatch(tenant_a_, "test.give_up");
  drain();
  EXPECT_EQ(count("SELECT attempts FROM failed_jobs"), 1);
  EXPECT_EQ(marks(), std::vector<std::string>{"failed:nothing to do for this one"});
}

TEST_P(QueueTest, ReleasedJobRunsAgain) {
  dispatch(tenant_a_, "test.release_once");
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(QueueTest, FencedWorkerCanNeitherCompleteNorCommitItsWrites) {
  dispatch(tenant_a_, "diag.write");
  JobStore store(*conn_, "jobs", system_clock());
  auto first = store.job_claim(
      {"default", tenant_a_, 1, new_lease_token(), "w1", -1});  // lease already over
  ASSERT_EQ(first.size(), 1u);
  auto rescued = store.lease_rescue_expired(new_lease_token(), 10);  // another worker takes over
  ASSERT_EQ(rescued.size(), 1u);
  {
    db::TenantScope scope(*conn_, tenant_a_);
    db::Transaction tx(*conn_);
    conn_->execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1,'stale',$2,1)",
        {tenant_a_, first[0].id});
    EXPECT_FALSE(store.job_complete(first[0].lease()));
    // the worker does not commit a fenced job: tx rolls back
  }
  EXPECT_FALSE(store.job_release(first[0].lease(), 0, "x"));
  EXPECT_FALSE(store.job_fail(first[0].lease(), "x"));
  EXPECT_TRUE(store.job_complete(rescued[0].lease()));
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
}

// The claimer takes the completer's queued acknowledgements into its own transaction (SQLite);
// until it reports them written they stay pending and held (heartbeats), and what it gives back
// after a failed transaction the completer writes itself.
TEST_P(QueueTest, AcknowledgementsTakenFromTheCompleterStayHeldUntilReported) {
  for (int i = 0; i < 4; ++i) dispatch(tenant_a_, "diag.noop");
  JobStore store(*conn_, "jobs", system_clock());
  auto claimed = store.job_claim({"default", tenant_a_, 4, new_lease_token(), "w", 60'000'000});
  ASSERT_EQ(claimed.size(), 4u);
  std::atomic<int> written{0};
  Completer completer(StoreSession(db::connection_factory(db_->config()), "jobs", system_clock()),
                      nullptr, [&] { ++written; });
  // Each take races the completer's own thread (it gathers for a millisecond): add one lease at a
  // time until a take gets it.
  auto take_one = [&](size_t& next) {
    std::vector<Lease> taken;
    while (taken.empty() && next < claimed.size()) {
      completer.add(claimed[next++].lease());
      taken = completer.take_queued();
    }
    return taken;
  };
  size_t next = 0;
  const std::vector<Lease> first = take_one(next);
  ASSERT_EQ(first.size(), 1u) << "the completer's thread wrote every lease before a take";
  EXPECT_GE(completer.pending(), 1);  // taken, not reported yet
  const auto held = completer.held();
  EXPECT_NE(std::find(held.begin(), held.end(), first[0]), held.end());
  EXPECT_EQ(store.job_complete_many(first), 1);  // the caller's own write
  completer.taken_written(first);
  const auto after = completer.held();
  EXPECT_EQ(std::count(after.begin(), after.end(), first[0]), 0);

  const std::vector<Lease> second = take_one(next);
  if (!second.empty()) completer.give_back(second);  // as after a failed claim transaction
  // Whatever was given back or never taken, the completer's thread writes it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((completer.pending() > 0 ||
          count("SELECT count(*) FROM jobs") > 4 - static_cast<int64_t>(next)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(completer.pending(), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 4 - static_cast<int64_t>(next));
  EXPECT_GE(written.load(), 1);
}

TEST_P(QueueTest, ExpiredLeaseIsRescuedAndTheAttemptCounts) {
  dispatch(tenant_a_, "diag.write", "{\"mark\":\"x\"}", {.tries = 3});
  JobStore store(*conn_, "jobs", system_clock());
  ASSERT_EQ(store.job_claim({"default", tenant_a_, 1, new_lease_token(), "dead", -1}).size(), 1u);
  drain();  // the worker's rescuer returns the job, then runs it
  auto rows = db_->owner()->query("SELECT attempt FROM diag_marks");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].get<int>(0), 2);
}

TEST_P(QueueTest, CrashedAttemptOnTheLastTryFails) {
  dispatch(tenant_a_, "diag.write", "{}", {.tries = 1});
  JobStore store(*conn_, "jobs", system_clock());
  ASSERT_EQ(store.job_claim({"default", tenant_a_, 1, new_lease_token(), "dead", -1}).size(), 1u);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
}

TEST_P(QueueTest, StrictPriorityRunsHigherQueuesFirst) {
  for (int i = 0; i < 20; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"low\"}", {.queue = "low"});
  for (int i = 0; i < 20; ++i) dispatch(tenant_a_, "diag.write", "{\"mark\":\"default\"}");
  for (int i = 0; i < 20; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"high\"}", {.queue = "high"});
  drain({.queues = {"high", "default", "low"}, .concurrency = 1});
  auto m = marks();
  ASSERT_EQ(m.size(), 60u);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(m[i], i < 20 ? "high" : i < 40 ? "default" : "low") << i;
}

// Priority inside a queue (DESIGN.md "The Bus"): higher first within one queue and tenant, then
// the oldest; the order of claim within one batch of claims follows it too.
TEST_P(QueueTest, HigherPriorityRunsFirstWithinAQueue) {
  for (int i = 0; i < 10; ++i) dispatch(tenant_a_, "diag.write", "{\"mark\":\"p0\"}");
  for (int i = 0; i < 10; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"n5\"}", {.priority = -5});
  for (int i = 0; i < 10; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"p7\"}", {.priority = 7});
  for (int i = 0; i < 10; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"p3\"}", {.priority = 3});
  drain({.concurrency = 1, .batch = 4});
  auto m = marks();
  ASSERT_EQ(m.size(), 40u);
  const char* order[] = {"p7", "p3", "p0", "n5"};
  for (int i = 0; i < 40; ++i) EXPECT_EQ(m[i], order[i / 10]) << i;
}

// A priority never jumps a higher queue (Guarantee 6) nor a tenant's turn (Guarantee 7).
TEST_P(QueueTest, PriorityNeverOverridesQueueOrderOrTenantTurns) {
  for (int i = 0; i < 5; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"default\"}", {.priority = 1000});
  for (int i = 0; i < 5; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"high\"}", {.queue = "high", .priority = -1000});
  drain({.queues = {"high", "default"}, .concurrency = 1});
  auto m = marks();
  ASSERT_EQ(m.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(m[i], i < 5 ? "high" : "default") << i;

  db_->owner()->execute("DELETE FROM diag_marks");
  for (int i = 0; i < 20; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"a\"}", {.priority = 1000});
  for (int i = 0; i < 20; ++i) dispatch(tenant_b_, "diag.write", "{\"mark\":\"b\"}");
  drain({.concurrency = 1});
  m = marks();
  ASSERT_EQ(m.size(), 40u);
  // Turns alternate whatever the priorities: B's first job runs within A's first two.
  EXPECT_EQ(std::count(m.begin(), m.begin() + 4, "b"), 2) << m[0] << m[1] << m[2] << m[3];
}

// A failed job keeps its priority in failed_jobs, and queue:retry gives it back.
TEST_P(QueueTest, RetriedJobKeepsItsPriority) {
  dispatch(tenant_a_, "diag.fail", "{\"times\":99}", {.tries = 1, .priority = 42});
  drain();
  EXPECT_EQ(count("SELECT priority FROM failed_jobs"), 42);
  JobStore(*conn_, "jobs", system_clock()).failed_retry({"all"}, std::nullopt);
  EXPECT_EQ(count("SELECT priority FROM jobs"), 42);
  EXPECT_THROW(dispatch(tenant_a_, "diag.noop", "{}", {.priority = 1001}), Error);
  EXPECT_THROW(dispatch(tenant_a_, "diag.noop", "{}", {.priority = -1001}), Error);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
}

// A worker given no queues serves high, DB_QUEUE and low, in that order (queue/queues.h): no job
// of the application's types is left without a worker in the default setup.
TEST_P(QueueTest, DefaultWorkerRunsHighThenDefaultThenLow) {
  for (int i = 0; i < 5; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"low\"}", {.queue = "low"});
  for (int i = 0; i < 5; ++i) dispatch(tenant_a_, "diag.write", "{\"mark\":\"default\"}");
  for (int i = 0; i < 5; ++i)
    dispatch(tenant_a_, "diag.write", "{\"mark\":\"high\"}", {.queue = "high"});
  drain({.concurrency = 1});
  auto m = marks();
  ASSERT_EQ(m.size(), 15u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(m[i], i < 5 ? "high" : i < 10 ? "default" : "low") << i;
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(QueueTest, OneTenantsBacklogDoesNotStarveAnother) {
  dispatcher().dispatch_many(*conn_, tenant_a_, "diag.write",
                             std::vector<std::string>(200, "{\"mark\":\"a\"}"));
  dispatcher().dispatch_many(*conn_, tenant_b_, "diag.write",
                             std::vector<std::string>(10, "{\"mark\":\"b\"}"));
  drain({.concurrency = 2});
  auto m = marks();
  ASSERT_EQ(m.size(), 210u);
  size_t last_b = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] == "b") last_b = i;
  }
  EXPECT_LT(last_b, 40u) << "tenant B waited behind tenant A's backlog";
}

TEST_P(QueueTest, WeightedTenantsShareInProportion) {
  JobStore(*conn_, "jobs", system_clock()).tenant_set_weight(tenant_a_, 3, std::nullopt);
  dispatcher().dispatch_many(*conn_, tenant_a_, "diag.write",
                             std::vector<std::string>(200, "{\"mark\":\"a\"}"));
  dispatcher().dispatch_many(*conn_, tenant_b_, "diag.write",
                             std::vector<std::string>(200, "{\"mark\":\"b\"}"));
  drain({.concurrency = 4});
  auto m = marks();
  ASSERT_EQ(m.size(), 400u);
  const auto a_first = std::count(m.begin(), m.begin() + 160, "a");
  EXPECT_GE(a_first, 100);  // 3:1 → 120 of 160
  EXPECT_LE(a_first, 140);
}

TEST_P(QueueTest, PausedTenantWaitsUntilResumed) {
  JobStore store(*conn_, "jobs", system_clock());
  store.tenant_pause(tenant_a_, "*");
  dispatch(tenant_a_, "diag.write", "{\"mark\":\"a\"}");
  dispatch(tenant_b_, "diag.write", "{\"mark\":\"b\"}");
  drain();
  EXPECT_EQ(marks(), std::vector<std::string>{"b"});
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(store.tenant_resume(tenant_a_, "*"), 1);
  drain();
  EXPECT_EQ(marks(), (std::vector<std::string>{"b", "a"}));
}

TEST_P(QueueTest, TenantConcurrencyCapHoldsBackItsExtraJobs) {
  JobStore store(*conn_, "jobs", system_clock());
  store.tenant_set_weight(tenant_a_, 1, 1);
  dispatcher().dispatch_many(*conn_, tenant_a_, "diag.noop", std::vector<std::string>(5, "{}"));
  auto claimed = store.job_claim({"default", tenant_a_, 1, new_lease_token(), "other-worker",
                                  60'000'000});  // another worker holds one
  ASSERT_EQ(claimed.size(), 1u);
  drain({.concurrency = 4});  // cap reached: nothing of tenant A may start
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 5);
  store.job_complete(claimed[0].lease());
  drain({.concurrency = 4});
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(QueueTest, DelayedJobWaitsForItsTime) {
  ManualClock clock(system_clock().now());
  clock_ = &clock;
  dispatch(tenant_a_, "diag.write", "{}", {.delay = std::chrono::milliseconds(800)});
  drain();  // stop-when-empty exits although a delayed job remains
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
  clock.advance(std::chrono::milliseconds(799));
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
  clock.advance(std::chrono::milliseconds(1));
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 1);
}

TEST_P(QueueTest, UniqueJobRefusesADuplicateWhileWaiting) {
  dispatch(tenant_a_, "diag.noop", "{}", {.unique_key = "report:7"});
  try {
    dispatch(tenant_a_, "diag.noop", "{}", {.unique_key = "report:7"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAlreadyExists);
  }
  dispatch(tenant_b_, "diag.noop", "{}", {.unique_key = "report:7"});  // other tenant: fine
  drain();
  dispatch(tenant_a_, "diag.noop", "{}", {.unique_key = "report:7"});  // done: allowed again
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
}

TEST_P(QueueTest, HandlerSeesOnlyItsTenantsRows) {
  for (int64_t t : {tenant_a_, tenant_b_}) {
    db::TenantScope scope(*conn_, t);
    db::create_user(*conn_, "one@t.test", "One", "admin");
    if (t == tenant_a_) db::create_user(*conn_, "two@t.test", "Two", "admin");
  }
  dispatch(tenant_a_, "test.count_users");
  dispatch(tenant_b_, "test.count_users");
  drain();
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_one("SELECT mark FROM diag_marks WHERE tenant_id = $1", {tenant_a_})
                ->get<std::string>(0),
            conn_->capabilities().row_level_security ? "2" : "3");
  // On SQLite the data layer, not the server, scopes queries: an unscoped count sees every row,
  // which is why tenant code goes through require_tenant() helpers. On PostgreSQL RLS enforces it.
  if (conn_->capabilities().row_level_security) {
    EXPECT_EQ(owner->query_one("SELECT mark FROM diag_marks WHERE tenant_id = $1", {tenant_b_})
                  ->get<std::string>(0),
              "1");
  }
}

TEST_P(QueueTest, SyncConnectionRunsTheJobInlineInTheCallersTransaction) {
  Config c = db_->config();
  c.queue_connection = QueueConnection::kSync;
  Dispatcher sync(c, registry_);
  {
    db::TenantScope scope(*conn_, tenant_a_);
    db::Transaction tx(*conn_);
    sync.dispatch(*conn_, tenant_a_, "diag.write", "{\"mark\":\"inline\"}");
    tx.commit();
  }
  EXPECT_EQ(marks(), std::vector<std::string>{"inline"});
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_THROW(sync.dispatch(*conn_, tenant_a_, "diag.fail", "{\"times\":1}"), Error);
}

TEST_P(QueueTest, OnceRunsOneJob) {
  dispatcher().dispatch_many(*conn_, tenant_a_, "diag.noop", std::vector<std::string>(3, "{}"));
  Worker w(db::connection_factory(db_->config()), db_->config(), registry_, {.once = true},
           nullptr);
  EXPECT_EQ(w.run(), WorkerExit::kMaxJobs);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 2);
}

TEST_P(QueueTest, StopRequestReturnsClaimedButUnstartedJobs) {
  dispatcher().dispatch_many(*conn_, tenant_a_, "diag.sleep",
                             std::vector<std::string>(10, "{\"ms\":300}"));
  Worker w(db::connection_factory(db_->config()), db_->config(), registry_,
           {.concurrency = 2, .batch = 10}, nullptr);
  std::thread stopper([&] {
    // Once the batch is claimed the first two are running (each sleeps 300 ms): stop then. Waiting
    // for the claim rather than a fixed time keeps the test right on a loaded machine.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL") < 10 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    w.request_stop();
  });
  EXPECT_EQ(w.run(), WorkerExit::kStopped);
  stopper.join();
  EXPECT_EQ(w.stats().completed, 2);  // the two in flight finished
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 8);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL OR attempts <> 0"), 0);
}

TEST_P(QueueTest, RestartSignalStopsRunningWorkers) {
  Worker w(db::connection_factory(db_->config()), db_->config(), registry_, {.sleep_s = 0.05},
           nullptr);
  std::thread signaller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto c = db_->app();
    JobStore(*c, "jobs", system_clock()).signal_restart();
  });
  EXPECT_EQ(w.run(), WorkerExit::kRestart);
  signaller.join();
}

// PostgreSQL (concurrent writers): two claim loops, each on its own connection, share the room
// through LocalJobs::reserve; SQLite keeps one. Many jobs of several tenants, a third released
// once (ready again while the drain runs): each attempt runs exactly once, and
// --stop-when-empty exits only when every job is done.
TEST_P(QueueTest, TwoClaimLoopsRunEveryJobExactlyOnceWhereTheDatabaseHasConcurrentWriters) {
  const bool two = conn_->capabilities().concurrent_writers;
  const int64_t tenant_c = db::create_tenant(*conn_, "Initech").id;
  const int64_t tenant_d = db::create_tenant(*conn_, "Umbrella").id;
  const std::vector<int64_t> tenants{tenant_a_, tenant_b_, tenant_c, tenant_d};
  for (int round = 0; round < 3; ++round) {
    for (int64_t t : tenants) {
      dispatcher().dispatch_many(*conn_, t, "test.count_claim_loops",
                                 std::vector<std::string>(150, "{}"));
    }
    EXPECT_EQ(drain({.concurrency = 8}), WorkerExit::kEmpty);
    EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  }
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  // One mark per job, from its second attempt where it released itself once: nothing ran twice.
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 1800);
  EXPECT_EQ(count("SELECT count(DISTINCT job_id) FROM diag_marks"), 1800);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE attempt <> "
                  "CASE WHEN job_id % 3 = 0 THEN 2 ELSE 1 END"),
            0);
  const std::string loops = two ? "1" : "0";
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark <> '" + loops + "'"), 0)
      << "jobs saw the wrong number of second claim loops";
  EXPECT_EQ(second_claim_loops(), 0) << "the second loop ends with the worker";

  // claimers = 1 keeps one loop on every driver.
  dispatcher().dispatch_many(*conn_, tenant_a_, "test.count_claim_loops",
                             std::vector<std::string>(20, "{}"));
  EXPECT_EQ(drain({.concurrency = 8, .claimers = 1}), WorkerExit::kEmpty);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark <> '0' AND job_id > (SELECT "
                  "max(job_id) - 20 FROM diag_marks)"),
            0);
}

TEST_P(QueueTest, MaxJobsHoldsExactlyWithEveryClaimLoop) {
  for (int64_t t : {tenant_a_, tenant_b_}) {
    dispatcher().dispatch_many(*conn_, t, "diag.noop", std::vector<std::string>(400, "{}"));
  }
  for (const int claimers : {0, 1}) {
    Worker w(db::connection_factory(db_->config()), db_->config(), registry_,
             {.concurrency = 8, .claimers = claimers, .max_jobs = 137}, nullptr);
    EXPECT_EQ(w.run(), WorkerExit::kMaxJobs);
    EXPECT_EQ(w.stats().processed, 137);
  }
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 800 - 2 * 137);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL OR attempts <> 0"), 0);
}

// Two `queue:retry all` at once used to queue each failure twice on PostgreSQL (both read the
// failed rows before either deleted them), and the slower one then dereferenced a row the other
// had already moved (a crash). Each retry now takes its rows with DELETE … RETURNING.
TEST_P(QueueTest, ConcurrentRetriesQueueEachFailureOnce) {
  constexpr int kFailures = 40, kRetriers = 4;
  for (int i = 0; i < kFailures; ++i)
    dispatch(tenant_a_, "diag.fail", "{\"times\":99}", {.tries = 1});
  drain();
  ASSERT_EQ(count("SELECT count(*) FROM failed_jobs"), kFailures);
  std::atomic<int> ready{0}, moved{0};
  std::vector<std::string> errors(kRetriers);
  std::vector<std::thread> retriers;
  for (int i = 0; i < kRetriers; ++i) {
    retriers.emplace_back([&, i] {
      try {
        auto c = db_->app();  // its own connection, as separate processes would have
        JobStore store(*c, "jobs", system_clock());
        ++ready;
        while (ready.load() < kRetriers) std::this_thread::yield();
        moved += static_cast<int>(store.failed_retry({"all"}, std::nullopt).size());
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : retriers) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");
  EXPECT_EQ(moved.load(), kFailures);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), kFailures);
  EXPECT_EQ(count("SELECT count(DISTINCT uuid) FROM jobs"), kFailures);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  // Each fails once more and is recorded once more: nothing stays reserved.
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), kFailures);
}

// A job whose uuid is already in failed_jobs (queued twice by an older retry) could not have its
// failure recorded (a unique violation) and stayed reserved for ever.
TEST_P(QueueTest, FailureIsRecordedWhenItsUuidIsAlreadyInFailedJobs) {
  auto job = dispatch(tenant_a_, "diag.fail", "{\"times\":99}", {.tries = 1});
  db_->owner()->execute(
      "INSERT INTO failed_jobs (uuid, tenant_id, connection, queue, type, payload, attempts, "
      "exception, failed_at) VALUES ($1, $2, 'database', 'default', 'diag.fail', '{}', 1, "
      "'an earlier copy', '2026-01-01T00:00:00Z')",
      {job.uuid, tenant_a_});
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  auto ex = db_->owner()->query_one("SELECT exception FROM failed_jobs")->get<std::string>(0);
  EXPECT_NE(ex.find("failing attempt 1"), std::string::npos) << ex;
}

// SQLite gave a new job the id of the newest job once that one had completed, so a follower of
// the first job (`--wait`) followed the second, another tenant's (migration 0012).
TEST_P(QueueTest, JobIdsAreNeverReused) {
  auto first = dispatch(tenant_a_, "diag.noop");
  drain();
  ASSERT_EQ(count("SELECT count(*) FROM jobs"), 0);
  auto second = dispatch(tenant_b_, "diag.noop");
  EXPECT_GT(second.id, first.id);
}

INSTANTIATE_TEST_SUITE_P(Drivers, QueueTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
