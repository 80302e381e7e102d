// SyncExternalData on both drivers against a real HTTP server on loopback (cpp-httplib in a
// thread) that serves pages and can answer slowly, fail with 500s, answer HTML or malformed JSON:
// pull with paging (upserts, events), push (the JSON and the bearer token), request timeouts,
// retries, the circuit breaker in the database (a second worker fails fast without a request),
// tenant isolation, the breaker's transitions with an injected clock, and the `sync` /
// `syncs:list` commands.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/inventory/inventory_service.h"
#include "erp/sales/sales_service.h"
#include "events/event_bus.h"
#include "jobs/circuit_breaker.h"
#include "jobs/http_client.h"
#include "jobs/job_log.h"
#include "jobs/jobs.h"
#include "jobs/sync_endpoint.h"
#include "jobs/sync_job.h"
#include "queue/dispatch.h"
#include "queue/worker.h"
#include "support/cli.h"
#include "support/erp_fixture.h"

namespace unity::jobs {
namespace {

using nlohmann::json;
using testing::Driver;
using namespace std::chrono_literals;

// The external system: GET /{type}?page=N answers pages[type][N]; POST /{type} records the body.
// `mode` makes every request slow, fail (500), answer HTML or malformed JSON; a mode can be
// limited to one page.
class FakeRemote {
 public:
  enum class Mode {
    kOk,
    kSlow,
    kFail,
    kHtml,
    kMalformed,
    kNotFound,
    kDeep,         // {"data":[{"sku":{"a":{"a":…100,000 levels…}}}],"next_page":null}
    kHuge,         // 300 MB of JSON, chunked (no Content-Length)
    kHugeLength,   // 300 MB of JSON with its Content-Length
    kSecretError,  // HTTP 400 whose body carries kBodySecret
    kRedirect,     // 302 to `redirect_to`
  };
  static constexpr const char* kBodySecret = "BODY-SECRET-4711";
  static constexpr size_t kHugeBytes = size_t{300} << 20;

  FakeRemote() {
    server_.Get(R"(/(\w+))", [this](const httplib::Request& q, httplib::Response& r) {
      const int page = q.has_param("page") ? std::stoi(q.get_param_value("page")) : 1;
      if (misbehave(q, r, page)) return;
      std::lock_guard lock(mu_);
      auto it = pages_[q.matches[1]].find(page);
      if (it == pages_[q.matches[1]].end()) {
        r.set_content(R"({"data":[],"next_page":null})", "application/json");
      } else {
        r.set_content(it->second.dump(), "application/json");
      }
    });
    server_.Post(R"(/(\w+))", [this](const httplib::Request& q, httplib::Response& r) {
      if (misbehave(q, r, 0)) return;
      std::lock_guard lock(mu_);
      posted_[q.matches[1]].push_back(json::parse(q.body));
      r.set_content(R"({"ok":true})", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(1ms);
  }
  ~FakeRemote() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void page(const std::string& type, int n, const std::vector<json>& data,
            std::optional<int> next) {
    std::lock_guard lock(mu_);
    pages_[type][n] = {{"data", json(data)}, {"next_page", next ? json(*next) : json()}};
  }
  // `only_page` 0: every request.
  void set_mode(Mode m, int only_page = 0) {
    std::lock_guard lock(mu_);
    mode_ = m;
    only_page_ = only_page;
  }
  void redirect_to(const std::string& url) {
    std::lock_guard lock(mu_);
    redirect_ = url;
  }
  int requests() const { return requests_.load(); }
  size_t bytes_sent() const { return bytes_sent_.load(); }
  std::string last_auth() {
    std::lock_guard lock(mu_);
    return auth_;
  }
  std::vector<json> posted(const std::string& type) {
    std::lock_guard lock(mu_);
    return posted_[type];
  }

 private:
  bool misbehave(const httplib::Request& q, httplib::Response& r, int page) {
    ++requests_;
    Mode m;
    {
      std::lock_guard lock(mu_);
      auth_ = q.get_header_value("Authorization");
      m = (only_page_ == 0 || only_page_ == page) ? mode_ : Mode::kOk;
    }
    switch (m) {
      case Mode::kOk:
        return false;
      case Mode::kSlow:
        std::this_thread::sleep_for(600ms);
        return false;
      case Mode::kFail:
        r.status = 500;
        r.set_content("boom", "text/plain");
        return true;
      case Mode::kHtml:
        r.set_content("<html><body>Login</body></html>", "text/html");
        return true;
      case Mode::kMalformed:
        r.set_content(R"({"data":[{"sku":)", "application/json");
        return true;
      case Mode::kNotFound:
        r.status = 404;
        r.set_content("no such thing", "text/plain");
        return true;
      case Mode::kDeep: {
        std::string body = R"({"data":[{"sku":)";
        for (int i = 0; i < 100000; ++i) body += R"({"a":)";
        body += "1" + std::string(100000, '}') + R"(}],"next_page":null})";
        r.set_content(body, "application/json");
        return true;
      }
      case Mode::kHuge:
        r.set_chunked_content_provider(
            "application/json", [this](size_t, httplib::DataSink& out) { return send_huge(out); });
        return true;
      case Mode::kHugeLength:
        r.set_content_provider(
            kHugeBytes, "application/json",
            [this](size_t, size_t, httplib::DataSink& out) { return send_huge(out); });
        return true;
      case Mode::kSecretError:
        r.status = 400;
        r.set_content(std::string("{\"error\":\"bad request\",\"echo\":\"") + kBodySecret + "\"}",
                      "application/json");
        return true;
      case Mode::kRedirect: {
        std::lock_guard lock(mu_);
        r.set_redirect(redirect_);
        return true;
      }
    }
    return false;
  }

  // One 64 KiB piece of an endless JSON array per call, until the client hangs up.
  bool send_huge(httplib::DataSink& out) {
    static const std::string piece = [] {
      std::string p;
      while (p.size() < (64u << 10)) p += R"({"sku":"X","name":"padding"},)";
      return p;
    }();
    if (bytes_sent_ == 0) out.write(R"({"data":[)", 9);
    if (bytes_sent_ >= kHugeBytes || !out.is_writable()) return false;
    if (!out.write(piece.data(), piece.size())) return false;
    bytes_sent_ += piece.size();
    return true;
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int> requests_{0};
  std::atomic<size_t> bytes_sent_{0};
  std::mutex mu_;  // guards everything below
  std::map<std::string, std::map<int, json>> pages_;
  std::map<std::string, std::vector<json>> posted_;
  std::string auth_, redirect_;
  Mode mode_ = Mode::kOk;
  int only_page_ = 0;
};

json product(const std::string& sku, const std::string& name, const std::string& price) {
  return {{"sku", sku}, {"name", name}, {"price", price}, {"external_id", 7}};
}

class SyncJobTest : public testing::ErpFixture {
 protected:
  void set_up_fixture() override {
    wire_jobs(jobs_, *bus_, clock_, settings_);
    runtime_.allowed_hosts = {{"127.0.0.1", 0}};
    runtime_.token = "s3cret";
    runtime_.request_timeout = 2000ms;
    runtime_.retry_base = 5ms;
    runtime_.breaker = {.failure_threshold = 3, .cool_down = 30s, .probe_timeout = 60s};
  }

  // Starts a sync of the connection's tenant, runs it on a fresh worker (one attempt unless
  // `tries`), returns its row.
  SyncLog sync(const std::string& type, const std::string& direction = "", int tries = 1) {
    return sync_to(remote_.url(), type, direction, tries);
  }
  SyncLog sync_to(const std::string& endpoint, const std::string& type,
                  const std::string& direction = "", int tries = 1) {
    const int64_t tenant = conn_->require_tenant();
    // Checked against the list the dispatching command would use.
    const int64_t id = start_sync(
        *conn_, check_sync_request(type, direction, endpoint, dispatch_allowed_), clock_);
    queue::DispatchOptions o;
    o.tries = tries;
    dispatcher_->dispatch(*conn_, tenant, kSyncExternalData, json{{"sync_id", id}}.dump(), o);
    drain();
    return *load_sync(*conn_, id);
  }
  // The jobs' own backoff: a transiently failed sync waits in the queue for its retry.
  void drain() { ErpFixture::drain(queue::WorkerOptions{}); }
  int64_t make(const std::string& sku, const std::string& price = "9.99") {
    return erp::catalog::CatalogService(*conn_, *bus_, std::nullopt, clock_)
        .create(erp::catalog::ProductDraft::from_json(
            {{"sku", sku}, {"name", "Local " + sku}, {"price", price}}))
        .id;
  }
  std::string breaker_state() {
    auto r = db_->owner()->query_one("SELECT state FROM circuit_breakers WHERE endpoint = $1",
                                     {remote_.url()});
    return r ? r->get<std::string>(0) : "none";
  }

  ManualClock clock_{TimePoint(std::chrono::seconds(1'800'000'000))};
  FakeRemote remote_;
  JobSettings settings_;
  SyncSettings& runtime_ = settings_.sync;  // read by the job at each attempt
  std::vector<Config::AllowedHost> dispatch_allowed_{{"127.0.0.1", 0}, {"localhost", 0}};
};

TEST_P(SyncJobTest, PullProductsPagesUntilNextPageIsNullAndUpsertsBySku) {
  make("OLD-1", "1.00");
  remote_.page("products", 1, {product("NEW-1", "One", "10.00"), product("NEW-2", "Two", "2.50")},
               2);
  remote_.page("products", 2, {product("OLD-1", "Renamed", "1.00")}, std::nullopt);
  const SyncLog s = sync("products");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  EXPECT_TRUE(s.synced_at.has_value());
  EXPECT_EQ(s.direction, "pull");
  EXPECT_EQ(s.pages, 2);
  EXPECT_EQ(s.records, 3);
  EXPECT_EQ(remote_.requests(), 2);
  EXPECT_EQ(remote_.last_auth(), "Bearer s3cret");
  auto p = erp::catalog::load_product_by_sku(*conn_, "NEW-1");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->name, "One");
  EXPECT_EQ(p->price.to_string(), "10.00");
  EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "OLD-1")->name, "Renamed");
  EXPECT_EQ(count("SELECT COUNT(*) FROM products"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM domain_events WHERE name = 'ProductCreated'"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM domain_events WHERE name = 'ProductUpdated'"), 1);
}

TEST_P(SyncJobTest, PullCustomersUpsertsByEmail) {
  erp::crm::CrmService(*conn_, *bus_, std::nullopt, clock_)
      .create_customer(erp::crm::CustomerDraft::from_json(
          {{"name", "Old Name"}, {"email", "old@x.test"}, {"payment_terms_days", 30}}));
  remote_.page("customers", 1,
               {{{"name", "New Co"}, {"email", "new@x.test"}},
                {{"name", "New Name"}, {"email", "old@x.test"}, {"payment_terms_days", 45}}},
               std::nullopt);
  const SyncLog s = sync("customers");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  EXPECT_EQ(count("SELECT COUNT(*) FROM customers"), 2);
  EXPECT_EQ(count("SELECT payment_terms_days FROM customers WHERE email = 'old@x.test'"), 45);
  EXPECT_EQ(count("SELECT COUNT(*) FROM customers WHERE name = 'New Name'"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM domain_events WHERE name = 'CustomerCreated'"), 2);
}

// Regression: the pull looked customers up by exact e-mail, so one that differed only in case was
// taken for new and its insert broke the case-insensitive unique index (customers_email).
TEST_P(SyncJobTest, PullCustomerWhoseEmailDiffersOnlyInCaseUpdatesTheExistingOne) {
  erp::crm::CrmService crm(*conn_, *bus_, std::nullopt, clock_);
  const int64_t id =
      crm.create_customer(erp::crm::CustomerDraft::from_json({{"name", "Old Name"},
                                                              {"email", "Ann.Lee@Example.test"},
                                                              {"payment_terms_days", 30}}))
          .id;
  remote_.page(
      "customers", 1,
      {{{"name", "New Name"}, {"email", "ann.lee@EXAMPLE.TEST"}, {"payment_terms_days", 45}}},
      std::nullopt);
  const SyncLog s = sync("customers");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  EXPECT_EQ(s.records, 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM customers"), 1);
  const auto c = crm.find_customer(id);
  EXPECT_EQ(c.name, "New Name");
  EXPECT_EQ(c.payment_terms_days, 45);
  EXPECT_EQ(c.email.value_or(""), "Ann.Lee@Example.test");  // the stored spelling stays
  EXPECT_EQ(count("SELECT COUNT(*) FROM domain_events WHERE name = 'CustomerCreated'"), 1);
}

TEST_P(SyncJobTest, PushInventorySendsOnHandPerSkuWithTheBearerTokenInPages) {
  runtime_.push_page_size = 2;
  for (const char* sku : {"A", "B", "C"}) make(sku);
  erp::inventory::InventoryService(*conn_, *bus_, std::nullopt, clock_)
      .receive(erp::inventory::Receipt::from_json(
          {{"sku", "B"}, {"location", "MAIN"}, {"quantity", "4"}, {"unit_cost", "1.00"}}));
  const SyncLog s = sync("inventory");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  EXPECT_EQ(s.direction, "push");
  const auto posted = remote_.posted("inventory");
  ASSERT_EQ(posted.size(), 2u);
  EXPECT_EQ(posted[0]["data"].size(), 2u);
  EXPECT_EQ(posted[0]["data"][1]["sku"], "B");
  EXPECT_EQ(posted[0]["data"][1]["on_hand"], "4.00");
  EXPECT_EQ(posted[1]["data"][0]["sku"], "C");
  EXPECT_EQ(posted[1]["data"][0]["on_hand"], "0.00");
  EXPECT_EQ(remote_.last_auth(), "Bearer s3cret");
  EXPECT_EQ(s.records, 3);
}

TEST_P(SyncJobTest, PushOrdersSendsTheOrdersWithTheirLines) {
  make("W");
  const auto customer = erp::crm::CrmService(*conn_, *bus_, std::nullopt, clock_)
                            .create_customer(erp::crm::CustomerDraft::from_json(
                                {{"name", "C"}, {"email", "c@x.io"}}));
  erp::sales::SalesService(*conn_, *bus_, std::nullopt, clock_)
      .create(erp::sales::OrderDraft::from_json(
          {{"customer_id", customer.id},
           {"lines", {{{"sku", "W"}, {"quantity", "2"}, {"unit_price", "3.50"}}}}}));
  runtime_.token.clear();
  const SyncLog s = sync("orders");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  const auto posted = remote_.posted("orders");
  ASSERT_EQ(posted.size(), 1u);
  const json& o = posted[0]["data"][0];
  EXPECT_EQ(o["customer_email"], "c@x.io");
  EXPECT_EQ(o["status"], "draft");
  EXPECT_EQ(o["lines"][0]["sku"], "W");
  EXPECT_EQ(o["lines"][0]["quantity"], "2.00");
  EXPECT_EQ(remote_.last_auth(), "");  // no SYNC_TOKEN, no Authorization header
}

TEST_P(SyncJobTest, AnHtmlAnswerFailsTheRunWithAClearMessageAndWritesNothing) {
  remote_.page("products", 1, {product("X", "X", "1.00")}, std::nullopt);
  remote_.set_mode(FakeRemote::Mode::kHtml);
  const SyncLog s = sync("products", "", 3);
  EXPECT_EQ(s.status, "failed");
  ASSERT_TRUE(s.error_message);
  EXPECT_NE(s.error_message->find("expected a JSON response but got text/html"), std::string::npos)
      << *s.error_message;
  EXPECT_TRUE(s.failed_at.has_value());
  EXPECT_EQ(remote_.requests(), 1);  // not retried
  EXPECT_EQ(count("SELECT COUNT(*) FROM products"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs"), 0);  // failed for good, not waiting to retry
  EXPECT_EQ(breaker_state(), "closed");
}

TEST_P(SyncJobTest, MalformedJsonOnPageTwoKeepsPageOneAndFails) {
  remote_.page("products", 1, {product("P1", "One", "1.00")}, 2);
  remote_.page("products", 2, {product("P2", "Two", "1.00")}, std::nullopt);
  remote_.set_mode(FakeRemote::Mode::kMalformed, 2);
  const SyncLog s = sync("products");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("the response is not valid JSON"), std::string::npos)
      << s.error_message.value_or("");
  EXPECT_EQ(s.pages, 1);
  EXPECT_TRUE(erp::catalog::load_product_by_sku(*conn_, "P1"));
  EXPECT_FALSE(erp::catalog::load_product_by_sku(*conn_, "P2"));
}

TEST_P(SyncJobTest, AnInvalidItemWritesNothingOfItsPage) {
  remote_.page("products", 1, {product("G1", "Good", "1.00"), product("B1", "Bad", "abc")},
               std::nullopt);
  const SyncLog s = sync("products");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("page 1, item 1"), std::string::npos)
      << s.error_message.value_or("");
  EXPECT_EQ(count("SELECT COUNT(*) FROM products"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM domain_events"), 0);
}

TEST_P(SyncJobTest, ASlowServerTimesOutAndIsRetriedWithBackoff) {
  runtime_.request_timeout = 150ms;
  runtime_.request_attempts = 2;
  remote_.set_mode(FakeRemote::Mode::kSlow);
  const SyncLog s = sync("products");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("timed out after 150 ms after 2 attempts"),
            std::string::npos)
      << s.error_message.value_or("");
  EXPECT_EQ(remote_.requests(), 2);
}

TEST_P(SyncJobTest, A404IsNotRetriedAndDoesNotCountAgainstTheEndpoint) {
  remote_.set_mode(FakeRemote::Mode::kNotFound);
  const SyncLog s = sync("products");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("HTTP 404"), std::string::npos);
  EXPECT_EQ(remote_.requests(), 1);
  EXPECT_EQ(count("SELECT failures FROM circuit_breakers"), 0);
}

TEST_P(SyncJobTest, ServerErrorsOpenTheCircuitAndOtherWorkersFailFastUntilAProbeCloses) {
  remote_.page("products", 1, {product("Z", "Z", "1.00")}, std::nullopt);
  remote_.set_mode(FakeRemote::Mode::kFail);
  SyncLog s = sync("products");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("HTTP 500 after 3 attempts"), std::string::npos);
  EXPECT_EQ(remote_.requests(), 3);
  EXPECT_EQ(breaker_state(), "open");  // in the database, for every worker

  // Another worker (its own connection), another tenant: fails fast, no request.
  conn_->set_tenant(b_);
  s = sync("products");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("circuit open"), std::string::npos);
  EXPECT_EQ(remote_.requests(), 3);

  // After the cool-down one probe goes out; it succeeds and closes the circuit.
  remote_.set_mode(FakeRemote::Mode::kOk);
  clock_.advance(31s);
  s = sync("products");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  EXPECT_EQ(remote_.requests(), 4);
  EXPECT_EQ(breaker_state(), "closed");
}

TEST_P(SyncJobTest, ATransientFailureLeavesTheRowRunningForTheQueuesRetry) {
  remote_.set_mode(FakeRemote::Mode::kFail);
  runtime_.request_attempts = 1;
  const SyncLog s = sync("products", "", 3);
  EXPECT_EQ(s.status, "running");
  EXPECT_NE(s.error_message.value_or("").find("attempt 1 failed, will retry"), std::string::npos)
      << s.error_message.value_or("");
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs"), 1);  // delayed by the job's backoff
}

TEST_P(SyncJobTest, ATenantsSyncSeesNoneOfAnotherTenantsData) {
  make("A-ONLY");
  conn_->set_tenant(b_);
  SyncLog s = sync("inventory");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  const auto posted = remote_.posted("inventory");
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_TRUE(posted[0]["data"].empty());
  remote_.page("products", 1, {product("A-ONLY", "B's own", "5.00")}, std::nullopt);
  s = sync("products");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "A-ONLY")->name, "B's own");
  EXPECT_EQ(load_syncs(*conn_).size(), 2u);
  conn_->set_tenant(a_);
  EXPECT_EQ(erp::catalog::load_product_by_sku(*conn_, "A-ONLY")->name, "Local A-ONLY");
  EXPECT_TRUE(load_syncs(*conn_).empty());
}

TEST_P(SyncJobTest, ARedeliveredJobOfAFinishedRunChangesNothing) {
  remote_.page("products", 1, {product("R", "R", "1.00")}, std::nullopt);
  const SyncLog s = sync("products");
  ASSERT_EQ(s.status, "completed");
  dispatcher_->dispatch(*conn_, a_, kSyncExternalData, json{{"sync_id", s.id}}.dump());
  drain();
  EXPECT_EQ(remote_.requests(), 1);
}

// The breaker alone, with an injected clock; two connections stand for two workers.
TEST_P(SyncJobTest, BreakerOpensAfterConsecutiveFailuresAndAllowsOneProbeAfterTheCoolDown) {
  const BreakerPolicy policy{.failure_threshold = 2, .cool_down = 10s, .probe_timeout = 20s};
  auto other_conn = db_->app();
  CircuitBreaker one(*conn_, "http://x", policy, clock_),
      two(*other_conn, "http://x", policy, clock_);
  auto p = one.allow();
  ASSERT_TRUE(p.allowed);
  one.record_failure(p);
  one.record_success(one.allow());  // a success resets the count
  EXPECT_EQ(one.status().failures, 0);
  one.record_failure(one.allow());
  EXPECT_EQ(one.status().state, BreakerState::kClosed);
  one.record_failure(one.allow());
  EXPECT_EQ(two.status().state, BreakerState::kOpen);
  EXPECT_FALSE(two.allow().allowed);
  clock_.advance(10s);
  const auto probe = two.allow();
  EXPECT_TRUE(probe.allowed && probe.probe);
  EXPECT_EQ(one.status().state, BreakerState::kHalfOpen);
  EXPECT_FALSE(one.allow().allowed);  // one probe at a time
  two.record_failure(probe);          // the probe failed: open for another cool-down
  EXPECT_EQ(one.status().state, BreakerState::kOpen);
  EXPECT_FALSE(one.allow().allowed);
  clock_.advance(10s);
  const auto silent = one.allow();
  ASSERT_TRUE(silent.probe);
  clock_.advance(20s);  // its worker died: the probe is taken over
  const auto takeover = two.allow();
  ASSERT_TRUE(takeover.probe);
  two.record_success(takeover);
  EXPECT_EQ(one.status().state, BreakerState::kClosed);
  EXPECT_EQ(one.status().failures, 0);
  EXPECT_TRUE(one.allow().allowed);
}

TEST_P(SyncJobTest, SyncCommandPrintsItsIdsAndSyncsListShowsTheOutcome) {
  remote_.page("products", 1, {product("CLI-1", "From CLI", "3.00")}, std::nullopt);
  const std::string env =
      db_->env_for_cli() + " QUEUE_CONNECTION=sync SYNC_TOKEN=t0k SYNC_ALLOWED_HOSTS=127.0.0.1";
  auto r = testing::run_cli(
      db_->dir(), env,
      "sync products --tenant=" + std::to_string(a_) + " --endpoint=" + remote_.url() + "/ --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_TRUE(out.contains("job_id"));
  EXPECT_EQ(out["status"], "completed");
  EXPECT_EQ(remote_.last_auth(), "Bearer t0k");
  EXPECT_TRUE(erp::catalog::load_product_by_sku(*conn_, "CLI-1"));

  remote_.set_mode(FakeRemote::Mode::kHtml);
  r = testing::run_cli(
      db_->dir(), env,
      "sync products --tenant=" + std::to_string(a_) + " --endpoint=" + remote_.url() + " --json");
  EXPECT_NE(r.exit, 0);
  // The job's step log shares stderr (jobs/job_log.h); the error itself is one line, last, and
  // with --json it is the {"error":…} object.
  const auto error_line = r.err.substr(r.err.rfind("\n{\"error\":") + 1);
  EXPECT_EQ(testing::line_count(error_line), 1u) << r.err;
  EXPECT_NE(error_line.find("text/html"), std::string::npos) << r.err;

  r = testing::run_cli(db_->dir(), env, "syncs:list --tenant=" + std::to_string(a_) + " --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  const json list = json::parse(r.out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["status"], "failed");
  EXPECT_NE(list[0]["error_message"].get<std::string>().find("text/html"), std::string::npos);
  EXPECT_FALSE(list[0]["failed_at"].is_null());
  EXPECT_EQ(list[1]["id"], out["sync_id"]);
  EXPECT_EQ(list[1]["status"], "completed");
  EXPECT_EQ(list[1]["sync_type"], "products");
  EXPECT_FALSE(list[1]["synced_at"].is_null());
  EXPECT_TRUE(list[1]["error_message"].is_null());

  r = testing::run_cli(
      db_->dir(), env,
      "sync widgets --tenant=" + std::to_string(a_) + " --endpoint=" + remote_.url());
  EXPECT_NE(r.exit, 0);
  EXPECT_NE(r.err.find("unknown sync type"), std::string::npos) << r.err;
  r = testing::run_cli(db_->dir(), env,
                       "sync products --tenant=" + std::to_string(a_) + " --endpoint=ftp://x");
  EXPECT_NE(r.exit, 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM sync_logs"), 2);  // bad input wrote nothing
}

TEST_P(SyncJobTest, TheDatabaseQueueDispatchesAndAWorkerRunsTheSync) {
  remote_.page("products", 1, {product("Q-1", "Queued", "3.00")}, std::nullopt);
  const std::string env =
      db_->env_for_cli() + " QUEUE_CONNECTION=database SYNC_ALLOWED_HOSTS=127.0.0.1";
  auto r = testing::run_cli(
      db_->dir(), env,
      "sync products --tenant=" + std::to_string(a_) + " --endpoint=" + remote_.url() + " --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  const json out = json::parse(r.out);
  EXPECT_EQ(out["status"], "running");
  EXPECT_EQ(remote_.requests(), 0);
  r = testing::run_cli(db_->dir(), env, "queue:work --stop-when-empty");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(load_sync(*conn_, out["sync_id"].get<int64_t>())->status, "completed");
  EXPECT_TRUE(erp::catalog::load_product_by_sku(*conn_, "Q-1"));
}

// Regression: a page nested 100,000 levels deep was copied recursively and every worker that
// ran the job died of a stack overflow (exit 139), then the next one took the retry.
TEST_P(SyncJobTest, ADeeplyNestedResponseFailsTheRunInsteadOfCrashingTheWorker) {
  remote_.set_mode(FakeRemote::Mode::kDeep);
  const SyncLog s = sync("products", "", 3);
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find(
                "the response is nested too deeply: more than 128 levels of arrays and objects"),
            std::string::npos)
      << s.error_message.value_or("");
  EXPECT_EQ(remote_.requests(), 1);  // refused for good, not retried into the next worker
  EXPECT_EQ(count("SELECT COUNT(*) FROM products"), 0);
}

// Regression: a 300 MB answer was read into memory (542 MB resident) before being refused.
TEST_P(SyncJobTest, AnOversizedResponseIsCutOffAtTheCapWithOrWithoutContentLength) {
  runtime_.max_response_bytes = size_t{1} << 20;
  for (const auto mode : {FakeRemote::Mode::kHuge, FakeRemote::Mode::kHugeLength}) {
    remote_.set_mode(mode);
    const SyncLog s = sync("products", "", 3);
    EXPECT_EQ(s.status, "failed");
    EXPECT_NE(s.error_message.value_or("").find(
                  "the response is larger than 1 MB (SYNC_MAX_RESPONSE_MB); the transfer was "
                  "stopped"),
              std::string::npos)
        << s.error_message.value_or("");
  }
  EXPECT_EQ(remote_.requests(), 2);  // once each, not retried
  // The client hung up near the cap: the server never got to send its 300 MB.
  EXPECT_LT(remote_.bytes_sent(), size_t{64} << 20);
  EXPECT_EQ(count("SELECT COUNT(*) FROM products"), 0);
}

// Regression: the first 200 bytes of a failed response went to sync_logs, failed_jobs and the
// worker's log.
TEST_P(SyncJobTest, AFailedResponseRecordsItsStatusButNeverItsBody) {
  std::mutex mu;
  std::string logged;
  job_log_ = [&](const std::string& line) {
    std::lock_guard lock(mu);
    logged += line + "\n";
  };
  remote_.set_mode(FakeRemote::Mode::kSecretError);
  const SyncLog s = sync("products", "", 3);
  job_log_ = {};
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("HTTP 400"), std::string::npos);
  EXPECT_EQ(s.error_message.value_or("").find(FakeRemote::kBodySecret), std::string::npos)
      << *s.error_message;
  const auto exception = db_->owner()->query_one("SELECT exception FROM failed_jobs");
  ASSERT_TRUE(exception);
  EXPECT_NE(exception->get<std::string>(0).find("HTTP 400"), std::string::npos);
  EXPECT_EQ(exception->get<std::string>(0).find(FakeRemote::kBodySecret), std::string::npos);
  EXPECT_NE(logged.find("HTTP 400"), std::string::npos) << logged;
  EXPECT_EQ(logged.find(FakeRemote::kBodySecret), std::string::npos) << logged;
}

// Regression: any http(s) endpoint was accepted (169.254.169.254 included) and SYNC_TOKEN went
// to whatever host a tenant named.
TEST_P(SyncJobTest, AnEndpointNotInSyncAllowedHostsIsRefusedAtDispatch) {
  const std::vector<Config::AllowedHost> allowed{{"127.0.0.1", 0}, {"erp.example.com", 8443}};
  auto refused = [&](const std::string& endpoint, const std::vector<Config::AllowedHost>& list,
                     const std::string& expected) {
    try {
      check_sync_request("products", "", endpoint, list);
      ADD_FAILURE() << endpoint << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
    }
  };
  refused("http://169.254.169.254/latest/meta-data", allowed,
          "the sync endpoint's host 169.254.169.254:80 is not in SYNC_ALLOWED_HOSTS");
  refused("https://erp.example.com/api", allowed, "erp.example.com:443 is not in");
  refused("http://127.0.0.2:80", allowed, "127.0.0.2:80 is not in");
  refused("http://[::1]:8080", allowed, "[::1]:8080 is not in");
  refused(remote_.url(), {}, "(it is empty: no sync endpoint is allowed)");
  refused("http://user:pw@127.0.0.1/", allowed, "must not carry a user name or password");
  EXPECT_NO_THROW(check_sync_request("products", "", "https://ERP.example.com:8443/v1", allowed));
  EXPECT_NO_THROW(check_sync_request("products", "", remote_.url(), allowed));

  const std::string env =
      db_->env_for_cli() + " QUEUE_CONNECTION=database SYNC_ALLOWED_HOSTS=erp.example.com";
  for (const std::string& endpoint : {std::string("http://169.254.169.254"), remote_.url()}) {
    const auto r = testing::run_cli(
        db_->dir(), env,
        "sync products --tenant=" + std::to_string(a_) + " --endpoint=" + endpoint);
    EXPECT_EQ(r.exit, 2) << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("is not in SYNC_ALLOWED_HOSTS"), std::string::npos) << r.err;
  }
  EXPECT_EQ(count("SELECT COUNT(*) FROM sync_logs"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM jobs"), 0);
  EXPECT_EQ(remote_.requests(), 0);
}

TEST_P(SyncJobTest, AQueuedSyncToAHostNoLongerAllowedMakesNoRequest) {
  runtime_.allowed_hosts = {{"erp.example.com", 0}};  // the worker's list changed since
  const SyncLog s = sync("products", "", 3);
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("127.0.0.1:" + remote_.url().substr(17) +
                                              " is not in SYNC_ALLOWED_HOSTS"),
            std::string::npos)
      << s.error_message.value_or("");
  EXPECT_EQ(remote_.requests(), 0);  // the token went nowhere
}

TEST_P(SyncJobTest, AListedNameResolvingToLoopbackIsRefusedUnlessTheAddressIsListed) {
  const std::string by_name = "http://localhost:" + remote_.url().substr(17);
  runtime_.allowed_hosts = {{"localhost", 0}};
  SyncLog s = sync_to(by_name, "products");
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("the sync endpoint's host localhost resolves to"),
            std::string::npos)
      << s.error_message.value_or("");
  EXPECT_NE(s.error_message.value_or("").find("a loopback address"), std::string::npos);
  EXPECT_EQ(remote_.requests(), 0);
  runtime_.allowed_hosts = {{"localhost", 0}, {"127.0.0.1", 0}, {"::1", 0}};
  s = sync_to(by_name, "products");
  EXPECT_EQ(s.status, "completed") << s.error_message.value_or("");
  EXPECT_EQ(remote_.requests(), 1);
}

TEST_P(SyncJobTest, RedirectsToAnotherHostAreNotFollowed) {
  FakeRemote elsewhere;
  remote_.redirect_to(elsewhere.url() + "/products?page=1");
  remote_.set_mode(FakeRemote::Mode::kRedirect);
  runtime_.allowed_hosts = {{"127.0.0.1", std::stoi(remote_.url().substr(17))}};
  const SyncLog s = sync("products", "", 3);
  EXPECT_EQ(s.status, "failed");
  EXPECT_NE(s.error_message.value_or("").find("HTTP 302 (redirects are not followed)"),
            std::string::npos)
      << s.error_message.value_or("");
  EXPECT_EQ(elsewhere.requests(), 0);
}

// DNS rebinding: the connection goes to the address that was checked, whatever DNS says later.
TEST(SyncHttpClient, ThePinnedAddressIsTheOneConnectedTo) {
  FakeRemote remote;
  const std::string port = remote.url().substr(17);
  HttpRequest q{.url = "http://unity-rebinding.invalid:" + port + "/products?page=1"};
  q.timeout = 5000ms;
  q.pinned = "unity-rebinding.invalid:" + port + ":127.0.0.1";
  const HttpResponse r = http_send(q);
  EXPECT_TRUE(r.ok()) << r.transport_error << " " << r.status;
  EXPECT_EQ(remote.requests(), 1);
  EXPECT_THROW(
      resolve_endpoint("http://unity-rebinding.invalid/", {{"unity-rebinding.invalid", 0}}),
      Error);  // and the name itself resolves nowhere
}

INSTANTIATE_TEST_SUITE_P(Drivers, SyncJobTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::jobs
