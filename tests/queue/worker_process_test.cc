// Fault tests with real worker processes and real signals, on both drivers (Guarantees 2, 3, 8, 9).
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/tenancy.h"
#include "queue/batch.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using namespace std::chrono_literals;
using testing::Driver;
using testing::eventually;
using testing::Process;
using testing::TestDatabase;

// The names of process `pid`'s threads.
std::vector<std::string> thread_names(pid_t pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    out.push_back(name);
  }
  return out;
}

// Process `pid`'s CPU time so far (user + system), in clock ticks (1/100 s here).
int64_t cpu_ticks(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The fields after the command name (in parentheses; it may hold spaces): utime is the 12th,
  // stime the 13th.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  int64_t utime = 0, stime = 0;
  for (int i = 1; i <= 13 && rest >> field; ++i) {
    if (i == 12) utime = std::stoll(field);
    if (i == 13) stime = std::stoll(field);
  }
  return utime + stime;
}

class WorkerProcessTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    register_diag_jobs(registry_);
    tenant_ = db::create_tenant(*conn_, "Acme").id;
  }

  std::map<std::string, std::string> env(int lease_s = 90) const {
    auto e = db_->cli_env();
    e["DB_QUEUE_RETRY_AFTER"] = std::to_string(lease_s);
    return e;
  }

  Process worker(std::vector<std::string> args, std::map<std::string, std::string> e) {
    args.insert(args.begin(), {testing::unity_binary(), "queue:work"});
    return Process::start(args, e, db_->dir(), db_->dir() + "/worker.out");
  }

  void dispatch(const std::string& type, const std::string& payload, DispatchOptions o = {}) {
    Dispatcher(db_->config(), registry_).dispatch(*conn_, tenant_, type, payload, o);
  }

  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  std::string worker_log() {
    std::ifstream in(db_->config().storage_path + "/logs/worker.log");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // True once worker `name` logged its start (so it takes signals: a signal that arrives while a
  // process is still loading, a second or more under a sanitizer on a loaded machine, kills it).
  bool started(const std::string& name) {
    const std::string log = worker_log();
    for (size_t at = log.find("\"worker.start\""); at != std::string::npos;
         at = log.find("\"worker.start\"", at + 1)) {
      const size_t end = log.find('\n', at);
      if (log.substr(at, end - at).find("\"worker\":\"" + name + "\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  JobRegistry registry_;
  int64_t tenant_ = 0;
};

TEST_P(WorkerProcessTest, KilledWorkersJobRunsAgainAfterItsLease) {
  dispatch("diag.sleep", "{\"ms\":2000}");
  auto first = worker({"--sleep=0.1"}, env(1));
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL") == 1; }, 10s));
  first.signal(SIGKILL);
  EXPECT_EQ(first.wait(5s), 128 + SIGKILL);
  auto second = worker({"--sleep=0.1"}, env(1));
  EXPECT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 20s));
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(10s), 0);
  const std::string log = worker_log();
  EXPECT_NE(log.find("\"outcome\":\"rescued:retry\""), std::string::npos) << log;
  EXPECT_NE(log.find("\"attempt\":2,\"duration_ms\""), std::string::npos) << log;
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(WorkerProcessTest, HeartbeatsKeepALongJobFromRunningTwice) {
  dispatch("diag.sleep", "{\"ms\":2500}");
  auto a = worker({"--sleep=0.1", "--name=a"}, env(1));  // lease: 1 s, the job takes 2.5 s
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL") == 1; }, 10s));
  auto b = worker({"--sleep=0.1", "--name=b"}, env(1));  // would rescue it if the lease lapsed
  EXPECT_TRUE(eventually([&] { return started("b"); }, 20s));
  EXPECT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 20s));
  a.signal(SIGTERM);
  b.signal(SIGTERM);
  EXPECT_EQ(a.wait(10s), 0);
  EXPECT_EQ(b.wait(10s), 0);
  const std::string log = worker_log();
  EXPECT_EQ(log.find("rescued"), std::string::npos) << log;
  EXPECT_EQ(log.find("\"attempt\":2"), std::string::npos) << log;
}

TEST_P(WorkerProcessTest, CrashBetweenHandlerAndAcknowledgementAppliesWritesOnce) {
  dispatch("diag.write", "{\"mark\":\"once\"}");
  // The fault is injected by a decorator around the job types (testing::crash_after_handler), run
  // by a worker binary of the tests: the product has no fault switch.
  auto crashing = Process::start({UNITY_FAULT_WORKER, "--stop-when-empty"}, env(1), db_->dir(),
                                 db_->dir() + "/fault_worker.out");
  EXPECT_EQ(crashing.wait(20s), 99);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 0);  // its transaction never committed
  std::this_thread::sleep_for(1200ms);                     // the lease runs out
  auto second = worker({"--stop-when-empty", "--backoff=0"}, env(1));
  EXPECT_EQ(second.wait(20s), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 1);
  EXPECT_EQ(count("SELECT attempt FROM diag_marks"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(WorkerProcessTest, SigtermFinishesTheJobInFlightThenExitsZero) {
  dispatch("diag.sleep", "{\"ms\":1500}");
  for (int i = 0; i < 5; ++i) dispatch("diag.noop", "{}", {.delay = 3s});
  auto w = worker({"--sleep=0.1"}, env());
  ASSERT_TRUE(eventually(
      [&] { return count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL") == 1; }, 10s));
  w.signal(SIGTERM);
  EXPECT_EQ(w.wait(10s), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE type = 'diag.sleep'"), 0);  // it completed
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE attempts = 0 AND reserved_at IS NULL"), 5);
}

TEST_P(WorkerProcessTest, SigusrTwoPausesAndSigcontResumes) {
  auto w = worker({"--sleep=0.1"}, env());
  // A job done proves the worker is running, its signal handlers in place (a fixed wait was not
  // enough on a loaded machine: SIGUSR2 before the handler kills the process).
  dispatch("diag.noop", "{}");
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 20s));
  w.signal(SIGUSR2);
  std::this_thread::sleep_for(200ms);
  dispatch("diag.noop", "{}");
  // Paused, it waits without burning a core (it spun in its claim loop while its slots were free).
  const int64_t cpu_before = cpu_ticks(w.pid());
  std::this_thread::sleep_for(700ms);
  EXPECT_LT(cpu_ticks(w.pid()) - cpu_before, 15) << "clock ticks of CPU in 0.7 s paused";
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
  w.signal(SIGCONT);
  EXPECT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 5s));
  w.signal(SIGTERM);
  EXPECT_EQ(w.wait(10s), 0);
}

TEST_P(WorkerProcessTest, JobPastItsTimeoutIsCountedAndTheWorkerExits) {
  dispatch("diag.sleep", "{\"ms\":30000,\"ignore_cancel\":1}", {.tries = 3, .timeout_s = 1});
  auto w = worker({"--sleep=0.1"}, env());
  EXPECT_EQ(w.wait(20s), 124);
  auto row = db_->owner()->query_one("SELECT attempts, reserved_at, last_error FROM jobs");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->get<int>("attempts"), 1);
  EXPECT_TRUE(row->is_null("reserved_at"));  // released for its retry
  EXPECT_NE(row->get<std::string>("last_error").find("timed out after 1 s"), std::string::npos);
}

TEST_P(WorkerProcessTest, CooperativeJobIsCancelledAtItsTimeoutAndRetried) {
  dispatch("diag.sleep", "{\"ms\":30000}", {.tries = 1, .timeout_s = 1});
  auto w = worker({"--stop-when-empty"}, env());
  EXPECT_EQ(w.wait(20s), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  auto ex = db_->owner()->query_one("SELECT exception FROM failed_jobs")->get<std::string>(0);
  EXPECT_NE(ex.find("timed out"), std::string::npos) << ex;
}

TEST_P(WorkerProcessTest, QueueRestartMakesRunningWorkersExit) {
  auto a = worker({"--sleep=0.1", "--name=a"}, env());
  auto b = worker({"--sleep=0.1", "--name=b"}, env());
  ASSERT_TRUE(eventually([&] { return started("a") && started("b"); }, 20s));
  auto restart = Process::start({testing::unity_binary(), "queue:restart"}, env(), db_->dir(),
                                db_->dir() + "/restart.out");
  EXPECT_EQ(restart.wait(10s), 0);
  EXPECT_EQ(a.wait(10s), 0);
  EXPECT_EQ(b.wait(10s), 0);
}

// A worker took its start time for `queue:restart` only once connected and checked, so a restart
// signalled while it was still starting (seconds on a loaded machine) was older than its "start"
// and ignored: it never exited. Stopped right after fork, this worker cannot have started yet.
TEST_P(WorkerProcessTest, WorkerStillStartingWhenRestartIsSignalledExits) {
  auto w = worker({"--sleep=0.1", "--name=late"}, env());
  w.signal(SIGSTOP);
  std::this_thread::sleep_for(50ms);
  auto restart = Process::start({testing::unity_binary(), "queue:restart"}, env(), db_->dir(),
                                db_->dir() + "/restart.out");
  EXPECT_EQ(restart.wait(30s), 0);
  std::this_thread::sleep_for(50ms);
  w.signal(SIGCONT);
  EXPECT_EQ(w.wait(10s), 0);
  EXPECT_NE(worker_log().find("\"restart\""), std::string::npos) << worker_log();
}

TEST_P(WorkerProcessTest, BatchCountersStayExactWhenAWorkerIsKilledMidBatch) {
  // 30 writes (completed in their handler's transaction), 10 no-ops (acknowledged in batches) and
  // a chain of 5 writes (each link inserted by the completion of the one before).
  std::string jobs;
  auto add = [&](const std::string& spec) { jobs += (jobs.empty() ? "" : ",") + spec; };
  auto write = [](const std::string& mark) {
    return R"({"type":"diag.write","data":{"mark":")" + mark + R"(","sleep_ms":40}})";
  };
  for (int i = 0; i < 30; ++i) add(write("w" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) add(R"({"type":"diag.noop"})");
  std::string links;
  for (int i = 0; i < 5; ++i) links += (i ? "," : "") + write("c" + std::to_string(i));
  add(R"({"chain":[)" + links + "]}");
  const auto batch =
      dispatch_batch(*conn_, Dispatcher(db_->config(), registry_), tenant_,
                     parse_batch_spec(R"({"name":"killed","jobs":[)" + jobs + R"(],"then":)" +
                                      write("then") + R"(,"finally":)" + write("finally") + "}"));
  auto first = worker({"--sleep=0.1", "--concurrency=4", "--name=first"}, env(1));
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM diag_marks") >= 8; }, 30s));
  first.signal(SIGKILL);
  EXPECT_EQ(first.wait(5s), 128 + SIGKILL);
  auto second = worker({"--sleep=0.1", "--concurrency=4", "--name=second"}, env(1));
  EXPECT_TRUE(eventually(
      [&] {
        return count("SELECT count(*) FROM jobs") == 0 &&
               count("SELECT count(*) FROM job_batches WHERE finished_at IS NOT NULL") == 1;
      },
      60s));
  second.signal(SIGTERM);
  EXPECT_EQ(second.wait(10s), 0);
  auto b = batch_find(*conn_, tenant_, batch.batch_id);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->total_jobs, 45);
  EXPECT_EQ(b->pending_jobs, 0);
  EXPECT_EQ(b->failed_jobs, 0);
  EXPECT_FALSE(b->cancelled_at_us);
  // Every write exactly once (Guarantee 3), the chain in order, then and finally once each.
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark LIKE 'w%'"), 30);
  EXPECT_EQ(count("SELECT count(DISTINCT mark) FROM diag_marks WHERE mark LIKE 'w%'"), 30);
  std::vector<std::string> chain;
  db_->owner()->query_each("SELECT mark FROM diag_marks WHERE mark LIKE 'c%' ORDER BY id", {},
                           [&](const db::Row& r) { chain.push_back(r.get<std::string>(0)); });
  EXPECT_EQ(chain, (std::vector<std::string>{"c0", "c1", "c2", "c3", "c4"}));
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'then'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'finally'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

// PostgreSQL: a worker with --concurrency above 1 claims on two loops (thread "unity claim 2");
// SQLite keeps one. Pausing stops both, every job runs once, --max-jobs and --stop-when-empty hold.
TEST_P(WorkerProcessTest, ClaimLoopsPauseTogetherRunEachJobOnceAndStopExactly) {
  const bool two = conn_->capabilities().concurrent_writers;
  const int64_t other = db::create_tenant(*conn_, "Globex").id;
  auto w = worker({"--sleep=0.1", "--concurrency=8", "--name=both"}, env());
  dispatch("diag.noop", "{}");  // done: the worker runs, its signal handlers in place
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 20s));
  const auto names = thread_names(w.pid());
  EXPECT_EQ(std::count(names.begin(), names.end(), "unity claim 2"), two ? 1 : 0);
  w.signal(SIGUSR2);
  std::this_thread::sleep_for(200ms);
  Dispatcher d(db_->config(), registry_);
  for (int64_t t : {tenant_, other}) {
    std::vector<std::string> payloads;
    for (int i = 0; i < 300; ++i) {
      payloads.push_back(R"({"mark":")" + std::to_string(t) + "-" + std::to_string(i) + R"("})");
    }
    d.dispatch_many(*conn_, t, "diag.write", payloads);
  }
  std::this_thread::sleep_for(700ms);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE reserved_at IS NULL"), 600) << "paused";
  w.signal(SIGCONT);
  EXPECT_TRUE(eventually([&] { return count("SELECT count(*) FROM jobs") == 0; }, 60s));
  w.signal(SIGTERM);
  EXPECT_EQ(w.wait(10s), 0);
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks"), 600);
  EXPECT_EQ(count("SELECT count(DISTINCT mark) FROM diag_marks"), 600);

  for (int64_t t : {tenant_, other}) {
    d.dispatch_many(*conn_, t, "diag.noop", std::vector<std::string>(100, "{}"));
  }
  auto limited = worker({"--concurrency=8", "--max-jobs=37", "--name=limited"}, env());
  EXPECT_EQ(limited.wait(60s), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 200 - 37);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE reserved_at IS NOT NULL OR attempts <> 0"), 0);
  auto drain = worker({"--concurrency=8", "--stop-when-empty", "--name=drain"}, env());
  EXPECT_EQ(drain.wait(60s), 0);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, WorkerProcessTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
