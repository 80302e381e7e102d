// GET /metrics on a real `unity serve` (both drivers): operator token only, the Prometheus text
// format checked by the real `promtool check metrics`, and the counters moving after a real
// worker process ran jobs.
#include <sys/stat.h>
#include <sys/wait.h>

#include "serve_fixture.h"

namespace unity::testing {
namespace {

class MetricsTest : public ServeFixture {
 protected:
  std::string scrape(const std::string& token) {
    auto res = client().Get("/metrics", auth(token));
    EXPECT_TRUE(res);
    if (!res) return "";
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return res->body;
  }

  // The value of the sample `series` (name and labels as written), or -1 when absent.
  static double sample(const std::string& text, const std::string& series) {
    const std::string key = "\n" + series + " ";
    const auto at = ("\n" + text).find(key);
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + key.size() - 1));
  }

  // `promtool check metrics` on `text`: its exit code and output. Without promtool the test
  // fails under UNITY_REQUIRE_PG=1 or CI (./scripts/test installs it) and is skipped elsewhere.
  std::pair<int, std::string> promtool(const std::string& text) {
    struct stat st {};
    if (::stat("/usr/bin/promtool", &st) != 0) return {-1, ""};
    const std::string in = db_->dir() + "/scrape.txt", out = db_->dir() + "/promtool.out";
    std::ofstream(in) << text;
    const int rc = std::system(
        ("/usr/bin/promtool check metrics < '" + in + "' > '" + out + "' 2>&1").c_str());
    return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, slurp(out)};
  }

  static bool promtool_required() {
    const char* pg = std::getenv("UNITY_REQUIRE_PG");
    const char* ci = std::getenv("CI");
    return (pg && std::string(pg) == "1") || (ci && *ci);
  }
};

TEST_P(MetricsTest, OnlyAnOperatorTokenMayScrape) {
  start_server();
  auto anonymous = client().Get("/metrics");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(call("GET", "/metrics", token_a_).first, 403);  // a tenant's admin is no operator
  EXPECT_EQ(call("GET", "/metrics", "uto_1_wrong").first, 401);
  const std::string op = cli_json("token:create --operator --name=ops")["token"];
  EXPECT_EQ(call("POST", "/metrics", op).first, 405);
  EXPECT_NE(scrape(op).find("unity_workers_alive 0"), std::string::npos);
}

TEST_P(MetricsTest, PromtoolAcceptsTheScrapeAndCountersMoveWhenAWorkerRunsJobs) {
  start_server();
  const std::string op = cli_json("token:create --operator --name=ops")["token"];
  const std::string tenant = std::to_string(tenant_a_);
  ASSERT_EQ(cli("queue:dispatch diag.noop --tenant=" + tenant + " --count=3").exit, 0);
  ASSERT_EQ(cli("queue:dispatch diag.fail --tenant=" + tenant + " --data='{\"times\":9}'").exit, 0);
  // Requests to count: a route with a parameter is counted by its pattern, not its path.
  EXPECT_EQ(call("GET", "/api/v1/products/NO-SUCH-SKU", token_a_).first, 404);
  EXPECT_EQ(call("GET", "/no/such/path", token_a_).first, 404);

  const std::string before = scrape(op);
  EXPECT_EQ(sample(before, "unity_jobs{queue=\"default\",state=\"ready\"}"), 4) << before;
  EXPECT_EQ(sample(before, "unity_jobs_completed_total{type=\"diag.noop\"}"), -1) << before;

  auto w = cli("queue:work --stop-when-empty --tries=1 --sleep=0.1");
  ASSERT_EQ(w.exit, 0) << w.err;
  const std::string after = scrape(op);
  EXPECT_EQ(sample(after, "unity_jobs{queue=\"default\",state=\"ready\"}"), 0) << after;
  EXPECT_EQ(sample(after, "unity_jobs{queue=\"default\",state=\"failed\"}"), 1) << after;
  EXPECT_EQ(sample(after, "unity_jobs_completed_total{type=\"diag.noop\"}"), 3) << after;
  EXPECT_EQ(sample(after, "unity_jobs_failed_total{type=\"diag.fail\"}"), 1) << after;
  EXPECT_EQ(sample(after, "unity_jobs_failed_total{type=\"diag.noop\"}"), 0) << after;
  EXPECT_EQ(sample(after, "unity_jobs_deferred_total{type=\"diag.noop\"}"), 0) << after;
  EXPECT_EQ(sample(after, "unity_job_run_seconds_count{type=\"diag.noop\"}"), 3) << after;
  EXPECT_EQ(sample(after, "unity_job_run_seconds_bucket{type=\"diag.noop\",le=\"+Inf\"}"), 3);
  EXPECT_EQ(sample(after, "unity_job_wait_seconds_count{type=\"diag.fail\"}"), 1) << after;
  EXPECT_GE(sample(after, "unity_job_wait_seconds_sum{type=\"diag.noop\"}"), 0) << after;
  EXPECT_EQ(sample(after,
                   "unity_http_requests_total{method=\"GET\",route=\"/api/v1/products/"
                   "{sku}\",status=\"404\"}"),
            1)
      << after;
  EXPECT_EQ(
      sample(after, "unity_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}"),
      1)
      << after;
  EXPECT_EQ(
      sample(after, "unity_http_requests_total{method=\"GET\",route=\"/metrics\",status=\"200\"}"),
      1)
      << after;
  EXPECT_EQ(after.find("NO-SUCH-SKU"), std::string::npos);  // raw paths never become labels
  EXPECT_EQ(sample(after, "unity_db_pool_connections{state=\"max\"}"), 2) << after;
  EXPECT_GE(sample(after, "unity_db_pool_connections{state=\"open\"}"), 1) << after;
  EXPECT_EQ(sample(after, "unity_http_open_streams"), 0) << after;

  // A worker alive shows by its heartbeat; an open stream is counted.
  RawSocket stream(port_);
  stream.send(sse_request(token_a_));
  ASSERT_TRUE(stream.read_until("\r\n\r\n", 10s));
  auto e = db_->cli_env();
  Process worker = Process::start({unity_binary(), "queue:work", "--sleep=0.1"}, e, db_->dir(),
                                  db_->dir() + "/worker.out");
  std::string live;
  EXPECT_TRUE(eventually(
      [&] {
        live = scrape(op);
        return sample(live, "unity_workers_alive") == 1 &&
               sample(live, "unity_http_open_streams") == 1;
      },
      30s))
      << live;
  worker.signal(SIGTERM);
  EXPECT_EQ(worker.wait(20s), 0);

  auto [rc, report] = promtool(live);
  if (rc == -1 && !promtool_required())
    GTEST_SKIP() << "promtool not installed (package prometheus)";
  ASSERT_NE(rc, -1) << "promtool not found: install the Debian package prometheus";
  EXPECT_EQ(rc, 0) << report << "\n" << live;
}

INSTANTIATE_TEST_SUITE_P(Drivers, MetricsTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
