// SendBulkNotifications and the rate limits on jobs people start, on both drivers: batches through
// a real worker, skipped recipients (unknown, another tenant's) logged and counted, each type's
// data, redelivery and resumption without duplicates, the per-tenant and per-user limits (refused
// with nothing queued, reset after the window) and the notify:bulk / notify:bulk:show commands.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "events/event_bus.h"
#include "jobs/bulk_notify.h"
#include "jobs/job_log.h"
#include "jobs/jobs.h"
#include "jobs/rate_limit.h"
#include "notify/bulk.h"
#include "queue/dispatch.h"
#include "queue/worker.h"
#include "support/cli.h"
#include "support/test_db.h"

namespace unity::jobs {
namespace {

using testing::CliRun;
using testing::Driver;
using testing::TestDatabase;

class BulkNotifyTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    dispatcher_ = std::make_unique<queue::Dispatcher>(db_->config(), jobs_);
    bus_ = std::make_unique<events::EventBus>(jobs_, *dispatcher_);
    wire_jobs(jobs_, *bus_, clock_);
    a_ = db::create_tenant(*conn_, "Acme").id;
    b_ = db::create_tenant(*conn_, "Globex").id;
    {
      db::TenantScope scope(*conn_, b_);
      other_ = db::create_user(*conn_, "x@globex.test", "Xavier", "sales").id;
    }
    conn_->set_tenant(a_);
    const char* roles[] = {"admin", "sales", "billing", "inventory", "procurement", "manager"};
    for (int i = 0; i < 7; ++i) {
      users_.push_back(db::create_user(*conn_, "u" + std::to_string(i) + "@acme.test",
                                       "User " + std::to_string(i), roles[i % 6])
                           .id);
    }
  }

  void drain() {
    queue::WorkerOptions o;
    o.stop_when_empty = true;
    o.backoff = queue::Backoff::parse("0");
    o.job_log = [this](const std::string& line) {
      std::lock_guard lock(log_mu_);
      log_.push_back(nlohmann::json::parse(line));
    };
    queue::Worker(db::connection_factory(db_->config()), db_->config(), jobs_, o, nullptr).run();
  }
  int64_t count(const std::string& sql, const db::Params& params = {}) {
    return db_->owner()->query_int(sql, params);
  }
  int64_t create(const std::string& kind, const nlohmann::json& data,
                 std::optional<std::vector<int64_t>> users) {
    return create_bulk_notification(*conn_, {kind, data, std::move(users), users_[0]}, clock_);
  }
  void dispatch(int64_t bulk_id, int batch_size) {
    dispatcher_->dispatch(*conn_, a_, kSendBulkNotifications,
                          nlohmann::json{{"bulk_id", bulk_id}, {"batch_size", batch_size}}.dump());
  }
  // How many notifications each user of `tenant` holds.
  std::map<int64_t, int64_t> inbox_counts() {
    std::map<int64_t, int64_t> out;
    db_->owner()->query_each(
        "SELECT notifiable_id, count(*) FROM notifications GROUP BY notifiable_id", {},
        [&](const db::Row& r) { out[r.get<int64_t>(0)] = r.get<int64_t>(1); });
    return out;
  }
  std::vector<nlohmann::json> steps(const std::string& name) {
    std::lock_guard lock(log_mu_);
    std::vector<nlohmann::json> out;
    for (const auto& l : log_) {
      if (l.value("step", "") == name) out.push_back(l);
    }
    return out;
  }

  ManualClock clock_{parse_iso8601("2026-03-01T10:00:00Z")};
  queue::JobRegistry jobs_;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  std::unique_ptr<events::EventBus> bus_;
  int64_t a_ = 0, b_ = 0, other_ = 0;
  std::vector<int64_t> users_;
  std::mutex log_mu_;
  std::vector<nlohmann::json> log_;
};

const nlohmann::json kData = {{"title", "Stocktake"}, {"message", "Friday 5pm"}};

TEST_P(BulkNotifyTest, DeliversInBatchesAndSkipsUnknownAndOtherTenantUsers) {
  std::vector<int64_t> to = users_;
  to.push_back(other_);
  to.push_back(999999);
  to.push_back(users_[2]);  // twice: delivered once
  const int64_t id = create("announcement", kData, to);
  dispatch(id, 3);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  const auto counts = inbox_counts();
  for (int64_t u : users_) EXPECT_EQ(counts.count(u) ? counts.at(u) : 0, 1) << u;
  EXPECT_FALSE(counts.count(other_));
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE tenant_id = $1", {b_}), 0);

  const auto s = load_bulk_notification(*conn_, id);
  EXPECT_EQ(s.status, "completed_with_errors");
  EXPECT_EQ(s.notification_type, "AnnouncementNotification");
  EXPECT_EQ(s.total, 9);
  EXPECT_EQ(s.sent, 7);
  EXPECT_EQ(s.skipped_count, 2);
  ASSERT_EQ(s.skipped.size(), 2u);
  std::set<int64_t> skipped_ids;
  for (const auto& sk : s.skipped) {
    skipped_ids.insert(sk.user_id);
    EXPECT_EQ(sk.reason, "not found in tenant " + std::to_string(a_));
  }
  EXPECT_EQ(skipped_ids, (std::set<int64_t>{other_, 999999}));
  // 9 recipients in batches of 3: three batches, and the skipped ones logged.
  EXPECT_EQ(steps("batch").size(), 3u);
  std::set<int64_t> logged;
  for (const auto& l : steps("skipped")) {
    for (const auto& r : l["recipients"]) logged.insert(r["user_id"].get<int64_t>());
  }
  EXPECT_EQ(logged, skipped_ids);
  ASSERT_EQ(steps("finished").size(), 1u);
  EXPECT_EQ(steps("finished")[0]["sent"], 7);
  EXPECT_EQ(to_json(s)["skipped_ids"].size(), 2u);
}

TEST_P(BulkNotifyTest, AllMeansEveryUserOfTheTenant) {
  const int64_t id = create("alert", kData, std::nullopt);
  dispatch(id, 2);
  drain();
  const auto s = load_bulk_notification(*conn_, id);
  EXPECT_EQ(s.status, "completed");
  EXPECT_EQ(s.total, 7);
  EXPECT_EQ(s.sent, 7);
  EXPECT_EQ(s.skipped_count, 0);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE tenant_id = $1", {a_}), 7);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE notifiable_id = $1", {other_}), 0);
  EXPECT_EQ(steps("batch").size(), 4u);
}

TEST_P(BulkNotifyTest, EachTypeCarriesItsData) {
  const int64_t ann = create("announcement", kData, std::vector<int64_t>{users_[0]});
  const int64_t rem = create("reminder",
                             {{"title", "Invoices"},
                              {"message", "Send them"},
                              {"remind_at", "2026-03-02T09:00:00+01:00"},
                              {"action_url", "/invoices"}},
                             std::vector<int64_t>{users_[1]});
  const int64_t alert =
      create("alert", {{"title", "Disk"}, {"message", "Full"}}, std::vector<int64_t>{users_[2]});
  const int64_t crit =
      create("alert", {{"title", "Down"}, {"message", "x"}, {"severity", "critical"}},
             std::vector<int64_t>{users_[3]});
  for (int64_t id : {ann, rem, alert, crit}) dispatch(id, 10);
  drain();
  auto data_of = [&](int64_t user) {
    auto row = db_->owner()->query_one(
        "SELECT type, data FROM notifications WHERE notifiable_id = $1", {user});
    EXPECT_TRUE(row.has_value());
    auto j = nlohmann::json::parse(row->get<std::string>(1));
    j["type"] = row->get<std::string>(0);
    return j;
  };
  auto a = data_of(users_[0]);
  EXPECT_EQ(a["type"], "AnnouncementNotification");
  EXPECT_EQ(a["title"], "Stocktake");
  EXPECT_EQ(a["message"], "Friday 5pm");
  EXPECT_EQ(a["severity"], "info");
  auto r = data_of(users_[1]);
  EXPECT_EQ(r["type"], "ReminderNotification");
  EXPECT_EQ(r["action_url"], "/invoices");
  EXPECT_EQ(r["metadata"]["remind_at"].get<std::string>().substr(0, 19), "2026-03-02T08:00:00");
  auto al = data_of(users_[2]);
  EXPECT_EQ(al["type"], "AlertNotification");
  EXPECT_EQ(al["severity"], "warning");
  EXPECT_EQ(data_of(users_[3])["severity"], "critical");
}

TEST_P(BulkNotifyTest, BadRequestsAreRefusedBeforeAnythingIsWritten) {
  auto code = [&](const std::string& kind, const nlohmann::json& data,
                  std::optional<std::vector<int64_t>> users) {
    try {
      create(kind, data, std::move(users));
    } catch (const Error& e) {
      return std::string(error_code_name(e.code())) + ": " + e.what();
    }
    return std::string("ok");
  };
  EXPECT_NE(code("memo", kData, std::nullopt).find("invalid_argument"), std::string::npos);
  EXPECT_NE(code("alert", {{"titel", "x"}, {"message", "y"}}, std::nullopt).find("titel"),
            std::string::npos);
  EXPECT_NE(code("alert", {{"message", "y"}}, std::nullopt).find("title"), std::string::npos);
  EXPECT_NE(code("alert", kData, std::vector<int64_t>{}).find("empty"), std::string::npos);
  EXPECT_NE(code("alert", kData, std::vector<int64_t>{0}).find("invalid_argument"),
            std::string::npos);
  EXPECT_EQ(count("SELECT count(*) FROM bulk_notifications"), 0);
}

TEST_P(BulkNotifyTest, RedeliveryAndResumptionNeverDuplicate) {
  const int64_t id = create("announcement", kData, users_);
  // A first attempt committed the batch of the first three users, then its worker died.
  {
    db::Transaction tx(*conn_);
    conn_->execute(
        "UPDATE bulk_notifications SET status = 'processing', total_recipients = 7,"
        " cursor_user_id = $2, sent_count = 3 WHERE id = $1",
        {id, users_[2]});
    const auto data = conn_->query_one("SELECT data FROM bulk_notifications WHERE id = $1", {id})
                          ->get<std::string>(0);
    notify::deliver_batch(*conn_, {users_[0], users_[1], users_[2]}, "AnnouncementNotification",
                          data, "2026-03-01T10:00:00.000000Z");
    tx.commit();
  }
  dispatch(id, 2);
  drain();
  // The same job delivered again after it finished: nothing more.
  dispatch(id, 2);
  drain();
  const auto counts = inbox_counts();
  for (int64_t u : users_) EXPECT_EQ(counts.count(u) ? counts.at(u) : 0, 1) << u;
  const auto s = load_bulk_notification(*conn_, id);
  EXPECT_EQ(s.status, "completed");
  EXPECT_EQ(s.sent, 7);
  EXPECT_EQ(steps("already_finished").size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(BulkNotifyTest, AJobWhoseRowIsGoneFailsWithoutRetries) {
  dispatch(424242, 10);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 0);
}

TEST_P(BulkNotifyTest, RateLimitsRefuseWithNothingQueuedAndResetAfterTheWindow) {
  const RateLimits limits{.per_tenant = 3, .per_user = 2, .window_s = 60};
  // Starts one job the way the command does; returns "" or the error.
  auto start = [&](int64_t tenant, std::optional<int64_t> user) -> std::string {
    try {
      db::TenantScope scope(*conn_, tenant);
      db::Transaction tx(*conn_);
      check_and_count(*conn_, limits, "notify:bulk", tenant, user, clock_);
      dispatcher_->dispatch(*conn_, tenant, "SendBulkNotifications", "{\"bulk_id\":1}");
      tx.commit();
      return "";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnavailable) << e.what();
      return e.what();
    }
  };
  const int64_t u0 = users_[0], u1 = users_[1];
  EXPECT_EQ(start(a_, u0), "");
  clock_.advance(std::chrono::seconds(20));
  EXPECT_EQ(start(a_, u0), "");
  const int64_t queued = count("SELECT count(*) FROM jobs");
  const std::string user_refusal = start(a_, u0);
  EXPECT_NE(user_refusal.find("user " + std::to_string(u0)), std::string::npos) << user_refusal;
  EXPECT_NE(user_refusal.find("RATE_LIMIT_JOBS_PER_USER=2"), std::string::npos);
  EXPECT_NE(user_refusal.find("retry in 40 s"), std::string::npos) << user_refusal;
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), queued);
  // The refusal counted nothing: the tenant has one slot left, for another user.
  EXPECT_EQ(start(a_, u1), "");
  const std::string tenant_refusal = start(a_, u1);
  EXPECT_NE(tenant_refusal.find("tenant " + std::to_string(a_)), std::string::npos);
  EXPECT_NE(tenant_refusal.find("RATE_LIMIT_JOBS_PER_TENANT=3"), std::string::npos);
  EXPECT_EQ(start(a_, std::nullopt).empty(), false);  // no user: still the tenant's limit
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), queued + 1);
  // Another tenant has its own budget.
  EXPECT_EQ(start(b_, other_), "");
  // The next window starts afresh, and the old windows' rows are gone.
  clock_.advance(std::chrono::seconds(40));
  EXPECT_EQ(start(a_, u0), "");
  EXPECT_EQ(start(a_, u0), "");
  EXPECT_NE(start(a_, u0), "");
  EXPECT_EQ(count("SELECT count(*) FROM rate_limits WHERE tenant_id = $1", {a_}), 2);
  // A limit of 0 is off.
  const RateLimits off{.per_tenant = 0, .per_user = 0, .window_s = 60};
  db::TenantScope scope(*conn_, a_);
  for (int i = 0; i < 5; ++i) check_and_count(*conn_, off, "import", a_, u0, clock_);
}

INSTANTIATE_TEST_SUITE_P(Drivers, BulkNotifyTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

TEST(RateLimitConfig, DefaultsAndValidation) {
  const RateLimits d = RateLimits::from_config(Config::from_vars({}));
  EXPECT_EQ(d.per_tenant, 60);
  EXPECT_EQ(d.per_user, 20);
  EXPECT_EQ(d.window_s, 60);
  Config c = Config::from_vars({});
  c.raw = {{"RATE_LIMIT_JOBS_PER_TENANT", "100"},
           {"RATE_LIMIT_JOBS_PER_USER", "0"},
           {"RATE_LIMIT_WINDOW_S", "3600"}};
  const RateLimits r = RateLimits::from_config(c);
  EXPECT_EQ(r.per_tenant, 100);
  EXPECT_EQ(r.per_user, 0);
  EXPECT_EQ(r.window_s, 3600);
  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"RATE_LIMIT_JOBS_PER_TENANT", "many"},
                                                        {"RATE_LIMIT_JOBS_PER_USER", "-1"},
                                                        {"RATE_LIMIT_WINDOW_S", "0"},
                                                        {"RATE_LIMIT_WINDOW_S", "60s"}}) {
    c.raw = {{name, value}};
    try {
      RateLimits::from_config(c);
      ADD_FAILURE() << name << "=" << value;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

class BulkCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
    ASSERT_EQ(unity("tenant:create Acme").exit, 0);
    ASSERT_EQ(unity("tenant:create Globex").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email a@acme.test --name Ann --role admin").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email s@acme.test --name Sid --role sales").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 2 --email g@globex.test --name Gus --role sales").exit,
              0);
  }
  // A day's window: with the default minute, a test that took long enough on a busy machine
  // crossed a window's end between its calls, and the call meant to be refused ran.
  CliRun unity(const std::string& args, const std::string& env = "QUEUE_CONNECTION=sync") {
    return testing::run_cli(
        db_->dir(),
        db_->env_for_cli() + " RATE_LIMIT_JOBS_PER_USER=2 RATE_LIMIT_WINDOW_S=86400 " + env, args);
  }
  nlohmann::json ok(const std::string& args, const std::string& env = "QUEUE_CONNECTION=sync") {
    CliRun r = unity(args + " --json", env);
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  int refused(const std::string& args) {
    CliRun r = unity(args);
    EXPECT_EQ(testing::line_count(r.err), 1u) << args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    last_err_ = r.err;
    return r.exit;
  }
  std::unique_ptr<TestDatabase> db_;
  std::string last_err_;
};

const char* kCliData = " --data='{\"title\":\"Hi\",\"message\":\"Hello\"}'";

TEST_P(BulkCliTest, NotifyBulkHasTheContractShapesAndIsRateLimited) {
  auto out =
      ok(std::string("notify:bulk --tenant 1 --user 1 --users=1,2,3,99 --type=announcement") +
         kCliData);
  ASSERT_TRUE(out.contains("job_id"));
  ASSERT_TRUE(out["bulk_id"].is_number_integer());
  EXPECT_EQ(out["status"], "completed_with_errors");
  EXPECT_EQ(out["sent"], 2);
  EXPECT_EQ(out["skipped"], 2);
  EXPECT_EQ(out["skipped_ids"].size(), 2u);
  auto shown = ok("notify:bulk:show " + out["bulk_id"].dump() + " --tenant 1");
  for (const char* f :
       {"bulk_id", "status", "notification_type", "total", "sent", "skipped", "skipped_ids"}) {
    EXPECT_TRUE(shown.contains(f)) << f;
  }
  EXPECT_EQ(shown["sent"], 2);
  auto list = ok("notifications:list --tenant 1 --user 2");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["type"], "AnnouncementNotification");

  // Queued (database driver): the job id and the pending tracking row.
  auto queued =
      ok(std::string("notify:bulk --tenant 1 --user 1 --users=all --type=alert") + kCliData,
         "QUEUE_CONNECTION=database");
  EXPECT_GT(queued["job_id"].get<int64_t>(), 0);
  EXPECT_EQ(ok("notify:bulk:show " + queued["bulk_id"].dump() + " --tenant 1")["status"],
            "pending");

  // The user's third job in the window is refused: one line, exit 7 (unavailable), nothing
  // queued or recorded.
  EXPECT_EQ(refused(std::string("notify:bulk --tenant 1 --user 1 --users=all --type=reminder") +
                    kCliData),
            7);
  EXPECT_NE(last_err_.find("RATE_LIMIT_JOBS_PER_USER=2"), std::string::npos) << last_err_;
  EXPECT_NE(last_err_.find("retry in"), std::string::npos) << last_err_;
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM bulk_notifications"), 2);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM jobs"), 1);
  // Another user of the tenant still may.
  ok(std::string("notify:bulk --tenant 1 --user 2 --users=2 --type=reminder") + kCliData);
}

TEST_P(BulkCliTest, BadInputIsOneLineAndNonZero) {
  EXPECT_EQ(
      refused(std::string("notify:bulk --tenant 1 --user 1 --users=1,x --type=alert") + kCliData),
      2);
  EXPECT_EQ(
      refused(std::string("notify:bulk --tenant 1 --user 1 --users=1 --type=memo") + kCliData), 2);
  EXPECT_EQ(
      refused("notify:bulk --tenant 1 --user 1 --users=1 --type=alert --data='{\"title\":\"x\"}'"),
      2);
  EXPECT_EQ(
      refused(std::string("notify:bulk --tenant 1 --user 3 --users=1 --type=alert") + kCliData),
      3);  // user 3 is Globex's
  EXPECT_EQ(refused("notify:bulk:show 1 --tenant 1"), 3);
  const CliRun bad_env =
      unity(std::string("notify:bulk --tenant 1 --users=1 --type=alert") + kCliData,
            "QUEUE_CONNECTION=sync RATE_LIMIT_WINDOW_S=soon");
  EXPECT_EQ(bad_env.exit, 2);
  EXPECT_NE(bad_env.err.find("RATE_LIMIT_WINDOW_S"), std::string::npos) << bad_env.err;
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM bulk_notifications"), 0);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM notifications"), 0);
}

// Regression: `notify:bulk --data -` with a document 100,000 levels deep crashed the command.
TEST_P(BulkCliTest, DeeplyNestedDataIsRefusedWithTheLimitInsteadOfCrashing) {
  std::string deep = R"({"title":"x","message":"y","metadata":)";
  for (int i = 0; i < 100000; ++i) deep += R"({"a":)";
  deep += "1" + std::string(100001, '}');
  const CliRun r =
      testing::run_cli(db_->dir(), db_->env_for_cli() + " QUEUE_CONNECTION=sync",
                       "notify:bulk --tenant 1 --user 1 --users=1 --type=alert --data -", "", deep);
  EXPECT_EQ(r.exit, 2) << r.err;
  EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("--data is nested too deeply: more than 128 levels"), std::string::npos)
      << r.err;
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM bulk_notifications"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, BulkCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::jobs
