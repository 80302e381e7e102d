// QUEUE_KEEP_COMPLETED_MINUTES on both drivers: with 0 a finished job is deleted as before and
// nothing is kept; above 0 the worker keeps jobs that completed (by the completer and in the
// handler's transaction) or failed for good in finished_jobs, `queue:jobs`' list shows them with
// their state next to the waiting ones, tenant by tenant, and the pruning removes them once the
// retention has passed.
#include <gtest/gtest.h>

#include "core/error.h"
#include "db/tenancy.h"
#include "queue/batch.h"
#include "queue/dispatch.h"
#include "queue/store.h"
#include "queue/worker.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using testing::Driver;
using testing::TestDatabase;

class FinishedJobsTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    register_diag_jobs(registry_);
    a_ = db::create_tenant(*conn_, "A").id;
    b_ = db::create_tenant(*conn_, "B").id;
  }

  InsertedJob dispatch(int64_t tenant, const std::string& type, const std::string& payload = "{}",
                       DispatchOptions o = {}) {
    return Dispatcher(db_->config(), registry_).dispatch(*conn_, tenant, type, payload, o);
  }

  // Runs every ready job with QUEUE_KEEP_COMPLETED_MINUTES = `keep`.
  void drain(int keep) {
    Config config = db_->config();
    config.queue_keep_completed_minutes = keep;
    WorkerOptions o;
    o.stop_when_empty = true;
    Worker w(db::connection_factory(config), config, registry_, o, nullptr);
    w.run();
  }

  // Dispatches one job of each kind of ending to tenant A (and one to B), and a delayed one.
  void dispatch_mix() {
    dispatch(a_, "diag.noop");                                 // completed by the completer
    dispatch(a_, "diag.write", "{\"key\":\"k\"}");             // completed in its own transaction
    dispatch(a_, "diag.fail", "{\"times\":9}", {.tries = 1});  // failed for good
    dispatch(b_, "diag.noop");
    dispatch(a_, "diag.noop", "{}", {.delay = std::chrono::hours(1)});  // still delayed
  }

  std::vector<std::string> states(int64_t tenant, std::optional<std::string> state = {},
                                  std::optional<std::string> type = {}) {
    JobStore store(*conn_, "jobs", system_clock());
    std::vector<std::string> out;
    for (const auto& j : store.jobs_list(tenant, state, type, 50))
      out.push_back(j.type + ":" + j.state);
    return out;
  }

  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  JobRegistry registry_;
  int64_t a_ = 0, b_ = 0;
};

TEST_P(FinishedJobsTest, WithoutRetentionFinishedJobsAreDeletedAndNotKept) {
  dispatch_mix();
  drain(0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);  // the delayed one
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM finished_jobs"), 0);
  EXPECT_EQ(states(a_), std::vector<std::string>{"diag.noop:delayed"});
}

TEST_P(FinishedJobsTest, RetentionKeepsFinishedJobsListedWithTheirState) {
  dispatch_mix();
  drain(60);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);  // still retryable as before
  // Newest first, waiting and finished together; another tenant's never.
  EXPECT_EQ(states(a_), (std::vector<std::string>{"diag.noop:delayed", "diag.fail:failed",
                                                  "diag.write:completed", "diag.noop:completed"}));
  EXPECT_EQ(states(b_), std::vector<std::string>{"diag.noop:completed"});
  EXPECT_EQ(states(a_, "completed"),
            (std::vector<std::string>{"diag.write:completed", "diag.noop:completed"}));
  EXPECT_EQ(states(a_, "failed"), std::vector<std::string>{"diag.fail:failed"});
  EXPECT_EQ(states(a_, "delayed"), std::vector<std::string>{"diag.noop:delayed"});
  EXPECT_TRUE(states(a_, "ready").empty());
  EXPECT_TRUE(states(a_, "cancelled").empty());
  EXPECT_EQ(states(a_, std::nullopt, "diag.noop"),
            (std::vector<std::string>{"diag.noop:delayed", "diag.noop:completed"}));
  JobStore store(*conn_, "jobs", system_clock());
  const auto rows = store.jobs_list(a_, "failed", std::nullopt, 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 1);
  ASSERT_TRUE(rows[0].finished_at_us);
  EXPECT_GE(*rows[0].finished_at_us, rows[0].created_at_us);
  EXPECT_EQ(store.jobs_list(a_, std::nullopt, std::nullopt, 2).size(), 2u);
}

// queue:jobs shows a job's priority and batch, waiting or kept after it finished.
TEST_P(FinishedJobsTest, KeptJobsKeepTheirPriorityAndBatch) {
  dispatch(a_, "diag.noop", "{}", {.priority = 9});
  Dispatcher d(db_->config(), registry_);
  const auto batch = dispatch_batch(
      *conn_, d, a_, parse_batch_spec(R"({"name":"b","jobs":[{"type":"diag.noop"}]})"));
  JobStore store(*conn_, "jobs", system_clock());
  auto before = store.jobs_list(a_, std::string("ready"), std::nullopt, 50);
  ASSERT_EQ(before.size(), 2u);  // newest first: the batch's job, then the one with priority 9
  EXPECT_EQ(before[0].batch_id, batch.batch_id);
  EXPECT_EQ(before[1].priority, 9);
  drain(60);
  auto after = store.jobs_list(a_, std::string("completed"), std::nullopt, 50);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after[0].batch_id, batch.batch_id);
  EXPECT_EQ(after[1].priority, 9);
  EXPECT_FALSE(after[1].batch_id);
}

TEST_P(FinishedJobsTest, PruningRemovesThemOnceTheRetentionHasPassed) {
  dispatch_mix();
  drain(60);
  const TimePoint now = system_clock().now();
  ManualClock early(now + std::chrono::minutes(59));
  JobStore at_59(*conn_, "jobs", early);
  at_59.set_keep_finished(std::chrono::minutes(60));
  EXPECT_EQ(at_59.finished_prune(), 0);
  ManualClock late(now + std::chrono::minutes(61));
  JobStore at_61(*conn_, "jobs", late);
  at_61.set_keep_finished(std::chrono::minutes(60));
  EXPECT_EQ(at_61.finished_prune(), 4);
  EXPECT_EQ(states(a_), std::vector<std::string>{"diag.noop:delayed"});
}

TEST_P(FinishedJobsTest, ACancelledJobIsRecordedAsCancelledOnlyWhenKept) {
  const auto job = dispatch(a_, "diag.noop", "{}", {.delay = std::chrono::hours(1)});
  JobStore store(*conn_, "jobs", system_clock());
  EXPECT_FALSE(store.job_cancel_record(job.id));  // retention 0: nothing kept
  store.set_keep_finished(std::chrono::minutes(5));
  EXPECT_TRUE(store.job_cancel_record(job.id));
  EXPECT_FALSE(store.job_cancel_record(987654));
  conn_->execute("DELETE FROM jobs WHERE id = $1", {job.id});
  EXPECT_EQ(states(a_), std::vector<std::string>{"diag.noop:cancelled"});
}

TEST_P(FinishedJobsTest, ABadStateOrLimitIsInvalidArgument) {
  JobStore store(*conn_, "jobs", system_clock());
  for (auto call :
       {+[](JobStore&s, int64_t t) { s.jobs_list(t, "done", std::nullopt, 10); },
        +[](JobStore&s, int64_t t) { s.jobs_list(t, std::nullopt, std::nullopt, 0); }}) {
    try {
      call(store, a_);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, FinishedJobsTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
