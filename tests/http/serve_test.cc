// `unity serve` end to end, on both drivers: the real binary serving on loopback, real HTTP
// clients (cpp-httplib; raw sockets for streams and slow clients; Beast for WebSocket), the CLI
// twins reading the same rows, a real worker process writing the notifications streams receive.
#include <algorithm>
#include <filesystem>

#include "db/transaction.h"
#include "notify/notifier.h"
#include "serve_fixture.h"
#include "ws_client.h"

namespace unity::testing {
namespace {

class ServeTest : public ServeFixture {};

const char* kWidget =
    R"({"sku":"W-1","name":"Widget","price":"9.50","cost":"4.00","reorder_level":"5","unit":"pcs"})";

TEST_P(ServeTest, HealthAndReadinessAnswerWithoutAToken) {
  start_server();
  EXPECT_EQ(client().Get("/healthz")->status, 200);
  auto ready = client().Get("/readyz");
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(json::parse(ready->body)["status"], "ready");
}

TEST_P(ServeTest, ProductsOverHttpAreTheRowsAndEventsTheCliSees) {
  start_server();
  auto [st, created] = call("POST", "/api/v1/products", token_a_, kWidget);
  ASSERT_EQ(st, 201) << created;
  EXPECT_EQ(created["sku"], "W-1");
  EXPECT_EQ(created["on_hand"], "0.00");

  auto twin = cli_json("product:show --tenant=" + std::to_string(tenant_a_) +
                       " --data='{\"sku\":\"W-1\"}'");
  EXPECT_EQ(twin, created);
  auto [st_get, got] = call("GET", "/api/v1/products/W-1", token_a_);
  EXPECT_EQ(st_get, 200);
  EXPECT_EQ(got, created);
  auto [st_id, by_id] =
      call("GET", "/api/v1/products/" + std::to_string(int64_t(created["id"])), token_a_);
  EXPECT_EQ(st_id, 200);
  EXPECT_EQ(by_id["sku"], "W-1");

  auto [st_patch, patched] = call("PATCH", "/api/v1/products/W-1", token_a_, R"({"price":"11"})");
  EXPECT_EQ(st_patch, 200) << patched;
  EXPECT_EQ(patched["price"], "11.00");

  auto events = cli_json("events:list --tenant=" + std::to_string(tenant_a_));
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0]["name"], "ProductCreated");
  EXPECT_EQ(events[0]["user_id"], admin_a_);
  EXPECT_EQ(events[1]["name"], "ProductUpdated");

  auto [st_del, deleted] = call("DELETE", "/api/v1/products/W-1", token_a_);
  EXPECT_EQ(st_del, 200);
  EXPECT_FALSE(deleted["deleted_at"].is_null());
  EXPECT_EQ(call("GET", "/api/v1/products/W-1", token_a_).first, 404);
}

// The server's SQLite connections checkpoint the WAL on their own thread (as the worker's do),
// so no request's COMMIT copies the log into the database file. PostgreSQL has no client-side
// checkpoint.
TEST_P(ServeTest, CheckpointsTheSqliteLogOffTheRequestPath) {
  if (GetParam() != Driver::kSqlite) GTEST_SKIP() << "SQLite's WAL only";
  start_server();
  ASSERT_EQ(call("POST", "/api/v1/products", token_a_, kWidget).first, 201);
  std::vector<std::string> threads;
  const std::string tasks = "/proc/" + std::to_string(server_->pid()) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks)) {
    std::string name = slurp(task.path().string() + "/comm");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    threads.push_back(name);
  }
  // A thread's name is at most 15 characters ("unity checkpoint" reads "unity checkpoin").
  const std::string checkpointer = std::string("unity checkpoint").substr(0, 15);
  EXPECT_NE(std::find(threads.begin(), threads.end(), checkpointer), threads.end())
      << ::testing::PrintToString(threads);
}

TEST_P(ServeTest, ProductListPagesWithACursor) {
  start_server();
  for (int i = 1; i <= 5; ++i) {
    json p = json::parse(kWidget);
    p["sku"] = "P-" + std::to_string(i);
    ASSERT_EQ(call("POST", "/api/v1/products", token_a_, p.dump()).first, 201);
  }
  std::vector<std::string> skus;
  std::string path = "/api/v1/products?limit=2";
  for (int page = 0; page < 5; ++page) {
    auto [st, body] = call("GET", path, token_a_);
    ASSERT_EQ(st, 200) << body;
    for (const auto& p : body["data"]) skus.push_back(p["sku"]);
    if (body["next_cursor"].is_null()) break;
    path = "/api/v1/products?limit=2&cursor=" + body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(skus, (std::vector<std::string>{"P-1", "P-2", "P-3", "P-4", "P-5"}));
  EXPECT_EQ(call("GET", "/api/v1/products?cursor=%%%", token_a_).first, 400);
  EXPECT_EQ(call("GET", "/api/v1/products", token_b_).second["data"].size(), 0u);
}

TEST_P(ServeTest, AuthMatrix) {
  const int64_t billing = user(tenant_a_, "billing@acme.test", "billing");
  const std::string billing_token = token(tenant_a_, billing);
  const std::string revoked = token(tenant_a_, admin_a_);
  auto listed = cli_json("token:list --tenant=" + std::to_string(tenant_a_));
  const int64_t revoked_id = listed[0]["id"];
  ASSERT_EQ(
      cli("token:revoke " + std::to_string(revoked_id) + " --tenant=" + std::to_string(tenant_a_))
          .exit,
      0);
  EXPECT_EQ(listed[0].count("token"), 0u) << "a listed token never shows its secret";
  const std::string expired =
      cli_json("token:create --tenant=" + std::to_string(tenant_a_) +
               " --user=" + std::to_string(admin_a_) + " --expires-days=1")["token"];
  db_->owner()->execute(
      "UPDATE api_tokens SET expires_at = $1 WHERE name = 'api' AND"
      " expires_at IS NOT NULL",
      {std::string("2000-01-01T00:00:00.000000Z")});
  const std::string operator_token = cli_json("token:create --operator --name=ops")["token"];
  start_server();

  auto no_token = client().Get("/api/v1/products");
  EXPECT_EQ(no_token->status, 401);
  EXPECT_EQ(no_token->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(json::parse(no_token->body)["error"]["code"], "unauthenticated");
  for (const std::string& bad :
       {std::string("nonsense"), token_a_ + "x", revoked, expired,
        "uty_" + std::to_string(tenant_b_) + token_a_.substr(token_a_.find('_', 4))}) {
    EXPECT_EQ(call("GET", "/api/v1/products", bad).first, 401) << bad;
  }
  EXPECT_EQ(call("GET", "/api/v1/products", token_a_).first, 200);
  // A role without the permission; an operator token on business data.
  auto [st_role, err_role] = call("POST", "/api/v1/products", billing_token, kWidget);
  EXPECT_EQ(st_role, 403);
  EXPECT_EQ(err_role["error"]["code"], "permission_denied");
  EXPECT_EQ(call("GET", "/api/v1/products", operator_token).first, 403);
  EXPECT_EQ(count_rows("products"), 0);

  // Every id of another tenant is 404, like an unknown one.
  ASSERT_EQ(call("POST", "/api/v1/products", token_b_, kWidget).first, 201);
  auto [st_c, customer] = call("POST", "/api/v1/customers", token_b_,
                               R"({"name":"B Co","email":"b@b.test","payment_terms_days":30})");
  ASSERT_EQ(st_c, 201) << customer;
  auto [st_o, order] =
      call("POST", "/api/v1/orders", token_b_,
           json{{"customer_id", customer["id"]},
                {"lines", {{{"sku", "W-1"}, {"quantity", "1"}, {"unit_price", "9.50"}}}}}
               .dump());
  ASSERT_EQ(st_o, 201) << order;
  const std::string b_order = std::to_string(int64_t(order["id"]));
  const std::string b_customer = std::to_string(int64_t(customer["id"]));
  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/products/W-1"},
           {"GET", "/api/v1/stock/W-1"},
           {"PATCH", "/api/v1/products/W-1"},
           {"DELETE", "/api/v1/products/W-1"},
           {"GET", "/api/v1/customers/" + b_customer},
           {"GET", "/api/v1/orders/" + b_order},
           {"POST", "/api/v1/orders/" + b_order + "/approve"},
           {"POST", "/api/v1/orders/" + b_order + "/fulfill"},
           {"POST", "/api/v1/leads/" + b_customer + "/convert"},
           {"GET", "/api/v1/invoices/" + b_order},
           {"POST", "/api/v1/invoices/" + b_order + "/payments"}}) {
    auto [st, body] = call(method, path, token_a_, method == "PATCH" ? R"({"name":"x"})" : "");
    EXPECT_EQ(st, 404) << method << " " << path << " " << body;
    EXPECT_EQ(body["error"]["code"], "not_found") << path;
  }
  // A body naming another tenant's customer changes nothing of that tenant.
  auto [st_x, x] = call("POST", "/api/v1/orders", token_a_,
                        json{{"customer_id", customer["id"]},
                             {"lines", {{{"sku", "W-1"}, {"quantity", "1"}, {"unit_price", "1"}}}}}
                            .dump());
  EXPECT_EQ(st_x, 404) << x;
  EXPECT_EQ(call("GET", "/api/v1/orders/" + b_order, token_b_).second["status"], "draft");
  EXPECT_EQ(count_rows("orders"), 1);
}

TEST_P(ServeTest, BadInputIsRefusedAndWritesNothing) {
  start_server();
  const std::vector<std::string> bodies = {
      "{not json", "[1,2]", R"({"sku":"W-1","name":5,"price":"12"})",
      R"({"sku":"W-1","name":"W","price":"1","cost":"1","reorder_level":"1","unit":"pcs","colour":"red"})"};
  for (const auto& b : bodies) {
    auto [st, body] = call("POST", "/api/v1/products", token_a_, b);
    EXPECT_EQ(st, 400) << b << " " << body;
    EXPECT_EQ(body["error"]["code"], "invalid_argument") << b;
  }
  auto [st_f, unknown] = call("POST", "/api/v1/products", token_a_, bodies[3]);
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find("colour"), std::string::npos);
  // Nesting past the parser's depth limit is refused, not walked.
  auto [st_deep, deep] = call("POST", "/api/v1/products", token_a_,
                              std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(st_deep, 400) << deep;
  EXPECT_NE(deep["error"]["message"].get<std::string>().find("deep"), std::string::npos) << deep;
  // 11 MiB: refused from its Content-Length, before the body is read.
  auto big = client().Post("/api/v1/products", auth(token_a_), std::string(11 << 20, ' '),
                           "application/json");
  if (big) {  // the server may close before the client has sent it all
    EXPECT_EQ(big->status, 413);
  }
  EXPECT_EQ(count_rows("products"), 0);
  EXPECT_EQ(count_rows("domain_events"), 0);
  // An unknown route, a wrong method.
  EXPECT_EQ(call("GET", "/api/v1/nothing", token_a_).first, 404);
  EXPECT_EQ(call("PATCH", "/api/v1/orders", token_a_, "{}").first, 405);
}

TEST_P(ServeTest, ASlowClientIsCutOffWhileOthersAreServed) {
  start_server({{"HTTP_REQUEST_TIMEOUT_S", "2"}});
  RawSocket slow(port_);
  slow.send("GET /api/v1/products HTTP/1.1\r\nHost: x\r\n");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(call("GET", "/api/v1/products", token_a_).first, 200);
    slow.send("X-Slow: " + std::to_string(i) + "\r\n");
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_TRUE(slow.closed_within(5s)) << slow.received();
  EXPECT_EQ(slow.received().find("200 OK"), std::string::npos);
}

TEST_P(ServeTest, OrderToInvoiceToPaymentOverHttp) {
  start_server();
  ASSERT_EQ(call("POST", "/api/v1/products", token_a_, kWidget).first, 201);
  auto [st_r, receipt] = call("POST", "/api/v1/stock/receipts", token_a_,
                              R"({"sku":"W-1","location":"MAIN","quantity":"10",)"
                              R"("unit_cost":"4.00","batch":"B1"})");
  ASSERT_EQ(st_r, 201) << receipt;
  EXPECT_EQ(call("GET", "/api/v1/stock/W-1", token_a_).second["on_hand"], "10.00");
  auto [st_c, customer] = call("POST", "/api/v1/customers", token_a_,
                               R"({"name":"C","email":"c@c.test","payment_terms_days":30})");
  ASSERT_EQ(st_c, 201);
  auto [st_o, order] =
      call("POST", "/api/v1/orders", token_a_,
           json{{"customer_id", customer["id"]},
                {"lines", {{{"sku", "W-1"}, {"quantity", "3"}, {"unit_price", "9.50"}}}}}
               .dump());
  ASSERT_EQ(st_o, 201) << order;
  const std::string id = std::to_string(int64_t(order["id"]));
  EXPECT_EQ(call("POST", "/api/v1/orders/" + id + "/approve", token_a_).first, 200);
  EXPECT_EQ(call("POST", "/api/v1/orders/" + id + "/approve", token_a_).first, 409);
  // The invoice follows through the queued listener, run by a real worker.
  ASSERT_EQ(cli("queue:work --stop-when-empty --sleep=0.1").exit, 0);
  auto [st_show, shown] = call("GET", "/api/v1/orders/" + id, token_a_);
  ASSERT_FALSE(shown["invoice_id"].is_null()) << shown;
  EXPECT_EQ(shown, cli_json("order:show --tenant=" + std::to_string(tenant_a_) +
                            " --data='{\"id\":" + id + "}'"));
  const std::string invoice = std::to_string(int64_t(shown["invoice_id"]));
  auto [st_over, over] =
      call("POST", "/api/v1/invoices/" + invoice + "/payments", token_a_, R"({"amount":"100"})");
  EXPECT_EQ(st_over, 409) << over;
  auto [st_pay, paid] =
      call("POST", "/api/v1/invoices/" + invoice + "/payments", token_a_, R"({"amount":"28.50"})");
  EXPECT_EQ(st_pay, 201) << paid;
  EXPECT_EQ(paid["status"], "paid");
  auto [st_f, fulfilled] =
      call("POST", "/api/v1/orders/" + id + "/fulfill", token_a_, R"({"location":"MAIN"})");
  EXPECT_EQ(st_f, 200) << fulfilled;
  EXPECT_EQ(call("GET", "/api/v1/stock/W-1", token_a_).second["on_hand"], "7.00");
}

TEST_P(ServeTest, PurchaseOrdersOverHttp) {
  start_server();
  ASSERT_EQ(call("POST", "/api/v1/products", token_a_, kWidget).first, 201);
  auto [st_v, vendor] =
      call("POST", "/api/v1/vendors", token_a_, R"({"name":"Parts Inc","email":"p@p.test"})");
  ASSERT_EQ(st_v, 201) << vendor;
  EXPECT_EQ(
      call("GET", "/api/v1/vendors/" + std::to_string(int64_t(vendor["id"])), token_a_).second,
      vendor);
  auto [st_po, po] =
      call("POST", "/api/v1/purchase-orders", token_a_,
           json{{"vendor_id", vendor["id"]},
                {"lines", {{{"sku", "W-1"}, {"quantity", "4"}, {"unit_cost", "3.00"}}}}}
               .dump());
  ASSERT_EQ(st_po, 201) << po;
  const std::string id = std::to_string(int64_t(po["id"]));
  EXPECT_EQ(call("POST", "/api/v1/purchase-orders/" + id + "/approve", token_a_).first, 200);
  auto [st_r, received] = call("POST", "/api/v1/purchase-orders/" + id + "/receive", token_a_,
                               R"({"location":"MAIN"})");
  ASSERT_EQ(st_r, 201) << received;
  EXPECT_EQ(received["status"], "received");
  EXPECT_EQ(call("GET", "/api/v1/stock/W-1", token_a_).second["on_hand"], "4.00");
  EXPECT_EQ(
      call("GET", "/api/v1/purchase-orders/" + id, token_a_).second,
      cli_json("po:show --tenant=" + std::to_string(tenant_a_) + " --data='{\"id\":" + id + "}'"));
  EXPECT_EQ(call("GET", "/api/v1/purchase-orders/" + id, token_b_).first, 404);
  EXPECT_EQ(call("POST", "/api/v1/purchase-orders/" + id + "/receive", token_b_, "{}").first, 404);
}

TEST_P(ServeTest, InboxOverHttp) {
  start_server();
  for (int i = 0; i < 3; ++i) notify_and_drain(tenant_a_, admin_a_, "n" + std::to_string(i));
  auto [st, page] = call("GET", "/api/v1/notifications?limit=2", token_a_);
  ASSERT_EQ(st, 200) << page;
  EXPECT_EQ(page["data"].size(), 2u);
  EXPECT_EQ(page["unread_count"], 3);
  auto [st2, rest] =
      call("GET", "/api/v1/notifications?limit=2&cursor=" + page["next_cursor"].get<std::string>(),
           token_a_);
  ASSERT_EQ(rest["data"].size(), 1u) << rest;
  EXPECT_TRUE(rest["next_cursor"].is_null());
  EXPECT_EQ(call("GET", "/api/v1/notifications/unread-count", token_a_).second["unread_count"], 3);
  auto [st_r, read] = call("POST", "/api/v1/notifications/read", token_a_,
                           json{{"ids", {page["data"][0]["id"]}}}.dump());
  EXPECT_EQ(read["updated"], 1) << read;
  EXPECT_EQ(call("GET", "/api/v1/notifications/unread-count", token_a_).second["unread_count"], 2);
  // Another tenant's notification id is not found and marks nothing.
  EXPECT_EQ(call("POST", "/api/v1/notifications/read", token_b_,
                 json{{"ids", {page["data"][1]["id"]}}}.dump())
                .first,
            404);
  EXPECT_EQ(
      call("POST", "/api/v1/notifications/read", token_a_, R"({"all":true})").second["updated"], 2);
  EXPECT_EQ(call("GET", "/api/v1/notifications/unread-count", token_b_).second["unread_count"], 0);
}

TEST_P(ServeTest, StreamsGetTheirUsersNotificationsFromAWorkerAndNothingElse) {
  const int64_t other_a = user(tenant_a_, "other@acme.test", "sales");
  const std::string other_token = token(tenant_a_, other_a);
  start_server();
  RawSocket mine(port_), other_user(port_), other_tenant(port_);
  mine.send(sse_request(token_a_));
  other_user.send(sse_request(other_token));
  other_tenant.send(sse_request(token_b_));
  ASSERT_TRUE(mine.read_until(": stream open", 10s)) << mine.received();
  ASSERT_TRUE(other_user.read_until(": stream open", 10s));
  ASSERT_TRUE(other_tenant.read_until(": stream open", 10s));
  WsClient ws(port_, "/api/v1/ws", token_a_);

  notify_and_drain(tenant_a_, admin_a_, "first");
  ASSERT_TRUE(mine.read_until("\"first\"", 10s)) << mine.received();
  EXPECT_NE(mine.received().find("event: notification\n"), std::string::npos);
  auto msg = ws.read(10s);
  ASSERT_TRUE(msg.has_value());
  EXPECT_EQ(json::parse(*msg)["data"]["data"]["title"], "first");

  // The id of what the client saw; a second notification arrives while it is away.
  const std::string text = mine.received();
  const auto id_at = text.find("id: ") + 4;
  const std::string first_id = text.substr(id_at, text.find('\n', id_at) - id_at);
  notify_and_drain(tenant_a_, admin_a_, "second");
  RawSocket again(port_);
  again.send(sse_request(token_a_, first_id));
  ASSERT_TRUE(again.read_until("\"second\"", 10s)) << again.received();
  EXPECT_EQ(again.received().find("\"first\""), std::string::npos);

  EXPECT_FALSE(other_user.read_until("notification", 1s)) << other_user.received();
  EXPECT_FALSE(other_tenant.read_until("notification", 10ms)) << other_tenant.received();

  // SIGTERM with open streams: they are closed and the server exits 0.
  server_->signal(SIGTERM);
  EXPECT_EQ(server_->wait(15s), std::optional<int>(0)) << slurp(log_);
  EXPECT_TRUE(mine.closed_within(2s));
  server_.reset();
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// More notifications than one read of the watcher takes (500), committed at once with the same
// few timestamps: each reaches the stream once, and so does each of a replay after the first.
TEST_P(ServeTest, StreamsGetEveryOneOfManyNotificationsCommittedAtOnce) {
  start_server();
  RawSocket live(port_);
  live.send(sse_request(token_a_));
  ASSERT_TRUE(live.read_until(": stream open", 10s)) << live.received();
  std::vector<std::string> ids;
  {
    db::TenantScope scope(*conn_, tenant_a_);
    db::Transaction tx(*conn_);
    const std::vector<notify::Notifiable> to(1200, notify::Notifiable::user(admin_a_));
    ids = notify::deliver_now(*conn_, to, "AnnouncementNotification",
                              R"({"title":"bulk","message":"m"})");
    tx.commit();
  }
  ASSERT_EQ(ids.size(), 1200u);
  ASSERT_TRUE(live.read_until("id: " + ids.back() + "\n", 30s))
      << occurrences(live.received(), "event: notification");
  EXPECT_EQ(occurrences(live.received(), "event: notification"), 1200u);

  RawSocket replay(port_);
  replay.send(sse_request(token_a_, ids.front()));
  ASSERT_TRUE(replay.read_until("id: " + ids.back() + "\n", 30s))
      << occurrences(replay.received(), "event: notification");
  EXPECT_EQ(occurrences(replay.received(), "event: notification"), 1199u);
}

TEST_P(ServeTest, StreamsRefuseBadTokensAndTooManyStreams) {
  start_server({{"HTTP_MAX_STREAMS_PER_USER", "2"}});
  RawSocket none(port_);
  none.send(sse_request(""));
  EXPECT_TRUE(none.read_until("401", 10s)) << none.received();
  EXPECT_THROW(WsClient(port_, "/api/v1/ws", "bad"), std::runtime_error);
  RawSocket one(port_), two(port_), three(port_);
  one.send(sse_request(token_a_));
  ASSERT_TRUE(one.read_until(": stream open", 10s));
  two.send(sse_request(token_a_));
  ASSERT_TRUE(two.read_until(": stream open", 10s));
  three.send(sse_request(token_a_));
  EXPECT_TRUE(three.read_until("429", 10s)) << three.received();
}

TEST_P(ServeTest, TokenCommandsRefuseBadInput) {
  auto r = cli("token:create --tenant=" + std::to_string(tenant_a_) +
               " --user=" + std::to_string(admin_b_));
  EXPECT_EQ(r.exit, 3) << r.err;
  EXPECT_EQ(line_count(r.err), 1u);
  EXPECT_EQ(cli("token:create --tenant=" + std::to_string(tenant_a_)).exit, 2);
  EXPECT_EQ(cli("token:create --operator --tenant=1 --name=x").exit, 2);
  EXPECT_EQ(cli("token:revoke 999 --tenant=" + std::to_string(tenant_a_)).exit, 3);
  EXPECT_EQ(count_rows("api_tokens"), 2);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ServeTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
