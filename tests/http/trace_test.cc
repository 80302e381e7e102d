// Tracing end to end (issue 12), on both drivers: a traceparent sent to a real `unity serve` on
// loopback follows an order through its event, the queued listeners a real worker process runs,
// the jobs they dispatch and the notifications those write; `unity trace` shows the tree; retries
// keep the trace; spans reach a real OTLP/HTTP receiver.
#include <mutex>
#include <set>

#include "core/trace.h"
#include "jobs/bulk_notify.h"
#include "jobs/job_start.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "queue/store.h"
#include "serve_fixture.h"

namespace unity::testing {
namespace {

class TraceTest : public ServeFixture {
 protected:
  // The order flow's set-up: a product with stock, a customer, an order; returns the order id.
  std::string order_ready() {
    EXPECT_EQ(call("POST", "/api/v1/products", token_a_, kWidget).first, 201);
    EXPECT_EQ(call("POST", "/api/v1/stock/receipts", token_a_,
                   R"({"sku":"W-1","location":"MAIN","quantity":"10","unit_cost":"4.00",)"
                   R"("batch":"B1"})")
                  .first,
              201);
    auto [st_c, customer] = call("POST", "/api/v1/customers", token_a_,
                                 R"({"name":"C","email":"c@c.test","payment_terms_days":30})");
    EXPECT_EQ(st_c, 201);
    auto [st_o, order] =
        call("POST", "/api/v1/orders", token_a_,
             json{{"customer_id", customer["id"]},
                  {"lines", {{{"sku", "W-1"}, {"quantity", "3"}, {"unit_price", "9.50"}}}}}
                 .dump());
    EXPECT_EQ(st_o, 201) << order;
    return std::to_string(order.value("id", int64_t{0}));
  }
  // Dispatches diag jobs {type, payload, tries} in tenant A inside the trace `tid` under span
  // `parent`, as a request handler would.
  struct DiagJob {
    std::string type, payload;
    int tries;
  };
  void dispatch_in_trace(const std::string& tid, const std::string& parent,
                         const std::vector<DiagJob>& jobs) {
    queue::JobRegistry registry;
    queue::register_diag_jobs(registry);
    queue::Dispatcher dispatcher(db_->config(), registry);
    trace::TraceScope scope(tid, parent);
    db::TenantScope tenant(*conn_, tenant_a_);
    for (const auto& j : jobs) {
      queue::DispatchOptions options;
      options.tries = j.tries;
      dispatcher.dispatch(*conn_, tenant_a_, j.type, j.payload, options);
    }
  }
  // POST with a traceparent header (none when empty); returns the status and the response's.
  std::pair<int, std::string> post_traced(const std::string& path, const std::string& body,
                                          const std::string& traceparent) {
    auto c = client();
    httplib::Headers h = auth(token_a_);
    if (!traceparent.empty()) h.emplace("traceparent", traceparent);
    auto r = c.Post(path.c_str(), h, body, "application/json");
    if (!r) return {0, ""};
    return {r->status, r->get_header_value("traceparent")};
  }
  json trace_json(const std::string& id, const std::string& extra = "") {
    return cli_json("trace " + id + extra);
  }
  static std::multiset<std::string> names_of_kind(const json& trace, const std::string& kind) {
    std::multiset<std::string> out;
    for (const auto& s : trace["spans"]) {
      if (s["kind"] == kind) out.insert(s["name"].get<std::string>());
    }
    return out;
  }
  // The spans' (kind, name) → depth in the tree.
  static int depth_of(const json& trace, const std::string& kind, const std::string& name) {
    for (const auto& s : trace["spans"]) {
      if (s["kind"] == kind && s["name"] == name) return s["depth"].get<int>();
    }
    return -1;
  }

  static constexpr const char* kWidget =
      R"({"sku":"W-1","name":"Widget","price":"9.50","cost":"4.00","reorder_level":"5",)"
      R"("unit":"pcs"})";
  static constexpr const char* kTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  static constexpr const char* kCallerSpan = "00f067aa0ba902b7";
};

TEST_P(TraceTest, AnApprovedOrderIsTracedThroughItsListenersJobsAndNotifications) {
  start_server();
  const std::string order = order_ready();
  const std::string header = std::string("00-") + kTraceId + "-" + kCallerSpan + "-01";
  auto [status, answer] = post_traced("/api/v1/orders/" + order + "/approve", "", header);
  ASSERT_EQ(status, 200);
  // The response continues the caller's trace with the request's own span.
  auto parsed = trace::parse_traceparent(answer);
  ASSERT_TRUE(parsed) << answer;
  EXPECT_EQ(parsed->trace_id, kTraceId);
  EXPECT_NE(parsed->parent_span_id, kCallerSpan);

  auto w = cli("queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(w.exit, 0) << w.err;
  const json t = trace_json(kTraceId);
  ASSERT_TRUE(t.contains("spans")) << t;
  for (const auto& s : t["spans"]) EXPECT_EQ(s["status"], "ok") << s;

  // request → OrderApproved → its listeners → InvoiceGenerated → SendInvoiceToCustomer → …
  ASSERT_GE(t["spans"].size(), 1u);
  EXPECT_EQ(t["spans"][0]["kind"], "request");
  EXPECT_EQ(t["spans"][0]["parent_span_id"], kCallerSpan);
  EXPECT_EQ(t["spans"][0]["span_id"], parsed->parent_span_id);
  EXPECT_EQ(depth_of(t, "event", "OrderApproved"), 1);
  EXPECT_EQ(depth_of(t, "listener", "listener.GenerateInvoiceFromOrder"), 2);
  EXPECT_EQ(depth_of(t, "listener", "listener.SendOrderStatusNotification"), 2);
  EXPECT_EQ(depth_of(t, "event", "InvoiceGenerated"), 3);
  EXPECT_EQ(depth_of(t, "listener", "listener.SendInvoiceToCustomer"), 4);
  EXPECT_GE(names_of_kind(t, "job").count("notify.deliver"), 1u);
  EXPECT_GE(names_of_kind(t, "notification").size(), 1u);
  for (const auto& s : t["spans"]) {
    if (s["kind"] == "notification") {
      EXPECT_GE(s["depth"].get<int>(), 4) << s;
    }
  }

  // The rows carry the trace: the events, the notifications.
  auto owner = db_->owner();
  EXPECT_GE(owner->query_int("SELECT count(*) FROM domain_events WHERE trace_id = $1", {kTraceId}),
            2);
  const int64_t notified =
      owner->query_int("SELECT count(*) FROM notifications WHERE trace_id = $1", {kTraceId});
  EXPECT_GE(notified, 1);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM notifications WHERE trace_id IS NULL"), 0);
  // Every line the worker logged carries the trace of its job (every request starts one).
  const std::string log = slurp(db_->dir() + "/storage/logs/worker.log");
  EXPECT_NE(log.find(std::string("\"trace_id\":\"") + kTraceId + "\""), std::string::npos) << log;
  int job_lines = 0;
  for (size_t at = log.find("\"job."); at != std::string::npos; at = log.find("\"job.", at + 1)) {
    const size_t line_end = log.find('\n', at);
    const size_t line_start = log.rfind('\n', at) + 1;
    EXPECT_NE(log.substr(line_start, line_end - line_start).find("\"trace_id\":\""),
              std::string::npos);
    ++job_lines;
  }
  EXPECT_GT(job_lines, 0);

  // The people's view: indented, with durations.
  auto human = cli("trace " + std::string(kTraceId));
  ASSERT_EQ(human.exit, 0) << human.err;
  EXPECT_NE(human.out.find("  request POST /api/v1/orders/{id}/approve"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("      listener listener.GenerateInvoiceFromOrder"), std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find(" ms"), std::string::npos);

  // The tenant's own view has it; another tenant's does not; unknown and malformed ids.
  EXPECT_EQ(trace_json(kTraceId, " --tenant=" + std::to_string(tenant_a_))["spans"].size(),
            t["spans"].size());
  EXPECT_EQ(cli("trace " + std::string(kTraceId) + " --tenant=" + std::to_string(tenant_b_)).exit,
            3);
  auto unknown = cli("trace 0123456789abcdef0123456789abcdef");
  EXPECT_EQ(unknown.exit, 3);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
  EXPECT_EQ(cli("trace not-a-trace").exit, 2);
}

TEST_P(TraceTest, AMalformedOrMissingTraceparentStartsANewTrace) {
  start_server();
  const std::string bad = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
  auto [status, answer] = post_traced("/api/v1/products", kWidget, bad);
  ASSERT_EQ(status, 201);
  auto parsed = trace::parse_traceparent(answer);
  ASSERT_TRUE(parsed) << answer;
  EXPECT_NE(parsed->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  const json t = trace_json(parsed->trace_id);
  EXPECT_EQ(t["spans"][0]["kind"], "request");
  EXPECT_TRUE(t["spans"][0]["parent_span_id"].is_null()) << t;
  EXPECT_EQ(depth_of(t, "event", "ProductCreated"), 1);

  // No header: a new trace as well, different from the last.
  auto [status2, answer2] = post_traced(
      "/api/v1/products",
      R"({"sku":"W-2","name":"W2","price":"1.00","cost":"0.50","reorder_level":"1","unit":"pcs"})",
      "");
  ASSERT_EQ(status2, 201);
  auto parsed2 = trace::parse_traceparent(answer2);
  ASSERT_TRUE(parsed2);
  EXPECT_NE(parsed2->trace_id, parsed->trace_id);
  // A read records nothing: no span, though its answer names a trace.
  auto c = client();
  auto got = c.Get("/api/v1/products/W-1", auth(token_a_));
  ASSERT_TRUE(got);
  auto read = trace::parse_traceparent(got->get_header_value("traceparent"));
  ASSERT_TRUE(read);
  EXPECT_EQ(cli("trace " + read->trace_id).exit, 3);
}

TEST_P(TraceTest, ARetriedJobKeepsItsTraceAcrossProcessesAndQueueRetry) {
  const std::string tid = trace::new_trace_id(), parent = trace::new_span_id();
  // Fails its first attempt, succeeds on the second; fails for good with one try.
  dispatch_in_trace(tid, parent,
                    {{"diag.fail", R"({"times":1})", 2}, {"diag.fail", R"({"times":5})", 1}});
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM jobs WHERE trace_id = $1 AND"
                             " parent_span_id = $2",
                             {tid, parent}),
            2);
  // The first worker stops with the retry still delayed; another process runs it.
  auto w = cli("queue:work --stop-when-empty --sleep=0.1 --backoff=0.2");
  ASSERT_EQ(w.exit, 0) << w.err;
  std::this_thread::sleep_for(500ms);
  w = cli("queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(w.exit, 0) << w.err;
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM failed_jobs WHERE trace_id = $1", {tid}), 1);
  json t = trace_json(tid);
  std::multiset<std::string> statuses;
  for (const auto& s : t["spans"]) {
    EXPECT_EQ(s["parent_span_id"], parent) << s;  // every attempt a child of the dispatcher
    statuses.insert(s["status"].get<std::string>());
  }
  EXPECT_EQ(statuses, (std::multiset<std::string>{"retry", "ok", "error"})) << t;

  // queue:retry puts it back in the same trace; a worker in another process runs it there.
  ASSERT_EQ(cli("queue:retry all").exit, 0);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM jobs WHERE trace_id = $1", {tid}), 1);
  ASSERT_EQ(cli("queue:work --stop-when-empty --sleep=0.1").exit, 0);
  t = trace_json(tid);
  EXPECT_EQ(t["spans"].size(), 4u) << t;
}

TEST_P(TraceTest, BulkNotificationsCarryTheTraceOfTheirJobWithOneSpanPerDelivery) {
  const std::string tid = trace::new_trace_id(), parent = trace::new_span_id();
  user(tenant_a_, "u1@acme.test", "admin");
  user(tenant_a_, "u2@acme.test", "admin");
  {
    queue::JobRegistry registry;
    jobs::register_bulk_notify_job(registry, system_clock());
    queue::Dispatcher dispatcher(db_->config(), registry);
    trace::TraceScope scope(tid, parent);
    db::TenantScope tenant(*conn_, tenant_a_);
    jobs::start_bulk_notification(*conn_, {db_->config(), dispatcher, tenant_a_, admin_a_},
                                  "announcement", std::nullopt,
                                  {{"title", "Stocktake"}, {"message", "Friday"}});
  }
  auto w = cli("queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(w.exit, 0) << w.err;
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM notifications WHERE trace_id = $1", {tid}), 3);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM notifications WHERE trace_id IS NULL"), 0);
  // The job's attempt, and under it one span for the delivery of all three rows.
  const json t = trace_json(tid);
  ASSERT_EQ(t["spans"].size(), 2u) << t;
  EXPECT_EQ(t["spans"][0]["name"], jobs::kSendBulkNotifications);
  EXPECT_EQ(t["spans"][0]["parent_span_id"], parent);
  EXPECT_EQ(t["spans"][1]["kind"], "notification");
  EXPECT_EQ(t["spans"][1]["name"], "AnnouncementNotification");
  EXPECT_EQ(t["spans"][1]["parent_span_id"], t["spans"][0]["span_id"]);
  EXPECT_EQ(t["spans"][1]["tenant_id"], tenant_a_);
  EXPECT_NE(t["spans"][1]["detail"].get<std::string>().find("3 recipient(s)"), std::string::npos);
}

TEST_P(TraceTest, AnAttemptLostWithItsWorkerIsASpanOfTheRescuer) {
  const std::string tid = trace::new_trace_id(), parent = trace::new_span_id();
  dispatch_in_trace(tid, parent, {{"diag.noop", "{}", 1}});
  // A worker claims it for 100 ms and is gone before it finishes.
  queue::JobStore store(*conn_, "jobs", system_clock());
  auto claimed =
      store.job_claim({"default", tenant_a_, 1, queue::new_lease_token(), "lost-worker", 100'000});
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(cli("trace " + tid).exit, 3);  // nothing finished yet
  std::this_thread::sleep_for(300ms);
  // Another worker's rescuer takes it over; its one try is spent, so it fails for good.
  auto w = cli("queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(w.exit, 0) << w.err;
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM failed_jobs WHERE trace_id = $1", {tid}), 1);
  const json t = trace_json(tid);
  ASSERT_EQ(t["spans"].size(), 1u) << t;
  const json& s = t["spans"][0];
  EXPECT_EQ(s["name"], "diag.noop");
  EXPECT_EQ(s["status"], "lost");
  EXPECT_EQ(s["parent_span_id"], parent);
  EXPECT_EQ(s["tenant_id"], tenant_a_);
  EXPECT_GE(s["duration_ms"].get<double>(), 100.0) << s;  // from the claim to the rescue
  EXPECT_NE(s["detail"].get<std::string>().find("lease expired"), std::string::npos) << s;
  auto human = cli("trace " + tid);
  EXPECT_NE(human.out.find("job diag.noop"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("[lost]"), std::string::npos) << human.out;
}

TEST_P(TraceTest, ADispatchingCommandStartsATraceItsJobsJoin) {
  const std::string tenant = " --tenant=" + std::to_string(tenant_a_);
  auto owner = db_->owner();
  // No TRACEPARENT: a new trace, the command's span its root.
  auto d = cli("queue:dispatch diag.noop" + tenant);
  ASSERT_EQ(d.exit, 0) << d.err;
  EXPECT_EQ(d.out.find("trace"), std::string::npos) << d.out;  // nothing new printed
  auto row = owner->query_one("SELECT trace_id, parent_span_id FROM jobs");
  ASSERT_TRUE(row);
  const auto tid = row->get<std::optional<std::string>>(0);
  ASSERT_TRUE(tid);
  ASSERT_TRUE(trace::parse_traceparent("00-" + *tid + "-00f067aa0ba902b7-01")) << *tid;
  json t = trace_json(*tid);
  ASSERT_EQ(t["spans"].size(), 1u) << t;
  EXPECT_EQ(t["spans"][0]["kind"], "command");
  EXPECT_EQ(t["spans"][0]["name"], "queue:dispatch");
  EXPECT_EQ(t["spans"][0]["status"], "ok");
  EXPECT_TRUE(t["spans"][0]["parent_span_id"].is_null()) << t;
  EXPECT_EQ(t["spans"][0]["span_id"], row->get<std::string>(1));
  EXPECT_EQ(t["spans"][0]["tenant_id"], tenant_a_);
  // The job's attempt, in another process, is the command's child.
  ASSERT_EQ(cli("queue:work --stop-when-empty --sleep=0.1").exit, 0);
  t = trace_json(*tid);
  EXPECT_EQ(depth_of(t, "job", "diag.noop"), 1) << t;
  auto human = cli("trace " + *tid);
  EXPECT_NE(human.out.find("  command queue:dispatch"), std::string::npos) << human.out;

  // TRACEPARENT continues the caller's trace: the bulk send's command → job → notifications.
  extra_env_ = std::string(" TRACEPARENT=00-") + kTraceId + "-" + kCallerSpan + "-01";
  auto bulk = cli("notify:bulk --users=all --type=announcement" + tenant +
                  R"( --data='{"title":"Stocktake","message":"Friday"}')");
  ASSERT_EQ(bulk.exit, 0) << bulk.err;
  extra_env_.clear();
  ASSERT_EQ(cli("queue:work --stop-when-empty --sleep=0.1").exit, 0);
  t = trace_json(kTraceId);
  ASSERT_GE(t["spans"].size(), 3u) << t;
  EXPECT_EQ(t["spans"][0]["name"], "notify:bulk");
  EXPECT_EQ(t["spans"][0]["parent_span_id"], kCallerSpan);
  EXPECT_EQ(depth_of(t, "job", jobs::kSendBulkNotifications), 1) << t;
  EXPECT_EQ(depth_of(t, "notification", "AnnouncementNotification"), 2) << t;
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM notifications WHERE trace_id = $1", {kTraceId}),
            1);

  // A read records nothing: no span; a command that fails before dispatching writes none either.
  const int64_t spans = owner->query_int("SELECT count(*) FROM spans");
  ASSERT_EQ(cli("queue:stats").exit, 0);
  EXPECT_EQ(cli("queue:dispatch no.such.type" + tenant).exit, 2);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM spans"), spans);
}

// A collector on loopback: the OTLP/HTTP JSON requests it received.
class Collector {
 public:
  Collector() {
    server_.Post("/v1/traces", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      bodies_.push_back(req.body);
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    (void)eventually([this] { return server_.is_running(); }, 5s);
  }
  ~Collector() {
    server_.stop();
    thread_.join();
  }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Every span received, by span id.
  std::map<std::string, json> spans() {
    std::lock_guard lock(mu_);
    std::map<std::string, json> out;
    for (const auto& b : bodies_) {
      const json doc = json::parse(b);
      for (const auto& rs : doc["resourceSpans"]) {
        for (const auto& ss : rs["scopeSpans"]) {
          for (const auto& s : ss["spans"]) out[s["spanId"].get<std::string>()] = s;
        }
      }
    }
    return out;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;  // guards bodies_
  std::vector<std::string> bodies_;
};

TEST_P(TraceTest, SpansAreExportedAsOtlpJsonToTheConfiguredEndpoint) {
  Collector collector;
  start_server({{"OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()}});
  const std::string order = order_ready();
  const std::string header = std::string("00-") + kTraceId + "-" + kCallerSpan + "-01";
  ASSERT_EQ(post_traced("/api/v1/orders/" + order + "/approve", "", header).first, 200);
  extra_env_ = " OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.endpoint();
  ASSERT_EQ(cli("queue:work --stop-when-empty --sleep=0.1").exit, 0);
  const json stored = trace_json(kTraceId);
  ASSERT_GE(stored["spans"].size(), 6u);
  // Every stored span arrives (the server's within its export interval, the worker's at exit).
  std::map<std::string, json> got;
  EXPECT_TRUE(eventually(
      [&] {
        got = collector.spans();
        for (const auto& s : stored["spans"]) {
          if (!got.count(s["span_id"].get<std::string>())) return false;
        }
        return true;
      },
      10s))
      << got.size() << " of " << stored["spans"].size();
  for (const auto& s : stored["spans"]) {
    const json& o = got[s["span_id"].get<std::string>()];
    EXPECT_EQ(o["traceId"], kTraceId);
    EXPECT_EQ(o["name"], s["name"]);
    if (!s["parent_span_id"].is_null()) {
      EXPECT_EQ(o["parentSpanId"], s["parent_span_id"]);
    }
    const auto start = std::stoll(o["startTimeUnixNano"].get<std::string>());
    const auto end = std::stoll(o["endTimeUnixNano"].get<std::string>());
    EXPECT_GT(start, 1'600'000'000'000'000'000LL);
    EXPECT_GE(end, start);
  }
}

TEST_P(TraceTest, AnExportThatFailsNeverFailsAJob) {
  start_server();
  const std::string order = order_ready();
  const std::string header = std::string("00-") + kTraceId + "-" + kCallerSpan + "-01";
  ASSERT_EQ(post_traced("/api/v1/orders/" + order + "/approve", "", header).first, 200);
  // Nothing listens there: every POST is refused.
  extra_env_ = " OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:1";
  auto w = cli("queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(w.exit, 0) << w.err;
  EXPECT_EQ(count_rows("jobs"), 0);
  EXPECT_EQ(count_rows("failed_jobs"), 0);
  EXPECT_GE(names_of_kind(trace_json(kTraceId), "notification").size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Drivers, TraceTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
