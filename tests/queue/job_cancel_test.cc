// queue:cancel on the store, both drivers (JobStore::job_cancel, job_cancel_finish, the flag the
// heartbeat returns, Attempts): a waiting job is removed and kept as cancelled; a running one is
// flagged, its heartbeat hears of it and its attempt ends as cancelled, never failed or retried;
// a completion that came first wins; an unknown, finished or other tenant's job is not found;
// a cancelled job of a batch counts as finished and keeps the batch's then job from running.
#include <gtest/gtest.h>

#include "core/error.h"
#include "db/tenancy.h"
#include "queue/attempt.h"
#include "queue/batch.h"
#include "queue/dispatch.h"
#include "queue/store.h"
#include "queue/worker.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using testing::Driver;
using testing::TestDatabase;

class JobCancelTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    register_diag_jobs(registry_);
    a_ = db::create_tenant(*conn_, "A").id;
    b_ = db::create_tenant(*conn_, "B").id;
    store_ = std::make_unique<JobStore>(*conn_, "jobs", system_clock());
    store_->set_keep_finished(std::chrono::minutes(60));
  }

  InsertedJob dispatch(int64_t tenant, const std::string& type, const std::string& payload = "{}",
                       DispatchOptions o = {}) {
    return Dispatcher(db_->config(), registry_).dispatch(*conn_, tenant, type, payload, o);
  }

  ClaimedJob claim(int64_t tenant) {
    auto jobs =
        store_->job_claim({"default", tenant, 1, new_lease_token(), "test", int64_t{60'000'000}});
    EXPECT_EQ(jobs.size(), 1u);
    return jobs.empty() ? ClaimedJob{} : jobs[0];
  }

  void expect_not_found(int64_t tenant, const std::string& key) {
    try {
      store_->job_cancel(tenant, key);
      ADD_FAILURE() << key << " was cancelled";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNotFound) << e.what();
    }
  }

  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  void drain() {
    Config config = db_->config();
    config.queue_keep_completed_minutes = 60;
    WorkerOptions o;
    o.stop_when_empty = true;
    Worker w(db::connection_factory(config), config, registry_, o, nullptr);
    w.run();
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  std::unique_ptr<JobStore> store_;
  JobRegistry registry_;
  int64_t a_ = 0, b_ = 0;
};

TEST_P(JobCancelTest, AWaitingJobIsRemovedAndKeptAsCancelledByIdOrUuid) {
  const auto delayed = dispatch(a_, "diag.noop", "{}", {.delay = std::chrono::hours(1)});
  const auto ready = dispatch(a_, "diag.noop");
  const auto first = store_->job_cancel(a_, std::to_string(delayed.id));
  EXPECT_EQ(first.id, delayed.id);
  EXPECT_EQ(first.state, CancelState::kCancelled);
  const auto second = store_->job_cancel(a_, ready.uuid);
  EXPECT_EQ(second.id, ready.id);
  EXPECT_EQ(second.state, CancelState::kCancelled);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  const auto rows = store_->jobs_list(a_, std::string("cancelled"), std::nullopt, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, ready.id);
  EXPECT_EQ(rows[1].id, delayed.id);
  expect_not_found(a_, std::to_string(delayed.id));  // finished now
}

TEST_P(JobCancelTest, UnknownAndOtherTenantsJobsAreNotFoundAndLeftAlone) {
  const auto theirs = dispatch(b_, "diag.noop");
  expect_not_found(a_, std::to_string(theirs.id));
  expect_not_found(a_, theirs.uuid);
  expect_not_found(a_, "999999");
  expect_not_found(a_, "not-a-job");
  claim(b_);
  expect_not_found(a_, std::to_string(theirs.id));  // nor when it is running
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE cancel_requested_at IS NULL"), 1);
}

TEST_P(JobCancelTest, ARunningJobIsFlaggedTheHeartbeatSaysSoAndItEndsCancelled) {
  const auto job = dispatch(a_, "diag.noop");
  const ClaimedJob c = claim(a_);
  const auto r = store_->job_cancel(a_, std::to_string(job.id));
  EXPECT_EQ(r.state, CancelState::kCancelling);
  EXPECT_EQ(store_->job_cancel(a_, job.uuid).state, CancelState::kCancelling);  // twice: same
  std::vector<int64_t> flagged;
  EXPECT_EQ(store_->lease_extend({c.lease()}, 60'000'000, &flagged), 1);
  EXPECT_EQ(flagged, std::vector<int64_t>{job.id});
  EXPECT_TRUE(store_->job_cancel_requested(c.lease()));
  EXPECT_FALSE(store_->job_cancel_finish({c.id, c.lease_token + 1}));  // fenced off
  EXPECT_TRUE(store_->job_cancel_finish(c.lease()));
  EXPECT_FALSE(store_->job_cancel_finish(c.lease()));  // exactly once
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(store_->jobs_list(a_, std::string("cancelled"), std::nullopt, 10).size(), 1u);
}

TEST_P(JobCancelTest, AnUnflaggedHeartbeatReportsNothing) {
  dispatch(a_, "diag.noop");
  const ClaimedJob c = claim(a_);
  std::vector<int64_t> flagged;
  EXPECT_EQ(store_->lease_extend({c.lease()}, 60'000'000, &flagged), 1);
  EXPECT_TRUE(flagged.empty());
  EXPECT_FALSE(store_->job_cancel_finish(c.lease()));  // not flagged: nothing happens
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
}

TEST_P(JobCancelTest, AFailingAttemptOfAFlaggedJobIsCancelledNeverRetriedNorFailed) {
  const auto job = dispatch(a_, "diag.fail", "{\"times\":9}", {.tries = 1});
  const ClaimedJob c = claim(a_);
  store_->job_cancel(a_, job.uuid);
  Attempts attempts(registry_, {}, nullptr, {}, db_->config());
  // The worker had not heard of the cancel yet: the failure path still finds the flag.
  EXPECT_EQ(attempts.retry_or_fail(*store_, c, "boom", false), Outcome::kCancelled);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(store_->jobs_list(a_, std::string("cancelled"), std::nullopt, 10).size(), 1u);
}

TEST_P(JobCancelTest, AttemptsAskedToStopEndCancelledWhateverTheyReturn) {
  const auto job = dispatch(a_, "diag.noop");
  const ClaimedJob c = claim(a_);
  store_->job_cancel(a_, std::to_string(job.id));
  Attempts attempts(registry_, {}, nullptr, {}, db_->config());
  std::atomic<bool> cancel{true};  // what the keeper sets once the heartbeat returned the flag
  std::string error;
  bool needs_ack = true;
  EXPECT_EQ(attempts.run(*store_, c, cancel, error, needs_ack), Outcome::kCancelled);
  EXPECT_FALSE(needs_ack);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  // A transactional job's work is rolled back.
  const auto write = dispatch(a_, "diag.write", "{\"mark\":\"w\"}");
  const ClaimedJob w = claim(a_);
  store_->job_cancel(a_, write.uuid);
  EXPECT_EQ(attempts.run(*store_, w, cancel, error, needs_ack), Outcome::kCancelled);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(JobCancelTest, ACompletionFirstWinsAndTheCancelIsNotFound) {
  const auto job = dispatch(a_, "diag.noop");
  const ClaimedJob c = claim(a_);
  const auto flagged = dispatch(a_, "diag.noop");
  const ClaimedJob f = claim(a_);
  store_->job_cancel(a_, std::to_string(flagged.id));
  // Both acknowledged as completed: the flagged one's completion came before its cancel landed.
  EXPECT_EQ(store_->job_complete_many({c.lease(), f.lease()}), 2);
  EXPECT_FALSE(store_->job_cancel_finish(f.lease()));
  expect_not_found(a_, std::to_string(job.id));
  EXPECT_EQ(store_->jobs_list(a_, std::string("completed"), std::nullopt, 10).size(), 2u);
  EXPECT_TRUE(store_->jobs_list(a_, std::string("cancelled"), std::nullopt, 10).empty());
}

TEST_P(JobCancelTest, ACancelledJobOfABatchCountsAsFinishedAndThenDoesNotRun) {
  Dispatcher d(db_->config(), registry_);
  const auto batch = dispatch_batch(
      *conn_, d, a_,
      parse_batch_spec(R"({"name":"b","jobs":[{"type":"diag.noop"},{"type":"diag.noop"}],)"
                       R"("then":{"type":"diag.write","data":{"mark":"then"}},)"
                       R"("finally":{"type":"diag.write","data":{"mark":"finally"}}})"),
      std::nullopt);
  store_->job_cancel(a_, std::to_string(batch.job_ids.at(0)));
  auto b = batch_find(*conn_, a_, batch.batch_id);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->pending_jobs, 1);
  EXPECT_EQ(b->cancelled_jobs, 1);
  EXPECT_EQ(b->failed_jobs, 0);
  // A callback is queued by the acknowledgement of the job before it: a worker that stopped
  // when empty in between leaves it for the next one.
  for (int i = 0; i < 5 && count("SELECT count(*) FROM jobs") > 0; ++i) drain();
  b = batch_find(*conn_, a_, batch.batch_id);
  EXPECT_EQ(b->pending_jobs, 0);
  EXPECT_EQ(b->progress(), 100);
  EXPECT_TRUE(b->finished_at_us);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'then'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'finally'"), 1);
}

TEST_P(JobCancelTest, ACancelledLinkStopsItsChainWithoutItsCatch) {
  Dispatcher d(db_->config(), registry_);
  const auto chain =
      dispatch_chain(*conn_, d, a_,
                     parse_chain_spec(R"({"jobs":[{"type":"diag.noop"},{"type":"diag.write"}],)"
                                      R"("catch":{"type":"diag.write","data":{"mark":"catch"}}})"));
  EXPECT_EQ(store_->job_cancel(a_, std::to_string(chain.job_id)).state, CancelState::kCancelled);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);  // neither the next link nor the catch job
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(JobCancelTest, BatchesRecordWhoCreatedThem) {
  int64_t user = 0;
  {
    db::TenantScope scope(*conn_, a_);
    user = db::create_user(*conn_, "ann@example.com", "Ann", "admin").id;
  }
  Dispatcher d(db_->config(), registry_);
  const auto spec = parse_batch_spec(R"({"name":"b","jobs":[{"type":"diag.noop"}]})");
  const auto mine = dispatch_batch(*conn_, d, a_, spec, user);
  const auto anon = dispatch_batch(*conn_, d, a_, spec);
  EXPECT_EQ(batch_find(*conn_, a_, mine.batch_id)->user_id, user);
  EXPECT_FALSE(batch_find(*conn_, a_, anon.batch_id)->user_id);
}

INSTANTIATE_TEST_SUITE_P(Drivers, JobCancelTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
