// The operators' dashboard on a real `unity serve` (both drivers): its files and JSON refuse
// what they must, then a real browser (Debian's Chromium driven by playwright-core,
// tests/http/dashboard/dashboard.mjs) signs in, watches a real worker drain a backlog, retries a
// failed job, pauses and resumes a tenant, forgets a failed job. Without Chromium or the node
// packages the test fails under UNITY_REQUIRE_PG=1 or CI (./scripts/test installs both) and is
// skipped elsewhere. UNITY_DASHBOARD_SCREENSHOTS=DIR saves the laptop and phone screenshots there
// (docs/ holds the ones the README shows).
#include <sys/stat.h>

#include <set>

#include "serve_fixture.h"

namespace unity::testing {
namespace {

class DashboardTest : public ServeFixture {
 protected:
  static bool required() {
    const char* pg = std::getenv("UNITY_REQUIRE_PG");
    const char* ci = std::getenv("CI");
    return (pg && std::string(pg) == "1") || (ci && *ci);
  }
  static bool exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
  }
};

TEST_P(DashboardTest, PageIsServedWithoutATokenAndItsApiOnlyToOperators) {
  start_server();
  auto page = client().Get("/dashboard");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'none'"),
            std::string::npos);
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_NE(page->body.find("/dashboard/app.js"), std::string::npos);
  // Nothing is loaded from outside: no absolute URL in any of its files.
  for (const std::string file : {"/dashboard", "/dashboard/app.js", "/dashboard/app.css"}) {
    auto r = client().Get(file);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << file;
    EXPECT_EQ(r->body.find("https://"), std::string::npos) << file;
    EXPECT_EQ(r->body.find("//cdn"), std::string::npos) << file;
  }
  EXPECT_EQ(client().Get("/dashboard/nope.js")->status, 404);

  auto anonymous = client().Get("/dashboard/api/overview");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(call("GET", "/dashboard/api/overview", token_a_).first, 403);
  EXPECT_EQ(call("POST", "/dashboard/api/tenants/" + std::to_string(tenant_a_) + "/pause", token_a_)
                .first,
            403);
  EXPECT_EQ(count_rows("queue_pauses"), 0);

  const std::string op = cli_json("token:create --operator --name=ops")["token"];
  // A domain event in each tenant: the newest events across tenants, without their payloads.
  for (const auto& [token, sku] : {std::pair{token_a_, "EVT-A"}, std::pair{token_b_, "EVT-B"}}) {
    const json p = {{"sku", sku}, {"name", "secret-name"}, {"price", "1.00"}};
    ASSERT_EQ(call("POST", "/api/v1/products", token, p.dump()).first, 201);
  }
  ASSERT_EQ(cli("queue:dispatch diag.fail --tenant=" + std::to_string(tenant_a_) +
                " --data='{\"times\":5,\"password\":\"hunter2\"}'")
                .exit,
            0);
  ASSERT_EQ(cli("queue:work --stop-when-empty --tries=1 --sleep=0.1").exit, 0);
  auto [status, overview] = call("GET", "/dashboard/api/overview", op);
  ASSERT_EQ(status, 200) << overview.dump();
  for (const char* key : {"queues", "throughput", "workers", "tenants", "failed", "events"}) {
    EXPECT_TRUE(overview.contains(key)) << key;
  }
  ASSERT_EQ(overview["failed"].size(), 1u) << overview.dump();
  EXPECT_EQ(overview["failed"][0]["payload"]["password"], "***");
  EXPECT_EQ(overview.dump().find("hunter2"), std::string::npos);
  EXPECT_EQ(overview["throughput"]["minutes"].size(), 60u);
  int64_t failed_in_the_hour = 0;  // in the last minute or two (a minute may have turned)
  for (const auto& n : overview["throughput"]["queues"]["default"]["failed"]) {
    failed_in_the_hour += n.get<int64_t>();
  }
  EXPECT_EQ(failed_in_the_hour, 1) << overview.dump();
  EXPECT_EQ(overview["tenants"].size(), 2u);
  std::set<int64_t> event_tenants;
  for (const auto& e : overview["events"]) {
    if (e["type"] == "ProductCreated") event_tenants.insert(e["tenant_id"].get<int64_t>());
  }
  EXPECT_EQ(event_tenants, (std::set<int64_t>{tenant_a_, tenant_b_})) << overview["events"].dump();
  EXPECT_EQ(overview["events"].dump().find("secret-name"), std::string::npos);
  // Both tenants are listed, neither paused.
  for (const auto& t : overview["tenants"]) EXPECT_EQ(t["paused"], false);

  const std::string a = std::to_string(tenant_a_);
  EXPECT_EQ(call("POST", "/dashboard/api/tenants/" + a + "/weight", op, R"({"weight":5})").first,
            200);
  EXPECT_EQ(call("POST", "/dashboard/api/tenants/" + a + "/weight", op, R"({"weight":0})").first,
            400);
  EXPECT_EQ(call("POST", "/dashboard/api/tenants/" + a + "/weight", op, R"({"wieght":2})").first,
            400);
  EXPECT_EQ(call("POST", "/dashboard/api/tenants/999999/pause", op).first, 404);
  EXPECT_EQ(call("DELETE", "/dashboard/api/failed/999999", op).first, 404);
  auto weights = call("GET", "/dashboard/api/overview", op).second["tenants"];
  for (const auto& t : weights) {
    EXPECT_EQ(t["weight"], t["tenant_id"] == tenant_a_ ? 5 : 1) << weights.dump();
  }
}

TEST_P(DashboardTest, AnOperatorDrivesItInARealBrowser) {
  const std::string dir = UNITY_DASHBOARD_CHECK_DIR;
  const bool ready =
      exists("/usr/bin/chromium") && exists(dir + "/node_modules/playwright-core/package.json");
  if (!ready && !required()) GTEST_SKIP() << "chromium or playwright-core not installed";
  ASSERT_TRUE(ready) << "install Debian's chromium and run ./scripts/test (npm ci in " << dir
                     << ")";
  start_server();
  const std::string op = cli_json("token:create --operator --name=ops")["token"];
  const std::string a = std::to_string(tenant_a_), b = std::to_string(tenant_b_);
  const int backlog = 60;
  ASSERT_EQ(cli("queue:dispatch diag.sleep --tenant=" + a +
                " --data='{\"ms\":100}' --count=" + std::to_string(backlog))
                .exit,
            0);
  ASSERT_EQ(cli("queue:dispatch diag.fail --tenant=" + a +
                " --data='{\"times\":1,\"password\":\"hunter2\"}'")
                .exit,
            0);
  auto env = db_->cli_env();
  env["UNITY_BIN"] = unity_binary();
  env["QUEUE_WORKER_HEARTBEAT_MS"] = "500";
  std::vector<std::string> argv = {"/usr/bin/env",
                                   "node",
                                   dir + "/dashboard.mjs",
                                   "http://127.0.0.1:" + std::to_string(port_),
                                   op,
                                   a,
                                   b,
                                   std::to_string(backlog)};
  if (const char* shots = std::getenv("UNITY_DASHBOARD_SCREENSHOTS")) argv.push_back(shots);
  const std::string log = db_->dir() + "/dashboard.log";
  auto check = Process::start(argv, env, db_->dir(), log);
  EXPECT_EQ(check.wait(240s), std::optional<int>(0)) << slurp(log);
  EXPECT_NE(slurp(log).find("every step held"), std::string::npos) << slurp(log);
  EXPECT_EQ(count_rows("failed_jobs"), 0);
  EXPECT_EQ(count_rows("queue_pauses"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, DashboardTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
