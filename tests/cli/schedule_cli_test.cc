// `unity schedule:run`, `schedule:list` and `schedule:work` end to end on both drivers: the daily
// scans run once per slot (also with two schedulers at once), their events fire, the pruning
// tasks prune, bad input is one line on stderr, schedule:work stops cleanly on SIGTERM, and a
// tenant's schedule of an encrypted job type keeps its payload sealed.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/secretbox.h"
#include "support/cli.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::cli {
namespace {

using namespace std::chrono_literals;
using testing::CliRun;
using testing::Driver;
using testing::eventually;
using testing::Process;
using testing::TestDatabase;

class ScheduleCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
    ASSERT_EQ(unity("tenant:create Acme").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email k@acme.test --name Kim --role inventory").exit,
              0);
  }
  CliRun unity(const std::string& args) {
    return testing::run_cli(db_->dir(), db_->env_for_cli(), args);
  }
  nlohmann::json ok(const std::string& args) {
    CliRun r = unity(args + " --json");
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  // The environment of a `unity` process pointed at this test's database.
  std::map<std::string, std::string> env() const { return db_->cli_env(); }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::unique_ptr<TestDatabase> db_;
};

// The task named `task` in a schedule:run --json array, or null.
nlohmann::json run_of(const nlohmann::json& runs, const std::string& task) {
  for (const auto& r : runs) {
    if (r["task"] == task) return r;
  }
  return nullptr;
}

TEST_P(ScheduleCliTest, ScheduleRunRunsTheDailyScansOncePerSlot) {
  ok("product:create --tenant 1 --data='{\"sku\":\"M\",\"name\":\"Milk\",\"price\":\"1\"}'");
  ok("stock:receive --tenant 1 --data='{\"sku\":\"M\",\"quantity\":\"3\",\"batch\":\"L1\","
     "\"expiry_date\":\"2026-03-20\"}'");
  auto first = ok("schedule:run --at=2026-03-01T00:00:30Z");
  auto expiry = run_of(first, "stock:check-expiry");
  ASSERT_TRUE(expiry.is_object()) << first.dump();
  EXPECT_EQ(expiry["slot"], "2026-03-01T00:00:00.000000Z");
  EXPECT_EQ(expiry["status"], "ok");
  EXPECT_TRUE(expiry["error"].is_null());
  // The maintenance tasks catch up on their latest slot (yesterday's), once.
  EXPECT_EQ(run_of(first, "notifications:prune")["slot"], "2026-02-28T01:00:00.000000Z");
  EXPECT_EQ(run_of(first, "queue:prune-failed")["slot"], "2026-02-28T02:00:00.000000Z");

  // The scan raised StockExpiring for the batch (19 days left: info).
  auto events = ok("events:list --tenant 1 --type StockExpiring");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["name"], "StockExpiring");
  EXPECT_EQ(count("SELECT count(*) FROM stock_expiry_alerts WHERE severity = 'info'"), 1);

  // The same time again, or later in the same slot: nothing runs.
  EXPECT_EQ(ok("schedule:run --at=2026-03-01T00:00:30Z").size(), 0u);
  EXPECT_EQ(ok("schedule:run --at=2026-03-01T00:59:00Z").size(), 0u);
  CliRun human = unity("schedule:run --at=2026-03-01T00:00:30Z");
  EXPECT_EQ(human.exit, 0) << human.err;
  EXPECT_NE(human.out.find("Nothing due"), std::string::npos) << human.out;
  EXPECT_EQ(ok("events:list --tenant 1 --type StockExpiring").size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM schedule_runs WHERE task = 'stock:check-expiry'"), 1);

  // Twelve days later (7 days left): the next slot runs and raises the critical alert.
  auto later = ok("schedule:run --at=2026-03-13T00:01:00Z");
  EXPECT_EQ(run_of(later, "stock:check-expiry")["slot"], "2026-03-13T00:00:00.000000Z");
  EXPECT_EQ(ok("events:list --tenant 1 --type StockExpiring").size(), 2u);
  CliRun table = unity("schedule:run --at=2026-03-14T00:00:00Z");
  EXPECT_EQ(table.exit, 0) << table.err;
  EXPECT_NE(table.out.find("stock:check-expiry"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("2026-03-14T00:00:00"), std::string::npos) << table.out;
}

TEST_P(ScheduleCliTest, ScheduleListShowsFrequencyNextDueAndLastRun) {
  ok("schedule:run --at=2026-03-01T00:00:30Z");
  auto list = ok("schedule:list --at=2026-03-01T00:00:30Z");
  std::map<std::string, nlohmann::json> by;
  for (const auto& t : list) by[t["task"]] = t;
  ASSERT_TRUE(by.count("stock:check-expiry")) << list.dump();
  EXPECT_EQ(by["stock:check-expiry"]["frequency"], "daily at 00:00 UTC");
  EXPECT_EQ(by["stock:check-expiry"]["next_due"], "2026-03-02T00:00:00.000000Z");
  EXPECT_EQ(by["stock:check-expiry"]["last_slot"], "2026-03-01T00:00:00.000000Z");
  EXPECT_EQ(by["stock:check-expiry"]["last_status"], "ok");
  EXPECT_EQ(by["notifications:prune"]["frequency"], "daily at 01:00 UTC");
  EXPECT_EQ(by["notifications:prune"]["next_due"], "2026-03-01T01:00:00.000000Z");
  EXPECT_EQ(by["queue:prune-failed"]["frequency"], "daily at 02:00 UTC");
  CliRun human = unity("schedule:list");
  EXPECT_EQ(human.exit, 0) << human.err;
  EXPECT_NE(human.out.find("next_due"), std::string::npos) << human.out;
}

TEST_P(ScheduleCliTest, PruningTasksDeleteOldReadNotificationsAndOldFailedJobs) {
  auto owner = db_->owner();
  for (const char* read_at : {"2026-01-01T00:00:00Z", "2026-03-05T00:00:00Z"}) {
    owner->execute(
        "INSERT INTO notifications (id, tenant_id, type, notifiable_type, notifiable_id, data, "
        "read_at, created_at, updated_at) VALUES ($1, 1, 'AnnouncementNotification', 'user', 1, "
        "'{}', $2, $2, $2)",
        {std::string(read_at) == "2026-01-01T00:00:00Z" ? "0190d8b4-0000-7000-8000-000000000001"
                                                        : "0190d8b4-0000-7000-8000-000000000002",
         std::string(read_at)});
  }
  for (const char* failed_at : {"2026-02-01T00:00:00Z", "2026-03-09T00:00:00Z"}) {
    owner->execute(
        "INSERT INTO failed_jobs (uuid, tenant_id, connection, queue, type, payload, attempts, "
        "exception, failed_at) VALUES ($1, 1, 'database', 'default', 'diag.noop', '{}', 3, 'x', "
        "$2)",
        {std::string("u-") + failed_at, std::string(failed_at)});
  }
  auto runs = ok("schedule:run --at=2026-03-10T02:00:30Z");
  EXPECT_EQ(run_of(runs, "notifications:prune")["status"], "ok") << runs.dump();
  EXPECT_EQ(run_of(runs, "queue:prune-failed")["status"], "ok") << runs.dump();
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs WHERE failed_at > '2026-03-01'"), 1);
}

TEST_P(ScheduleCliTest, BadAtIsOneLineOnStderrAndRunsNothing) {
  for (const char* at : {"yesterday", "2026-02-30T00:00:00Z", "2026-03-01T25:00"}) {
    CliRun r = unity(std::string("schedule:run --at=") + at);
    EXPECT_EQ(r.exit, 2) << at << ": " << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << at << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  EXPECT_EQ(count("SELECT count(*) FROM schedule_runs"), 0);
}

TEST_P(ScheduleCliTest, TwoScheduleWorkersRunEachSlotOnceAndExitZeroOnSigterm) {
  const int64_t tasks = static_cast<int64_t>(ok("schedule:list").size());
  ASSERT_GE(tasks, 3);
  const std::vector<std::string> argv = {testing::unity_binary(), "schedule:work", "--json"};
  auto a = Process::start(argv, env(), db_->dir(), db_->dir() + "/a.out");
  auto b = Process::start(argv, env(), db_->dir(), db_->dir() + "/b.out");
  for (const char* log : {"/a.out", "/b.out"}) {  // signals are handled from here on
    ASSERT_TRUE(eventually(
        [&] { return read(db_->dir() + log).find("\"started\"") != std::string::npos; }, 30s))
        << read(db_->dir() + log);
  }
  // At start each runs the latest slot of every task (the catch-up round): once each.
  ASSERT_TRUE(eventually(
      [&] {
        return count("SELECT count(*) FROM schedule_runs WHERE finished_at IS NOT NULL") >= tasks;
      },
      30s))
      << read(db_->dir() + "/a.out") << read(db_->dir() + "/b.out");
  a.signal(SIGTERM);
  b.signal(SIGINT);
  EXPECT_EQ(a.wait(20s), 0) << read(db_->dir() + "/a.out");
  EXPECT_EQ(b.wait(20s), 0) << read(db_->dir() + "/b.out");
  // Every run was reported by exactly one of them, and each is a row.
  int reported = 0;
  for (const char* log : {"/a.out", "/b.out"}) {
    std::istringstream lines(read(db_->dir() + log));
    std::string stopped;
    for (std::string line; std::getline(lines, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      ASSERT_FALSE(j.is_discarded()) << line;
      if (j.contains("task")) {
        ++reported;
        EXPECT_EQ(j["status"], "ok") << line;
      }
      if (j.contains("exit")) stopped = j["exit"];
    }
    EXPECT_EQ(stopped, "stopped") << log;
  }
  EXPECT_EQ(reported, count("SELECT count(*) FROM schedule_runs"));
  EXPECT_EQ(count("SELECT count(*) FROM schedule_runs WHERE task = 'stock:check-expiry'"), 1);
}

TEST_P(ScheduleCliTest, TenantSchedulesAreAddedListedRunAndRemoved) {
  ASSERT_EQ(unity("tenant:create Other").exit, 0);
  auto added = ok(
      "schedule:add nightly --tenant=1 --cron='30 2 * * *' --job=diag.noop --timezone=Europe/Paris"
      " --data='{\"k\":\"v\"}' --queue=low");
  EXPECT_EQ(added["name"], "nightly");
  EXPECT_EQ(added["tenant_id"], 1);
  EXPECT_EQ(added["job"], "diag.noop");
  EXPECT_EQ(added["timezone"], "Europe/Paris");
  EXPECT_TRUE(added["last_run_at"].is_null());
  ok("schedule:add hourly --tenant=2 --cron=@hourly --job=diag.noop");
  // Built-in tasks with a null tenant, then the tenant's own; never another tenant's.
  auto mine = ok("schedule:list --tenant=1");
  std::map<std::string, nlohmann::json> by;
  for (const auto& s : mine) by[s["name"]] = s;
  ASSERT_TRUE(by.count("nightly")) << mine.dump();
  EXPECT_FALSE(by.count("hourly")) << mine.dump();
  EXPECT_TRUE(by["stock:check-expiry"]["tenant_id"].is_null());
  EXPECT_EQ(by["stock:check-expiry"]["cron"], "0 0 * * *");
  EXPECT_EQ(by["nightly"]["cron"], "30 2 * * *");
  EXPECT_EQ(by["nightly"]["queue"], "low");
  EXPECT_EQ(by["nightly"]["data"]["k"], "v");
  auto all = ok("schedule:list");
  EXPECT_EQ(all.size(), mine.size() + 1) << all.dump();
  // 02:30 in Paris (CET) is 01:30 UTC.
  const std::string next = by["nightly"]["next_run_at"];
  EXPECT_EQ(next.substr(11), "01:30:00.000000Z");
  auto runs = ok("schedule:run --at=" + next);
  EXPECT_TRUE(run_of(runs, "nightly (tenant 1)").is_object()) << runs.dump();
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE tenant_id = 1 AND queue = 'low'"), 1);
  EXPECT_TRUE(run_of(ok("schedule:run --at=" + next), "nightly (tenant 1)").is_null());
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE tenant_id = 1"), 1);
  // Another tenant's schedule is not found; the owner removes it.
  CliRun other = unity("schedule:remove nightly --tenant=2");
  EXPECT_EQ(other.exit, 3) << other.err;
  EXPECT_EQ(testing::line_count(other.err), 1u) << other.err;
  ok("schedule:remove nightly --tenant=1");
  EXPECT_EQ(unity("schedule:remove nightly --tenant=1").exit, 3);
  EXPECT_EQ(count("SELECT count(*) FROM schedules"), 1);
}

TEST_P(ScheduleCliTest, AnEncryptedJobsScheduleIsStoredAndListedSealedAndItsJobGetsTheData) {
  const std::string key = " APP_KEY=" + secretbox::encode_key(secretbox::new_key());
  const auto with = [&](const std::string& env_key, const std::string& args) {
    return testing::run_cli(db_->dir(), db_->env_for_cli() + env_key, args);
  };
  const std::string add =
      "schedule:add secret --tenant=1 --cron='*/5 * * * *' --job=diag.secret"
      " --data='{\"mark\":\"clear-cli-mark\"}'";
  CliRun no_key = unity(add);
  EXPECT_EQ(no_key.exit, 5) << no_key.err;
  EXPECT_EQ(testing::line_count(no_key.err), 1u) << no_key.err;
  EXPECT_EQ(count("SELECT count(*) FROM schedules"), 0);
  CliRun added = with(key, add + " --json");
  ASSERT_EQ(added.exit, 0) << added.err;
  EXPECT_EQ(nlohmann::json::parse(added.out)["sealed"], true);
  EXPECT_EQ(added.out.find("clear-cli-mark"), std::string::npos) << added.out;
  const std::string stored =
      db_->owner()->query_one("SELECT payload FROM schedules")->get<std::string>(0);
  EXPECT_TRUE(stored.starts_with(R"({"sealed":"v1:)")) << stored;
  EXPECT_EQ(stored.find("clear-cli-mark"), std::string::npos) << stored;

  // schedule:list shows it sealed, never the clear data (it needs no key).
  CliRun list = unity("schedule:list --tenant=1 --json");
  ASSERT_EQ(list.exit, 0) << list.err;
  EXPECT_EQ(list.out.find("clear-cli-mark"), std::string::npos) << list.out;
  nlohmann::json listed;
  for (const auto& s : nlohmann::json::parse(list.out)) {
    if (s["name"] == "secret") listed = s;
  }
  EXPECT_EQ(listed["sealed"], true) << list.out;
  const std::string table = unity("schedule:list --tenant=1").out;
  EXPECT_NE(table.find("diag.secret (sealed)"), std::string::npos) << table;
  EXPECT_EQ(table.find("clear-cli-mark"), std::string::npos) << table;

  // A wrong key when it fires: one clear line, no job, the row as it was.
  const std::string next = listed["next_run_at"];
  CliRun wrong =
      with(" APP_KEY=" + secretbox::encode_key(secretbox::new_key()), "schedule:run --at=" + next);
  EXPECT_EQ(wrong.exit, 1) << wrong.err;
  EXPECT_EQ(testing::line_count(wrong.err), 1u) << wrong.err;
  EXPECT_NE(wrong.err.find("cannot decrypt the payload of diag.secret"), std::string::npos)
      << wrong.err;
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(db_->owner()->query_one("SELECT payload FROM schedules")->get<std::string>(0), stored);

  // With the key, the next slot dispatches a sealed job that runs with the schedule's data.
  const std::string later = format_iso8601(parse_iso8601(next) + std::chrono::minutes(5));
  CliRun ran = with(key, "schedule:run --at=" + later);
  ASSERT_EQ(ran.exit, 0) << ran.err;
  const std::string job = db_->owner()
                              ->query_one("SELECT payload FROM jobs WHERE type = 'diag.secret'")
                              ->get<std::string>(0);
  EXPECT_TRUE(job.starts_with(R"({"sealed":"v1:)")) << job;
  EXPECT_EQ(job.find("clear-cli-mark"), std::string::npos) << job;
  CliRun work = with(key, "queue:work --stop-when-empty --backoff 0");
  ASSERT_EQ(work.exit, 0) << work.err;
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'clear-cli-mark'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(ScheduleCliTest, BadSchedulesAreOneLineOnStderrAndWriteNothing) {
  const std::map<std::string, int> cases = {
      {"schedule:add x --tenant=1 --cron='60 * * * *' --job=diag.noop", 2},
      {"schedule:add x --tenant=1 --cron='* * * *' --job=diag.noop", 2},
      {"schedule:add x --tenant=1 --cron='0 0 30 2 *' --job=diag.noop", 2},
      {"schedule:add x --tenant=1 --cron='* * * * *' --job=diag.noop --timezone=Mars/Base", 2},
      {"schedule:add x --tenant=1 --cron='* * * * *' --job=no.such.job", 2},
      {"schedule:add x --tenant=1 --cron='* * * * *' --job=diag.noop --data='[1]'", 2},
      {"schedule:add x --tenant=99 --cron='* * * * *' --job=diag.noop", 3},
      {"schedule:remove nothing --tenant=1", 3},
  };
  for (const auto& [args, code] : cases) {
    CliRun r = unity(args);
    EXPECT_EQ(r.exit, code) << args << ": " << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << args << ": " << r.err;
  }
  EXPECT_EQ(count("SELECT count(*) FROM schedules"), 0);
  ok("schedule:add x --tenant=1 --cron='* * * * *' --job=diag.noop");
  CliRun twice = unity("schedule:add x --tenant=1 --cron='* * * * *' --job=diag.noop");
  EXPECT_EQ(twice.exit, 4) << twice.err;
  EXPECT_EQ(unity("schedule:add --help").exit, 0);
}

TEST_P(ScheduleCliTest, QueueJobsListsKeptJobsUntilTheSchedulerPrunesThem) {
  ASSERT_EQ(unity("tenant:create Other").exit, 0);
  const std::string keep = db_->env_for_cli() + " QUEUE_KEEP_COMPLETED_MINUTES=10";
  auto with_keep = [&](const std::string& args) {
    return testing::run_cli(db_->dir(), keep, args + " --json");
  };
  ok("queue:dispatch diag.noop --tenant=1");
  ok("queue:dispatch diag.noop --tenant=2");
  ASSERT_EQ(with_keep("queue:work --stop-when-empty").exit, 0);
  ok("queue:dispatch diag.sleep --tenant=1 --delay=3600 --data='{\"ms\":1}'");
  auto jobs = ok("queue:jobs --tenant=1");
  ASSERT_EQ(jobs.size(), 2u) << jobs.dump();
  EXPECT_EQ(jobs[0]["type"], "diag.sleep");
  EXPECT_EQ(jobs[0]["state"], "delayed");
  EXPECT_TRUE(jobs[0]["finished_at"].is_null());
  EXPECT_EQ(jobs[1]["type"], "diag.noop");
  EXPECT_EQ(jobs[1]["state"], "completed");
  EXPECT_EQ(jobs[1]["attempts"], 1);
  EXPECT_TRUE(jobs[1]["finished_at"].is_string());
  for (const char* field : {"id", "uuid", "queue", "priority", "batch_id", "created_at"}) {
    EXPECT_TRUE(jobs[1].contains(field)) << field;
  }
  EXPECT_EQ(ok("queue:jobs --tenant=1 --state=completed").size(), 1u);
  EXPECT_EQ(ok("queue:jobs --tenant=2").size(), 1u);
  CliRun bad = unity("queue:jobs --tenant=1 --state=done");
  EXPECT_EQ(bad.exit, 2) << bad.err;
  EXPECT_EQ(testing::line_count(bad.err), 1u) << bad.err;
  EXPECT_EQ(unity("queue:jobs --tenant=99").exit, 3);
  // The scheduler prunes what finished more than 10 minutes before its round.
  const std::string finished = jobs[1]["finished_at"];
  const std::string in_9 = format_iso8601(parse_iso8601(finished) + std::chrono::minutes(9));
  const std::string in_11 = format_iso8601(parse_iso8601(finished) + std::chrono::minutes(11));
  ASSERT_EQ(with_keep("schedule:run --at=" + in_9).exit, 0);
  EXPECT_EQ(ok("queue:jobs --tenant=1 --state=completed").size(), 1u);
  ASSERT_EQ(with_keep("schedule:run --at=" + in_11).exit, 0);
  EXPECT_EQ(ok("queue:jobs --tenant=1 --state=completed").size(), 0u);
  EXPECT_EQ(count("SELECT count(*) FROM finished_jobs"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ScheduleCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::cli
