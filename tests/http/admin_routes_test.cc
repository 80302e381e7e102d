// The tenant's audit trail (GET /api/v1/events) and its own queue (GET /queue/stats,
// GET /queue/failed, POST /queue/failed/{id}/retry, DELETE /queue/failed/{id}) end to end, on
// both drivers: the real binary on loopback, the CLI twins reading the same rows, real worker
// processes failing real jobs.
#include "serve_fixture.h"

namespace unity::testing {
namespace {

class AdminRoutesTest : public ServeFixture {
 protected:
  std::string a() const { return std::to_string(tenant_a_); }
  std::string b() const { return std::to_string(tenant_b_); }

  // Dispatches `n` diag.fail jobs for `tenant` with `data` and lets a real worker fail them for
  // good (one try each).
  void fail_jobs(int64_t tenant, int n, const std::string& data = R"({"times":9})") {
    for (int i = 0; i < n; ++i) {
      auto r = cli("queue:dispatch diag.fail --tenant=" + std::to_string(tenant) + " --data='" +
                   data + "' --json");
      ASSERT_EQ(r.exit, 0) << r.err;
    }
    auto w = cli("queue:work --stop-when-empty --tries=1 --sleep=0.1");
    ASSERT_EQ(w.exit, 0) << w.err;
  }
  int64_t failed_of(int64_t tenant) {
    return db_->owner()->query_int("SELECT count(*) FROM failed_jobs WHERE tenant_id = $1",
                                   {tenant});
  }
  // A failed job of `tenant` (id, uuid).
  std::pair<std::string, std::string> a_failure_of(int64_t tenant) {
    auto row = db_->owner()->query_one(
        "SELECT id, uuid FROM failed_jobs WHERE tenant_id = $1 ORDER BY id", {tenant});
    return {std::to_string(row->get<int64_t>(0)), row->get<std::string>(1)};
  }
  void create_products(const std::string& token, int n) {
    for (int i = 1; i <= n; ++i) {
      json p = {{"sku", "P-" + std::to_string(i)}, {"name", "P"}, {"price", "1.00"}};
      ASSERT_EQ(call("POST", "/api/v1/products", token, p.dump()).first, 201);
    }
  }
};

TEST_P(AdminRoutesTest, EventsPageWithACursorAndAreTheRowsOfEventsList) {
  start_server();
  create_products(token_a_, 3);
  ASSERT_EQ(call("PATCH", "/api/v1/products/P-2", token_a_, R"({"price":"2"})").first, 200);
  create_products(token_b_, 1);

  json all = json::array();
  std::string path = "/api/v1/events?limit=3";
  for (int page = 0; page < 5; ++page) {
    auto [st, body] = call("GET", path, token_a_);
    ASSERT_EQ(st, 200) << body;
    EXPECT_LE(body["data"].size(), 3u);
    for (const auto& e : body["data"]) all.push_back(e);
    if (body["next_cursor"].is_null()) break;
    path = "/api/v1/events?limit=3&cursor=" + body["next_cursor"].get<std::string>();
  }
  ASSERT_EQ(all.size(), 4u) << all;
  EXPECT_EQ(all, cli_json("events:list --tenant=" + a()));
  EXPECT_EQ(all[3]["name"], "ProductUpdated");
  EXPECT_EQ(all[0]["user_id"], admin_a_);

  // The filters are the CLI's.
  auto [st_t, by_type] = call("GET", "/api/v1/events?type=ProductUpdated", token_a_);
  EXPECT_EQ(by_type["data"], cli_json("events:list --tenant=" + a() + " --type=ProductUpdated"));
  EXPECT_EQ(by_type["data"].size(), 1u);
  const std::string aggregate = all[3]["aggregate"];
  auto [st_g, by_aggregate] = call("GET", "/api/v1/events?aggregate=" + aggregate, token_a_);
  EXPECT_EQ(by_aggregate["data"].size(), 2u) << by_aggregate;
  EXPECT_EQ(by_aggregate["data"],
            cli_json("events:list --tenant=" + a() + " --aggregate=" + aggregate));
  EXPECT_EQ(call("GET", "/api/v1/events?since=2999-01-01", token_a_).second["data"].size(), 0u);
  EXPECT_EQ(call("GET", "/api/v1/events?since=2000-01-01T00:00:00Z", token_a_).second["data"],
            cli_json("events:list --tenant=" + a()));
  // Another tenant's events are its own.
  auto [st_b, of_b] = call("GET", "/api/v1/events", token_b_);
  ASSERT_EQ(of_b["data"].size(), 1u);
  EXPECT_EQ(of_b["data"][0]["tenant_id"], tenant_b_);
}

TEST_P(AdminRoutesTest, EventsAreForAdminsAndManagersOnly) {
  const std::string manager = token(tenant_a_, user(tenant_a_, "m@acme.test", "manager"));
  const std::string sales = token(tenant_a_, user(tenant_a_, "s@acme.test", "sales"));
  const std::string operator_token = cli_json("token:create --operator --name=ops")["token"];
  start_server();
  create_products(token_a_, 1);
  EXPECT_EQ(call("GET", "/api/v1/events", manager).second["data"].size(), 1u);
  auto [st, err] = call("GET", "/api/v1/events", sales);
  EXPECT_EQ(st, 403) << err;
  EXPECT_EQ(err["error"]["code"], "permission_denied");
  EXPECT_EQ(call("GET", "/api/v1/events", operator_token).first, 403);
  EXPECT_EQ(call("GET", "/api/v1/events", "").first, 401);
}

TEST_P(AdminRoutesTest, EventsRefuseBadInput) {
  start_server();
  for (const char* query : {"since=yesterday", "cursor=%25%25%25", "cursor=bm90LWFuLWlk", "limit=0",
                            "limit=x", "typo=ProductCreated"}) {
    auto [st, body] = call("GET", std::string("/api/v1/events?") + query, token_a_);
    EXPECT_EQ(st, 400) << query << " " << body;
    EXPECT_EQ(body["error"]["code"], "invalid_argument") << query;
  }
  EXPECT_EQ(call("GET", "/api/v1/events?limit=100000", token_a_).first, 200);
}

TEST_P(AdminRoutesTest, QueueStatsAndFailedJobsAreTheTenantsOwnAndTheCliTwinsRows) {
  fail_jobs(tenant_a_, 3);
  fail_jobs(tenant_b_, 1);
  ASSERT_EQ(cli("queue:dispatch diag.noop --tenant=" + b() + " --delay=3600").exit, 0);
  start_server();

  auto [st_s, stats] = call("GET", "/api/v1/queue/stats", token_a_);
  ASSERT_EQ(st_s, 200) << stats;
  ASSERT_EQ(stats["tenants"].size(), 1u) << stats;
  EXPECT_EQ(stats["tenants"][0]["tenant_id"], tenant_a_);
  EXPECT_EQ(stats["tenants"][0]["failed"], 3);
  ASSERT_EQ(stats["queues"].size(), 1u) << stats;
  EXPECT_EQ(stats["queues"][0]["failed"], 3);
  EXPECT_EQ(stats["queues"][0]["delayed"], 0) << "tenant B's delayed job is not A's";
  EXPECT_FALSE(stats.contains("throughput")) << "throughput is counted across tenants";
  const json twin = cli_json("queue:stats");
  for (const auto& t : twin["tenants"]) {
    if (t["tenant_id"] == tenant_a_) {
      EXPECT_EQ(t, stats["tenants"][0]);
    }
  }

  json all = json::array();
  std::string path = "/api/v1/queue/failed?limit=2";
  for (int page = 0; page < 4; ++page) {
    auto [st, body] = call("GET", path, token_a_);
    ASSERT_EQ(st, 200) << body;
    for (const auto& f : body["data"]) all.push_back(f);
    if (body["next_cursor"].is_null()) break;
    path = "/api/v1/queue/failed?limit=2&cursor=" + body["next_cursor"].get<std::string>();
  }
  ASSERT_EQ(all.size(), 3u) << all;
  EXPECT_EQ(all, cli_json("queue:failed --tenant=" + a()));
  for (const auto& f : all) EXPECT_EQ(f["tenant_id"], tenant_a_);
  EXPECT_EQ(all[0]["type"], "diag.fail");
  EXPECT_GT(all[0]["id"].get<int64_t>(), all[1]["id"].get<int64_t>()) << "newest first";
  EXPECT_EQ(call("GET", "/api/v1/queue/failed", token_b_).second["data"].size(), 1u);
}

TEST_P(AdminRoutesTest, FailedJobPayloadsNeverShowSecrets) {
  fail_jobs(tenant_a_, 1,
            R"({"times":9,"password":"hunter2","endpoint":"postgresql://bob:s3cr3t@db/x",)"
            R"("nested":{"api_token":"tok-42","dsn":"host=db password=pw99"}})");
  start_server();
  auto [st, body] = call("GET", "/api/v1/queue/failed", token_a_);
  ASSERT_EQ(st, 200) << body;
  const std::string text = body.dump();
  for (const char* secret : {"hunter2", "s3cr3t", "tok-42", "pw99"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret << " in " << text;
  }
  const json payload = body["data"][0]["payload"];
  EXPECT_EQ(payload["times"], 9) << "the rest of the payload is shown";
  EXPECT_EQ(payload["password"], "***");
  EXPECT_EQ(payload["endpoint"], "postgresql://bob:***@db/x");
  EXPECT_EQ(cli("queue:failed --json").out.find("hunter2"), std::string::npos);
}

TEST_P(AdminRoutesTest, RetryAndForgetTheTenantsOwnFailedJobs) {
  fail_jobs(tenant_a_, 2);
  start_server();
  auto [id, uuid] = a_failure_of(tenant_a_);
  auto [st_r, retried] = call("POST", "/api/v1/queue/failed/" + id + "/retry", token_a_);
  ASSERT_EQ(st_r, 200) << retried;
  EXPECT_EQ(retried["uuid"], uuid);
  EXPECT_EQ(count_rows("jobs"), 1);
  EXPECT_EQ(failed_of(tenant_a_), 1);
  EXPECT_EQ(call("POST", "/api/v1/queue/failed/" + id + "/retry", token_a_).first, 404);

  auto [id2, uuid2] = a_failure_of(tenant_a_);
  auto [st_f, forgotten] = call("DELETE", "/api/v1/queue/failed/" + uuid2, token_a_);
  ASSERT_EQ(st_f, 200) << forgotten;
  EXPECT_EQ(forgotten["forgotten"], uuid2);
  EXPECT_EQ(failed_of(tenant_a_), 0);
  EXPECT_EQ(cli_json("queue:failed --tenant=" + a()).size(), 0u);
  EXPECT_EQ(call("DELETE", "/api/v1/queue/failed/" + uuid2, token_a_).first, 404);
}

TEST_P(AdminRoutesTest, AnotherTenantsFailedJobIsNotFoundAndLeftAsItWas) {
  fail_jobs(tenant_b_, 1);
  start_server();
  auto [id, uuid] = a_failure_of(tenant_b_);
  const auto before = cli_json("queue:failed --tenant=" + b());
  auto [st_u, unknown] = call("POST", "/api/v1/queue/failed/987654/retry", token_a_);
  ASSERT_EQ(st_u, 404) << unknown;
  for (const std::string& key : {id, uuid}) {
    auto [st_r, retry] = call("POST", "/api/v1/queue/failed/" + key + "/retry", token_a_);
    EXPECT_EQ(st_r, 404) << retry;
    EXPECT_EQ(retry["error"]["code"], "not_found");
    std::string message = retry["error"]["message"];
    message.replace(message.find(key), key.size(), "987654");
    EXPECT_EQ(message, unknown["error"]["message"]) << "never tell which";
    auto [st_d, forget] = call("DELETE", "/api/v1/queue/failed/" + key, token_a_);
    EXPECT_EQ(st_d, 404) << forget;
    EXPECT_EQ(forget["error"]["code"], "not_found");
  }
  EXPECT_EQ(cli_json("queue:failed --tenant=" + b()), before);
  EXPECT_EQ(count_rows("jobs"), 0);
  EXPECT_EQ(failed_of(tenant_b_), 1);
  EXPECT_EQ(call("GET", "/api/v1/queue/failed", token_a_).second["data"].size(), 0u);
  // "all" names no failed job over HTTP: it retries nothing, not every one of the tenant's.
  fail_jobs(tenant_a_, 1);
  EXPECT_EQ(call("POST", "/api/v1/queue/failed/all/retry", token_a_).first, 404);
  EXPECT_EQ(failed_of(tenant_a_), 1);
}

TEST_P(AdminRoutesTest, QueueRoutesAreForTheTenantsAdminsOnly) {
  fail_jobs(tenant_a_, 1);
  const std::string manager = token(tenant_a_, user(tenant_a_, "m@acme.test", "manager"));
  const std::string operator_token = cli_json("token:create --operator --name=ops")["token"];
  start_server();
  auto [id, uuid] = a_failure_of(tenant_a_);
  for (const std::string& t : {manager, operator_token}) {
    for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/v1/queue/stats"},
             {"GET", "/api/v1/queue/failed"},
             {"POST", "/api/v1/queue/failed/" + id + "/retry"},
             {"DELETE", "/api/v1/queue/failed/" + id}}) {
      auto [st, body] = call(method, path, t);
      EXPECT_EQ(st, 403) << method << " " << path << " " << body;
      EXPECT_EQ(body["error"]["code"], "permission_denied");
    }
  }
  EXPECT_EQ(failed_of(tenant_a_), 1);
  EXPECT_EQ(count_rows("jobs"), 0);
}

TEST_P(AdminRoutesTest, QueueRoutesRefuseBadInputAndChangeNothing) {
  fail_jobs(tenant_a_, 1);
  start_server();
  auto [id, uuid] = a_failure_of(tenant_a_);
  for (const std::string& path : std::vector<std::string>{
           "/api/v1/queue/failed?limit=-1", "/api/v1/queue/failed?cursor=%25",
           "/api/v1/queue/failed?tenant=" + b(), "/api/v1/queue/stats?tenant=" + b()}) {
    auto [st, body] = call("GET", path, token_a_);
    EXPECT_EQ(st, 400) << path << " " << body;
    EXPECT_EQ(body["error"]["code"], "invalid_argument");
  }
  auto [st_r, retry] =
      call("POST", "/api/v1/queue/failed/" + id + "/retry", token_a_, R"({"queue":"high"})");
  EXPECT_EQ(st_r, 400) << retry;
  EXPECT_EQ(call("POST", "/api/v1/queue/failed/" + id + "/retry", token_a_, "{nope").first, 400);
  EXPECT_EQ(call("POST", "/api/v1/queue/failed/" + id + "/retry?queue=high", token_a_).first, 400);
  EXPECT_EQ(failed_of(tenant_a_), 1);
  EXPECT_EQ(count_rows("jobs"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, AdminRoutesTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
