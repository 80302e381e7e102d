// The Bus under /api/v1 end to end, on both drivers: POST/GET /batches, GET /batches/{id},
// POST /batches/{id}/cancel, POST /chains, GET /jobs, POST /jobs/{id}/cancel on the real binary
// on loopback; the CLI twins read the same rows. Admin only; another tenant's batch or job is the
// same 404 as an unknown one; unknown fields are refused by name.
#include "serve_fixture.h"

namespace unity::testing {
namespace {

class BusRoutesTest : public ServeFixture {
 protected:
  std::string a() const { return " --tenant=" + std::to_string(tenant_a_); }
};

constexpr const char* kBatch = R"({"name":"nightly","jobs":[{"type":"diag.noop","delay":3600},)"
                               R"({"chain":[{"type":"diag.noop"},{"type":"diag.noop"}]}]})";

TEST_P(BusRoutesTest, BatchesAreDispatchedListedShownAndCancelledAsTheirTwinsDo) {
  start_server();
  auto [st, made] = call("POST", "/api/v1/batches", token_a_, kBatch);
  ASSERT_EQ(st, 202) << made;
  ASSERT_TRUE(made.contains("batch_id")) << made;
  EXPECT_EQ(made["job_ids"].size(), 2u);
  const std::string id = made["batch_id"];

  auto [st_show, shown] = call("GET", "/api/v1/batches/" + id, token_a_);
  ASSERT_EQ(st_show, 200) << shown;
  EXPECT_EQ(shown, cli_json("batch:show " + id + a()));
  EXPECT_EQ(shown["user_id"], admin_a_);  // the token's user
  EXPECT_EQ(shown["total_jobs"], 3);

  // Pages, newest first, with a cursor.
  ASSERT_EQ(call("POST", "/api/v1/batches", token_a_, kBatch).first, 202);
  ASSERT_EQ(call("POST", "/api/v1/batches", token_a_, kBatch).first, 202);
  json all = json::array();
  std::string path = "/api/v1/batches?limit=2";
  for (int page = 0; page < 4; ++page) {
    auto [s, body] = call("GET", path, token_a_);
    ASSERT_EQ(s, 200) << body;
    for (const auto& b : body["data"]) all.push_back(b);
    if (body["next_cursor"].is_null()) break;
    path = "/api/v1/batches?limit=2&cursor=" + body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(all, cli_json("queue:batches" + a()));
  EXPECT_EQ(all.size(), 3u);

  auto [st_c, cancelled] = call("POST", "/api/v1/batches/" + id + "/cancel", token_a_);
  ASSERT_EQ(st_c, 200) << cancelled;
  EXPECT_TRUE(cancelled["cancelled_at"].is_string());
  EXPECT_EQ(cli_json("batch:show " + id + a())["cancelled_at"], cancelled["cancelled_at"]);
}

TEST_P(BusRoutesTest, AnotherTenantsBatchIsTheSame404AsAnUnknownOne) {
  start_server();
  auto [st, made] = call("POST", "/api/v1/batches", token_b_, kBatch);
  ASSERT_EQ(st, 202) << made;
  const std::string theirs = made["batch_id"];
  const std::string unknown = "00000000-0000-0000-0000-000000000000";
  for (const std::string suffix : {"", "/cancel"}) {
    const std::string method = suffix.empty() ? "GET" : "POST";
    auto [s1, e1] = call(method, "/api/v1/batches/" + theirs + suffix, token_a_);
    auto [s2, e2] = call(method, "/api/v1/batches/" + unknown + suffix, token_a_);
    EXPECT_EQ(s1, 404) << e1;
    EXPECT_EQ(s2, 404) << e2;
    EXPECT_EQ(e1["error"]["code"], e2["error"]["code"]);
  }
  EXPECT_EQ(call("GET", "/api/v1/batches", token_a_).second["data"].size(), 0u);
  EXPECT_TRUE(
      cli_json("batch:show " + theirs + " --tenant=" + std::to_string(tenant_b_))["cancelled_at"]
          .is_null());
}

TEST_P(BusRoutesTest, ChainsAreDispatchedAnd202) {
  start_server();
  auto [st, made] = call("POST", "/api/v1/chains", token_a_,
                         R"({"jobs":[{"type":"diag.noop"},{"type":"diag.noop"}]})");
  ASSERT_EQ(st, 202) << made;
  EXPECT_TRUE(made["chain_id"].is_string());
  auto jobs = cli_json("queue:jobs" + a());
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0]["id"], made["job_id"]);
}

TEST_P(BusRoutesTest, UnknownFieldsAndBadSpecsAre400NamingThem) {
  start_server();
  auto [s1, e1] = call("POST", "/api/v1/batches", token_a_, R"({"name":"x","jobz":[]})");
  EXPECT_EQ(s1, 400);
  EXPECT_NE(e1["error"]["message"].get<std::string>().find("jobz"), std::string::npos) << e1;
  auto [s2, e2] =
      call("POST", "/api/v1/chains", token_a_, R"({"jobs":[{"type":"diag.noop","colour":"red"}]})");
  EXPECT_EQ(s2, 400);
  EXPECT_NE(e2["error"]["message"].get<std::string>().find("colour"), std::string::npos) << e2;
  auto [s3, e3] = call("POST", "/api/v1/chains", token_a_, R"({"jobs":[{"type":"no.such"}]})");
  EXPECT_EQ(s3, 400) << e3;
  auto [s4, e4] = call("GET", "/api/v1/jobs?status=ready", token_a_);
  EXPECT_EQ(s4, 400) << e4;
  auto [s5, e5] = call("GET", "/api/v1/jobs?state=sleeping", token_a_);
  EXPECT_EQ(s5, 400) << e5;
  EXPECT_EQ(count_rows("jobs"), 0);
  EXPECT_EQ(count_rows("job_batches"), 0);
}

TEST_P(BusRoutesTest, JobsAreListedAndCancelledAsQueueJobsAndQueueCancelDo) {
  start_server({{"QUEUE_KEEP_COMPLETED_MINUTES", "60"}});
  extra_env_ = " QUEUE_KEEP_COMPLETED_MINUTES=60";
  auto d1 = cli_json("queue:dispatch diag.noop --delay=3600" + a());
  auto d2 = cli_json("queue:dispatch diag.write --delay=3600" + a());
  auto theirs = cli_json("queue:dispatch diag.noop --tenant=" + std::to_string(tenant_b_));
  auto [st, listed] = call("GET", "/api/v1/jobs?state=delayed&type=diag.noop&limit=10", token_a_);
  ASSERT_EQ(st, 200) << listed;
  EXPECT_TRUE(listed["next_cursor"].is_null());
  EXPECT_EQ(listed["data"], cli_json("queue:jobs --state=delayed --type=diag.noop" + a()));
  ASSERT_EQ(listed["data"].size(), 1u);

  const std::string id = std::to_string(d1["id"].get<int64_t>());
  auto [st_c, c] = call("POST", "/api/v1/jobs/" + id + "/cancel", token_a_);
  ASSERT_EQ(st_c, 200) << c;
  EXPECT_EQ(c, (json{{"id", d1["id"]}, {"state", "cancelled"}}));
  auto [st_l, cancelled] = call("GET", "/api/v1/jobs?state=cancelled", token_a_);
  ASSERT_EQ(cancelled["data"].size(), 1u) << cancelled;
  EXPECT_EQ(cancelled["data"][0]["id"], d1["id"]);

  // By uuid too; again, unknown and another tenant's: the same 404.
  const std::string uuid = cli_json("queue:jobs --type=diag.write" + a())[0]["uuid"];
  EXPECT_EQ(call("POST", "/api/v1/jobs/" + uuid + "/cancel", token_a_).second["state"],
            "cancelled");
  auto [s_again, again] = call("POST", "/api/v1/jobs/" + id + "/cancel", token_a_);
  auto [s_theirs, other] = call(
      "POST", "/api/v1/jobs/" + std::to_string(theirs["id"].get<int64_t>()) + "/cancel", token_a_);
  EXPECT_EQ(s_again, 404);
  EXPECT_EQ(s_theirs, 404);
  EXPECT_EQ(again["error"]["code"], other["error"]["code"]);
  EXPECT_EQ(count_rows("jobs"), 1);  // theirs
  EXPECT_EQ(call("POST", "/api/v1/jobs/" + id + "/cancel", token_a_, R"({"now":true})").first, 400);
  (void)d2;
}

TEST_P(BusRoutesTest, TheBusIsForAdminsOnly) {
  const std::string manager = token(tenant_a_, user(tenant_a_, "m@acme.test", "manager"));
  start_server();
  for (const auto& [method, path] :
       std::vector<std::pair<std::string, std::string>>{{"POST", "/api/v1/batches"},
                                                        {"GET", "/api/v1/batches"},
                                                        {"POST", "/api/v1/chains"},
                                                        {"GET", "/api/v1/jobs"},
                                                        {"POST", "/api/v1/jobs/1/cancel"}}) {
    auto [st, err] = call(method, path, manager, method == "POST" ? kBatch : "");
    EXPECT_EQ(st, 403) << method << " " << path << ": " << err;
  }
  EXPECT_EQ(count_rows("job_batches"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, BusRoutesTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
