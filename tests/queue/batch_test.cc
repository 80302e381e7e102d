// Batches and chains end to end in one process, on both drivers (DESIGN.md "The Bus"): then,
// catch and finally each once; the first failure cancels the rest without allow_failures;
// batch:cancel skips the jobs not yet started; chains run link by link, stop at a failure and run
// their catch; a chain inside a batch; bad input leaves nothing; another tenant sees nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/trace.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "queue/batch.h"
#include "queue/dispatch.h"
#include "queue/worker.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using testing::Driver;
using testing::TestDatabase;

std::string write(const std::string& mark) {
  return R"({"type":"diag.write","data":{"mark":")" + mark + R"("}})";
}
constexpr const char* kFail = R"({"type":"diag.fail","data":{"times":99}})";
const std::string kCallbacks = R"("then":)" + write("then") + R"(,"catch":)" + write("catch") +
                               R"(,"finally":)" + write("finally");

class BatchTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    register_diag_jobs(registry_);
    tenant_a_ = db::create_tenant(*conn_, "Acme").id;
    tenant_b_ = db::create_tenant(*conn_, "Globex").id;
  }

  DispatchedBatch batch(const std::string& json, int64_t tenant = 0) {
    Dispatcher d(db_->config(), registry_);
    return dispatch_batch(*conn_, d, tenant ? tenant : tenant_a_, parse_batch_spec(json));
  }
  DispatchedChain chain(const std::string& json) {
    Dispatcher d(db_->config(), registry_);
    return dispatch_chain(*conn_, d, tenant_a_, parse_chain_spec(json));
  }

  // Runs workers until no job is left (a callback or a link is inserted as another completes).
  void drain(int concurrency = 1) {
    for (int i = 0; i < 20 && count("SELECT count(*) FROM jobs") > 0; ++i) {
      WorkerOptions o{.concurrency = concurrency, .tries = 1, .stop_when_empty = true};
      o.backoff = Backoff::parse("0");
      Worker w(db::connection_factory(db_->config()), db_->config(), registry_, o, nullptr);
      w.run();
    }
    ASSERT_EQ(count("SELECT count(*) FROM jobs"), 0);
  }

  Batch find(const std::string& id) {
    auto b = batch_find(*conn_, tenant_a_, id);
    EXPECT_TRUE(b) << id;
    return b ? *b : Batch{};
  }

  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }
  int64_t marks(const std::string& mark) {
    return db_->owner()->query_int("SELECT count(*) FROM diag_marks WHERE mark = $1", {mark});
  }
  std::vector<std::string> all_marks() {
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

TEST_P(BatchTest, ThenRunsOnceWhenEveryJobHasSucceeded) {
  // diag.write completes in its handler's transaction, diag.noop through the batched
  // acknowledgements: both paths count.
  auto b =
      batch(R"({"name":"five","jobs":[)" + write("w1") + "," + write("w2") + "," + write("w3") +
            R"(,{"type":"diag.noop"},{"type":"diag.noop"}],)" + kCallbacks + "}");
  EXPECT_EQ(b.job_ids.size(), 5u);
  Batch before = find(b.batch_id);
  EXPECT_EQ(before.total_jobs, 5);
  EXPECT_EQ(before.pending_jobs, 5);
  EXPECT_EQ(before.progress(), 0);
  EXPECT_FALSE(before.finished_at_us);
  drain(4);
  Batch after = find(b.batch_id);
  EXPECT_EQ(after.pending_jobs, 0);
  EXPECT_EQ(after.processed_jobs(), 5);
  EXPECT_EQ(after.failed_jobs, 0);
  EXPECT_EQ(after.progress(), 100);
  EXPECT_TRUE(after.finished_at_us);
  EXPECT_FALSE(after.cancelled_at_us);
  EXPECT_EQ(marks("then"), 1);
  EXPECT_EQ(marks("finally"), 1);
  EXPECT_EQ(marks("catch"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark LIKE 'w%'"), 3);
}

TEST_P(BatchTest, ConcurrentWorkersFinishingABigBatchRunThenAndFinallyOnce) {
  // Two workers of 8 threads each finish 400 jobs at once: the batch row's lock serialises the
  // counter updates, so exactly one completion sees pending_jobs reach 0.
  std::string jobs;
  for (int i = 0; i < 400; ++i) {
    jobs +=
        (i ? "," : "") + (i % 8 == 0 ? write("w" + std::to_string(i)) : R"({"type":"diag.noop"})");
  }
  auto b = batch(R"({"name":"big","jobs":[)" + jobs + "]," + kCallbacks + "}");
  auto run = [&] {
    WorkerOptions o{.concurrency = 8, .tries = 1, .stop_when_empty = true};
    Worker w(db::connection_factory(db_->config()), db_->config(), registry_, o, nullptr);
    w.run();
  };
  std::thread other(run);
  run();
  other.join();
  drain();
  Batch after = find(b.batch_id);
  EXPECT_EQ(after.total_jobs, 400);
  EXPECT_EQ(after.pending_jobs, 0);
  EXPECT_EQ(after.failed_jobs, 0);
  EXPECT_EQ(marks("then"), 1);
  EXPECT_EQ(marks("finally"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark LIKE 'w%'"), 50);
}

TEST_P(BatchTest, FirstFailureRunsCatchOnceAndCancelsTheRest) {
  auto b = batch(R"({"name":"x","jobs":[)" + std::string(kFail) + "," + kFail + "," + write("w1") +
                 "," + write("w2") + "]," + kCallbacks + "}");
  drain();
  Batch after = find(b.batch_id);
  EXPECT_EQ(marks("catch"), 1);
  EXPECT_EQ(marks("finally"), 1);
  EXPECT_EQ(marks("then"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark LIKE 'w%'"), 0);  // skipped
  EXPECT_EQ(after.failed_jobs, 1);  // the second failing job was skipped, never run
  ASSERT_EQ(after.failed_job_ids.size(), 1u);
  EXPECT_EQ(after.pending_jobs, 0);
  EXPECT_TRUE(after.cancelled_at_us);
  EXPECT_TRUE(after.finished_at_us);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM failed_jobs WHERE batch_id = $1 AND"
                                    " uuid = $2",
                                    {b.batch_id, after.failed_job_ids[0]}),
            1);
}

TEST_P(BatchTest, AllowFailuresRunsTheRestThenCatchOnceAndFinally) {
  auto b = batch(R"({"name":"x","allow_failures":true,"jobs":[)" + std::string(kFail) + "," +
                 kFail + "," + write("w1") + "," + write("w2") + "]," + kCallbacks + "}");
  drain(2);
  Batch after = find(b.batch_id);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark LIKE 'w%'"), 2);
  EXPECT_EQ(marks("catch"), 1);
  EXPECT_EQ(marks("finally"), 1);
  EXPECT_EQ(marks("then"), 0);
  EXPECT_EQ(after.failed_jobs, 2);
  EXPECT_EQ(after.failed_job_ids.size(), 2u);
  EXPECT_EQ(after.pending_jobs, 0);
  EXPECT_FALSE(after.cancelled_at_us);
  EXPECT_TRUE(after.finished_at_us);
}

TEST_P(BatchTest, CancelSkipsJobsNotYetStarted) {
  auto b = batch(R"({"name":"x","jobs":[)" + write("w1") + "," + write("w2") + "," + write("w3") +
                 "]," + kCallbacks + "}");
  Batch cancelled = batch_cancel(*conn_, tenant_a_, b.batch_id, 1'000'000);
  EXPECT_EQ(cancelled.cancelled_at_us, 1'000'000);
  EXPECT_EQ(batch_cancel(*conn_, tenant_a_, b.batch_id, 2'000'000).cancelled_at_us, 1'000'000);
  drain();
  Batch after = find(b.batch_id);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark LIKE 'w%'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(marks("then"), 0);
  EXPECT_EQ(marks("catch"), 0);
  EXPECT_EQ(marks("finally"), 1);
  EXPECT_EQ(after.pending_jobs, 0);
  EXPECT_EQ(after.failed_jobs, 0);
  EXPECT_TRUE(after.finished_at_us);
  try {
    batch_cancel(*conn_, tenant_a_, b.batch_id, 3'000'000);
    ADD_FAILURE() << "a finished batch was cancelled";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
}

TEST_P(BatchTest, UnknownAndOtherTenantsBatchesAreNotFound) {
  auto b = batch(R"({"name":"a's","jobs":[{"type":"diag.noop"}]})");
  EXPECT_FALSE(batch_find(*conn_, tenant_b_, b.batch_id));
  EXPECT_FALSE(batch_find(*conn_, tenant_a_, "00000000-0000-0000-0000-000000000000"));
  EXPECT_TRUE(batch_list(*conn_, tenant_b_, 10).empty());
  ASSERT_EQ(batch_list(*conn_, tenant_a_, 10).size(), 1u);
  for (int64_t tenant : {tenant_b_, tenant_a_}) {
    const std::string id = tenant == tenant_b_ ? b.batch_id : "nope";
    try {
      batch_cancel(*conn_, tenant, id, 1);
      ADD_FAILURE() << "cancelled " << id << " as tenant " << tenant;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    }
  }
  EXPECT_FALSE(find(b.batch_id).cancelled_at_us);
  // Row-level security (PostgreSQL): tenant B's own session sees no batch at all.
  auto b_conn = db_->app();
  db::TenantScope scope(*b_conn, tenant_b_);
  if (b_conn->capabilities().listen_notify) {
    EXPECT_EQ(b_conn->query_int("SELECT count(*) FROM job_batches"), 0);
  }
}

TEST_P(BatchTest, BatchesAreListedNewestFirst) {
  auto first = batch(R"({"name":"first","jobs":[{"type":"diag.noop"}]})");
  auto second = batch(R"({"name":"second","jobs":[{"type":"diag.noop"}]})");
  auto list = batch_list(*conn_, tenant_a_, 10);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, second.batch_id);
  EXPECT_EQ(list[1].id, first.batch_id);
  EXPECT_EQ(batch_list(*conn_, tenant_a_, 1).size(), 1u);
}

TEST_P(BatchTest, ChainRunsItsLinksInOrderOneAtATime) {
  auto c = chain(R"({"jobs":[)" + write("a") + "," + write("b") + "," + write("c") + "]}");
  EXPECT_GT(c.job_id, 0);
  EXPECT_FALSE(c.chain_id.empty());
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);  // the next link exists once this completes
  drain(4);
  EXPECT_EQ(all_marks(), (std::vector<std::string>{"a", "b", "c"}));
}

// A spec's priority orders a batch's jobs within their queue, and a chain's later links keep it.
TEST_P(BatchTest, SpecPriorityOrdersTheBatchAndStaysWithEachLink) {
  batch(R"({"name":"p","jobs":[{"type":"diag.write","data":{"mark":"low"},"priority":-3},)"
        R"({"type":"diag.write","data":{"mark":"high"},"priority":9}]})");
  drain();
  EXPECT_EQ(all_marks(), (std::vector<std::string>{"high", "low"}));
  chain(R"({"jobs":[)" + write("a") +
        R"(,{"type":"diag.write","data":{"mark":"b"},"priority":7}]})");
  JobStore store(*conn_, "jobs", system_clock());
  auto first = store.job_claim({.queue = "default",
                                .tenant_id = tenant_a_,
                                .limit = 1,
                                .lease_token = 5,
                                .worker = "t",
                                .lease_us = 60'000'000});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(store.job_complete(first[0].lease()));
  EXPECT_EQ(count("SELECT priority FROM jobs"), 7);
  EXPECT_THROW(batch(R"({"name":"p","jobs":[{"type":"diag.noop","priority":1001}]})"), Error);
}

// A chain dispatched inside a trace: its later links (queued by whoever completes the one before,
// with no trace open on that thread) and its batch's callbacks stay in that trace.
TEST_P(BatchTest, LaterLinksAndCallbacksStayInTheDispatchersTrace) {
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  {
    trace::TraceScope scope(trace_id, "00f067aa0ba902b7");
    batch(R"({"name":"t","jobs":[{"chain":[)" + write("a") + "," + write("b") + R"(]}],)" +
          kCallbacks + "}");
  }
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE trace_id = '" + trace_id + "'"), 1);
  JobStore store(*conn_, "jobs", system_clock());
  auto first = store.job_claim({.queue = "default",
                                .tenant_id = tenant_a_,
                                .limit = 1,
                                .lease_token = 5,
                                .worker = "t",
                                .lease_us = 60'000'000});
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(store.job_complete(first[0].lease()));
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE trace_id = '" + trace_id + "'"), 1);
  drain();
  EXPECT_EQ(marks("then"), 1);
  EXPECT_EQ(
      count("SELECT count(*) FROM spans WHERE trace_id = '" + trace_id + "' AND kind = 'job'"),
      3);  // b, then, finally (a was completed above, not by a worker)
}

TEST_P(BatchTest, FailingLinkStopsTheChainAndRunsItsCatch) {
  chain(R"({"jobs":[)" + write("a") + "," + kFail + "," + write("c") + R"(],"catch":)" +
        write("caught") + "}");
  drain();
  EXPECT_EQ(all_marks(), (std::vector<std::string>{"a", "caught"}));
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
}

TEST_P(BatchTest, ChainInsideABatchCountsEachLink) {
  auto b = batch(R"({"name":"x","jobs":[{"chain":[)" + write("a1") + "," + write("a2") + "," +
                 write("a3") + "]}," + write("b") + "]," + kCallbacks + "}");
  EXPECT_EQ(b.job_ids.size(), 2u);
  EXPECT_EQ(find(b.batch_id).total_jobs, 4);
  drain(2);
  Batch after = find(b.batch_id);
  EXPECT_EQ(after.pending_jobs, 0);
  EXPECT_EQ(after.failed_jobs, 0);
  EXPECT_EQ(marks("then"), 1);
  EXPECT_EQ(marks("finally"), 1);
  const auto m = all_marks();
  auto at = [&](const std::string& s) { return std::find(m.begin(), m.end(), s) - m.begin(); };
  EXPECT_LT(at("a1"), at("a2"));
  EXPECT_LT(at("a2"), at("a3"));
  EXPECT_LT(at("a3"), at("then"));
}

TEST_P(BatchTest, FailedChainInsideABatchCountsItsUnrunLinksAsFinished) {
  auto b = batch(R"({"name":"x","allow_failures":true,"jobs":[{"chain":[)" + std::string(kFail) +
                 "," + write("never") + R"(],"catch":)" + write("chain caught") + "}," +
                 write("b") + "]," + kCallbacks + "}");
  drain();
  Batch after = find(b.batch_id);
  EXPECT_EQ(after.total_jobs, 3);
  EXPECT_EQ(after.pending_jobs, 0);
  EXPECT_EQ(after.failed_jobs, 1);
  EXPECT_TRUE(after.finished_at_us);
  EXPECT_EQ(marks("never"), 0);
  EXPECT_EQ(marks("b"), 1);
  EXPECT_EQ(marks("chain caught"), 1);
  EXPECT_EQ(marks("catch"), 1);
  EXPECT_EQ(marks("finally"), 1);
  EXPECT_EQ(marks("then"), 0);
}

TEST_P(BatchTest, BatchDispatchedInARolledBackTransactionDoesNotExist) {
  {
    db::Transaction tx(*conn_);
    batch(R"({"name":"x","jobs":[{"type":"diag.noop"}]})");
  }
  EXPECT_EQ(count("SELECT count(*) FROM job_batches"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(BatchTest, BadBatchesAndChainsAreRefusedAndLeaveNothing) {
  auto code_of = [&](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  const std::vector<std::string> bad_batches = {
      "{not json",
      "[]",
      R"({"name":"x"})",
      R"({"name":"x","jobs":[]})",
      R"({"name":"x","jobs":[{"type":"diag.noop"},{"type":"no.such.type"}]})",
      R"({"name":"x","jobs":[{"type":"diag.noop","data":[1]}]})",
      R"({"name":"x","jobs":[{"type":"diag.noop","delay":-1}]})",
      R"({"name":"x","jobs":[{"type":"diag.noop"}],"then":{"type":"no.such.type"}})",
      R"({"name":"x","jobs":[{"chain":[{"type":"diag.noop"},{"type":"nope"}]}]})",
      R"({"name":"x","jobs":[{"type":"diag.noop"}],"bogus":1})",
      R"({"name":"x","jobs":[{"type":"diag.noop"}],"allow_failures":"yes"})",
  };
  for (const auto& json : bad_batches) {
    EXPECT_EQ(code_of([&] { batch(json); }), ErrorCode::kInvalidArgument) << json;
  }
  EXPECT_EQ(code_of([&] { batch(R"({"name":"x","jobs":[{"type":"diag.noop"}]})", 99999); }),
            ErrorCode::kNotFound);
  for (const auto& json : {R"({"jobs":[]})", R"({"jobs":[{"type":"diag.noop"},{"type":"x.y"}]})",
                           R"({"jobs":[{"type":"diag.noop"}],"catch":{"type":"x.y"}})"}) {
    EXPECT_EQ(code_of([&] { chain(json); }), ErrorCode::kInvalidArgument) << json;
  }
  EXPECT_EQ(count("SELECT count(*) FROM job_batches"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

// A clock that moves a millisecond at every reading, as a loaded machine's does between two.
class TickingClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint(std::chrono::microseconds(us_ += 1000)); }
  Monotonic monotonic() const override { return Monotonic(std::chrono::microseconds(us_.load())); }

 private:
  mutable std::atomic<int64_t> us_{1'800'000'000'000'000};
};

// A later link or a callback waits for the delay it was given, never for the time that passed
// while the chain was being prepared: a link made to wait that long was not ready when the last
// job before it finished, and a --stop-when-empty worker exited without running it.
TEST_P(BatchTest, LinksAndCallbacksKeepTheDelayTheyWereGivenNotTheTimeDispatchTook) {
  TickingClock ticking;
  Dispatcher d(db_->config(), registry_, ticking);
  dispatch_chain(*conn_, d, tenant_a_,
                 parse_chain_spec(R"({"jobs":[{"type":"diag.noop"},{"type":"diag.noop"},)"
                                  R"({"type":"diag.noop","delay":5}]})"));
  const auto next =
      nlohmann::json::parse(db_->owner()
                                ->query_one("SELECT chain FROM jobs WHERE chain IS NOT NULL")
                                ->get<std::string>(0))["next"];
  ASSERT_EQ(next.size(), 2u);
  EXPECT_FALSE(next[0].contains("delay_us")) << next;
  EXPECT_EQ(next[1].value("delay_us", int64_t{0}), 5'000'000) << next;
  dispatch_batch(
      *conn_, d, tenant_a_,
      parse_batch_spec(R"({"jobs":[{"type":"diag.noop"}],)"
                       R"("then":{"type":"diag.noop"},"finally":{"type":"diag.noop"}})"));
  const auto options = nlohmann::json::parse(
      db_->owner()->query_one("SELECT options FROM job_batches")->get<std::string>(0));
  EXPECT_FALSE(options["then"].contains("delay_us")) << options;
  EXPECT_FALSE(options["finally"].contains("delay_us")) << options;
}

INSTANTIATE_TEST_SUITE_P(Drivers, BatchTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
