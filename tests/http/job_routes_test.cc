// The job routes of `unity serve` end to end, on both drivers: imports uploaded to disk
// (IMPORT_MAX_MB, refused on their header before the body is read), reports and their files,
// bulk notifications, valuations and syncs; a real worker process runs the jobs, and the CLI
// twins read the same rows.
#include <sys/stat.h>

#include <filesystem>

#include "serve_fixture.h"

namespace unity::testing {
namespace {

namespace fs = std::filesystem;

class JobRoutesTest : public ServeFixture {
 protected:
  std::string imports_dir() const { return db_->dir() + "/storage/imports"; }
  // The files under STORAGE_PATH/imports (finished uploads and partial ones).
  std::vector<std::string> import_files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(imports_dir(), ec)) {
      out.push_back(e.path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  httplib::Result upload(const std::string& path, const std::string& token, const std::string& csv,
                         const std::string& type = "text/csv") {
    return client().Post(path.c_str(), auth(token), csv, type.c_str());
  }
  void drain() {
    auto w = cli("queue:work --stop-when-empty --sleep=0.1");
    ASSERT_EQ(w.exit, 0) << w.err;
  }
  std::string t(int64_t tenant) const { return " --tenant=" + std::to_string(tenant); }
  // An upload's header only, sent raw with `Expect: 100-continue`: the first answer.
  std::string expect_continue(const std::string& path, const std::string& token,
                              const std::string& type = "text/csv", size_t length = 100) {
    RawSocket s(port_);
    s.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: " + type + "\r\nContent-Length: " + std::to_string(length) +
           "\r\nExpect: 100-continue\r\n\r\n");
    s.read_until("\r\n\r\n", 10s);
    return s.received().substr(0, s.received().find("\r\n"));
  }
};

// 300 products with an ignored 5 KB column: about 1.5 MiB, over HTTP_MAX_BODY_MB=1.
std::string big_products_csv() {
  std::string csv = "Code,Title,Price,notes\n";
  for (int i = 1; i <= 300; ++i) {
    csv += "SKU-" + std::to_string(i) + ",Product " + std::to_string(i) + ",9.50," +
           std::string(5000, 'x') + "\n";
  }
  return csv;
}

TEST_P(JobRoutesTest, AnImportOverHttpMaxBodyButUnderImportMaxMbIsStoredAndImported) {
  start_server({{"HTTP_MAX_BODY_MB", "1"}});
  const std::string csv = big_products_csv();
  ASSERT_GT(csv.size(), size_t{1} << 20);
  // Other routes keep HTTP_MAX_BODY_MB.
  auto other = client().Post("/api/v1/products", auth(token_a_), std::string(2 << 20, ' '),
                             "application/json");
  if (other) {
    EXPECT_EQ(other->status, 413);
  }

  auto r = upload("/api/v1/imports/products?map=sku=Code,name=Title,price=Price", token_a_, csv);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 202) << r->body;
  const json started = json::parse(r->body);
  const int64_t id = started["import_id"];
  EXPECT_GT(started["job_id"].get<int64_t>(), 0);
  // The upload was moved to its final name, 0600, with nothing else left.
  const std::string name = std::to_string(tenant_a_) + "-" + std::to_string(id) + ".csv";
  EXPECT_EQ(import_files(), std::vector<std::string>{name});
  EXPECT_EQ(slurp(imports_dir() + "/" + name), csv);
  struct stat st {};
  ASSERT_EQ(::stat((imports_dir() + "/" + name).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  drain();
  auto [st_show, shown] = call("GET", "/api/v1/imports/" + std::to_string(id), token_a_);
  ASSERT_EQ(st_show, 200) << shown;
  EXPECT_EQ(shown["status"], "completed") << shown;
  EXPECT_EQ(shown["imported_rows"], 300);
  EXPECT_EQ(shown, cli_json("imports:show " + std::to_string(id) + t(tenant_a_)));
  EXPECT_EQ(count_rows("products"), 300);
  // Another tenant's import is unknown there.
  EXPECT_EQ(call("GET", "/api/v1/imports/" + std::to_string(id), token_b_).first, 404);
  EXPECT_EQ(call("GET", "/api/v1/imports/999999", token_a_).first, 404);
}

TEST_P(JobRoutesTest, AnImportOverImportMaxMbIsRefusedWithNoFileAndNoRow) {
  start_server({{"IMPORT_MAX_MB", "1"}});
  const std::string csv = big_products_csv();
  // Announced by its Content-Length: refused on the header.
  EXPECT_EQ(expect_continue("/api/v1/imports/products", token_a_, "text/csv", csv.size()),
            "HTTP/1.1 413 Payload Too Large");
  auto r = upload("/api/v1/imports/products?map=sku=Code,name=Title,price=Price", token_a_, csv);
  if (r) {
    EXPECT_EQ(r->status, 413);
  }
  // Chunked, so the size shows only while it is written: cut off, the partial file removed.
  {
    RawSocket s(port_);
    s.send("POST /api/v1/imports/products HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
           token_a_ + "\r\nContent-Type: text/csv\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string chunk(64 << 10, 'x');
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    for (int i = 0; i < 24 && !s.closed_within(1ms); ++i) s.send(size + chunk + "\r\n");
    EXPECT_TRUE(s.read_until("\r\n\r\n", 10s));
    EXPECT_EQ(s.received().substr(0, s.received().find("\r\n")), "HTTP/1.1 413 Payload Too Large")
        << s.received();
  }
  EXPECT_TRUE(eventually([&] { return import_files().empty(); }, 5s));
  EXPECT_EQ(import_files(), std::vector<std::string>{});
  EXPECT_EQ(count_rows("import_logs"), 0);
}

TEST_P(JobRoutesTest, EveryRefusedUploadLeavesNoFileAndNoRow) {
  const int64_t inventory = user(tenant_a_, "inv@acme.test", "inventory");
  const std::string inventory_token = token(tenant_a_, inventory);
  const int64_t sales = user(tenant_a_, "sales@acme.test", "sales");
  const std::string sales_token = token(tenant_a_, sales);
  const std::string operator_token = cli_json("token:create --operator --name=ops")["token"];
  // A day's window, so no window ends between the accepted upload and the limited one.
  start_server({{"RATE_LIMIT_JOBS_PER_USER", "1"}, {"RATE_LIMIT_WINDOW_S", "86400"}});
  const std::string path = "/api/v1/imports/products";
  // Refused on the header: no `100 Continue`, the body never read.
  EXPECT_EQ(expect_continue(path, "bad"), "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(expect_continue(path, operator_token), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(expect_continue(path, sales_token), "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(expect_continue("/api/v1/imports/customers", inventory_token),
            "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(expect_continue("/api/v1/imports/widgets", token_a_), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(expect_continue(path + "?map=colour=C", token_a_), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(expect_continue(path, token_a_, "application/json"), "HTTP/1.1 400 Bad Request");
  // Whole uploads refused the same way.
  const std::string csv = "sku,name,price\nA-1,A,1.00\n";
  for (const auto& [p, tok, status] : std::vector<std::tuple<std::string, std::string, int>>{
           {path, "bad", 401},
           {path, sales_token, 403},
           {"/api/v1/imports/widgets", token_a_, 400},
           {path + "?map=sku", token_a_, 400}}) {
    auto r = upload(p, tok, csv);
    if (r) {
      EXPECT_EQ(r->status, status) << p << " " << r->body;
    }
  }
  EXPECT_EQ(import_files(), std::vector<std::string>{});
  EXPECT_EQ(count_rows("import_logs"), 0);

  // Accepted: `100 Continue`, then the body.
  {
    RawSocket s(port_);
    s.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + inventory_token +
           "\r\nContent-Type: text/csv; charset=utf-8\r\nContent-Length: " +
           std::to_string(csv.size()) + "\r\nExpect: 100-continue\r\n\r\n");
    ASSERT_TRUE(s.read_until("100 Continue\r\n\r\n", 10s)) << s.received();
    s.send(csv);
    ASSERT_TRUE(s.read_until("\"import_id\"", 10s)) << s.received();
    EXPECT_NE(s.received().find("HTTP/1.1 202 Accepted"), std::string::npos) << s.received();
  }
  EXPECT_EQ(count_rows("import_logs"), 1);
  // The user's rate limit (1): 429 with Retry-After, and the upload is gone.
  auto limited = upload(path, inventory_token, csv);
  ASSERT_TRUE(limited);
  EXPECT_EQ(limited->status, 429) << limited->body;
  EXPECT_EQ(json::parse(limited->body)["error"]["code"], "rate_limited");
  EXPECT_FALSE(limited->get_header_value("Retry-After").empty());
  EXPECT_EQ(import_files().size(), 1u);
  EXPECT_EQ(count_rows("import_logs"), 1);
}

TEST_P(JobRoutesTest, AReportOverHttpIsTheRowReportsShowSeesAndItsFileTheBytesOnDisk) {
  const int64_t sales = user(tenant_a_, "sales@acme.test", "sales");
  const std::string sales_token = token(tenant_a_, sales);
  start_server();
  const std::string body = R"({"type":"inventory","from":"2026-01-01","to":"2026-01-31",)";
  // Bad JSON, an unknown field, a missing one: 400, nothing written.
  for (const std::string& bad :
       {std::string("{"), body + R"("format":"csv","colour":1})",
        std::string(R"({"type":"sales"})"), body + R"("format":"docx"})"}) {
    auto [st, err] = call("POST", "/api/v1/reports", token_a_, bad);
    EXPECT_EQ(st, 400) << bad << " " << err;
  }
  EXPECT_EQ(call("POST", "/api/v1/reports", sales_token, body + R"("format":"csv"})").first, 403);
  EXPECT_EQ(count_rows("reports"), 0);

  for (const std::string format : {"csv", "xlsx", "pdf"}) {
    auto [st, started] =
        call("POST", "/api/v1/reports", token_a_, body + "\"format\":\"" + format + "\"}");
    ASSERT_EQ(st, 202) << started;
    const std::string id = std::to_string(started["report_id"].get<int64_t>());
    EXPECT_EQ(started["status"], "pending");
    auto [st_early, early] = call("GET", "/api/v1/reports/" + id + "/file", token_a_);
    EXPECT_EQ(st_early, 409) << early;
    EXPECT_EQ(early["error"]["code"], "failed_precondition");
    drain();
    auto [st_show, shown] = call("GET", "/api/v1/reports/" + id, token_a_);
    ASSERT_EQ(st_show, 200);
    EXPECT_EQ(shown["status"], "completed") << shown;
    EXPECT_EQ(shown, cli_json("reports:show " + id + t(tenant_a_)));
    auto file = client().Get(("/api/v1/reports/" + id + "/file").c_str(), auth(token_a_));
    ASSERT_TRUE(file);
    ASSERT_EQ(file->status, 200);
    EXPECT_EQ(file->body, slurp(shown["path"].get<std::string>()));
    EXPECT_FALSE(file->body.empty());
    EXPECT_EQ(file->get_header_value("Content-Disposition"),
              "attachment; filename=\"" + shown["file_name"].get<std::string>() + "\"");
    const std::string type = file->get_header_value("Content-Type");
    if (format == "csv") {
      EXPECT_EQ(type, "text/csv; charset=utf-8");
    }
    if (format == "xlsx") {
      EXPECT_EQ(type, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
      EXPECT_EQ(file->body.substr(0, 2), "PK");
    }
    if (format == "pdf") {
      EXPECT_EQ(type, "application/pdf");
      EXPECT_EQ(file->body.substr(0, 5), "%PDF-");
    }
    // Another tenant's report: 404 on both routes, like an unknown id.
    EXPECT_EQ(call("GET", "/api/v1/reports/" + id, token_b_).first, 404);
    EXPECT_EQ(call("GET", "/api/v1/reports/" + id + "/file", token_b_).first, 404);
    EXPECT_EQ(call("GET", "/api/v1/reports/" + id + "/file", sales_token).first, 403);
  }
  EXPECT_EQ(call("GET", "/api/v1/reports/999999/file", token_a_).first, 404);
}

TEST_P(JobRoutesTest, BulkNotificationsValuationsAndSyncsOverHttpAreWhatTheCliSees) {
  const int64_t sales = user(tenant_a_, "sales@acme.test", "sales");
  const std::string sales_token = token(tenant_a_, sales);
  const int64_t manager = user(tenant_a_, "manager@acme.test", "manager");
  const std::string manager_token = token(tenant_a_, manager);
  start_server({{"SYNC_ALLOWED_HOSTS", "127.0.0.1"}});

  // Bulk notification.
  const std::string bulk =
      R"({"users":"all","type":"announcement","data":{"title":"T","message":"M"}})";
  EXPECT_EQ(call("POST", "/api/v1/notifications/bulk", sales_token, bulk).first, 403);
  for (const std::string& bad :
       {std::string("{"), std::string(R"({"users":"all","type":"announcement","colour":1})"),
        std::string(R"({"users":"x","type":"announcement"})"),
        std::string(R"({"users":"all","type":"memo","data":{"title":"T","message":"M"}})")}) {
    EXPECT_EQ(call("POST", "/api/v1/notifications/bulk", token_a_, bad).first, 400) << bad;
  }
  EXPECT_EQ(count_rows("bulk_notifications"), 0);
  auto [st_bulk, started] = call("POST", "/api/v1/notifications/bulk", manager_token, bulk);
  ASSERT_EQ(st_bulk, 202) << started;
  drain();
  auto shown = cli_json("notify:bulk:show " + started["bulk_id"].dump() + t(tenant_a_));
  EXPECT_EQ(shown["status"], "completed") << shown;
  EXPECT_EQ(shown["sent"], 3);

  // Valuations.
  for (const std::string sku : {"V-1", "V-2", "V-3"}) {
    ASSERT_EQ(call("POST", "/api/v1/products", token_a_,
                   R"({"sku":")" + sku + R"(","name":"N","price":"5","cost":"2"})")
                  .first,
              201);
    ASSERT_EQ(call("POST", "/api/v1/stock/receipts", token_a_,
                   R"({"sku":")" + sku + R"(","quantity":"4","unit_cost":"2.50"})")
                  .first,
              201);
  }
  EXPECT_EQ(call("POST", "/api/v1/valuations/recalculate", sales_token, "{}").first, 403);
  EXPECT_EQ(call("POST", "/api/v1/valuations/recalculate", token_a_, R"({"colour":1})").first, 400);
  EXPECT_EQ(call("POST", "/api/v1/valuations/recalculate", token_a_, R"({"product":"NOPE"})").first,
            404);
  auto [st_val, val_job] = call("POST", "/api/v1/valuations/recalculate", token_a_, "{}");
  ASSERT_EQ(st_val, 202) << val_job;
  EXPECT_GT(val_job["job_id"].get<int64_t>(), 0);
  drain();
  json rows = json::array();
  std::string path = "/api/v1/valuations?limit=2";
  for (int page = 0; page < 10; ++page) {
    auto [st, body] = call("GET", path, token_a_);
    ASSERT_EQ(st, 200) << body;
    EXPECT_LE(body["data"].size(), 2u);
    for (const auto& v : body["data"]) rows.push_back(v);
    if (body["next_cursor"].is_null()) break;
    path = "/api/v1/valuations?limit=2&cursor=" + body["next_cursor"].get<std::string>();
  }
  EXPECT_GE(rows.size(), 3u);
  EXPECT_EQ(rows, cli_json("valuation:show" + t(tenant_a_)));
  EXPECT_EQ(call("GET", "/api/v1/valuations", token_b_).second["data"].size(), 0u);
  EXPECT_EQ(call("GET", "/api/v1/valuations", sales_token).first, 403);

  // Syncs: not run here (no remote), the rows are what syncs:list shows.
  EXPECT_EQ(call("POST", "/api/v1/syncs", manager_token,
                 R"({"type":"products","endpoint":"http://127.0.0.1:9/"})")
                .first,
            403);
  for (const std::string& bad :
       {std::string("{"),
        std::string(R"({"type":"products","endpoint":"http://127.0.0.1:9/","x":1})"),
        std::string(R"({"type":"widgets","endpoint":"http://127.0.0.1:9/"})"),
        std::string(R"({"type":"products","endpoint":"http://example.com/"})")}) {
    EXPECT_EQ(call("POST", "/api/v1/syncs", token_a_, bad).first, 400) << bad;
  }
  EXPECT_EQ(count_rows("sync_logs"), 0);
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    auto [st, s] = call("POST", "/api/v1/syncs", token_a_,
                        R"({"type":"products","endpoint":"http://127.0.0.1:9/"})");
    ASSERT_EQ(st, 202) << s;
    EXPECT_EQ(s["status"], "running");
    ids.insert(ids.begin(), s["sync_id"].get<int64_t>());
  }
  json listed = json::array();
  path = "/api/v1/syncs?limit=2";
  for (int page = 0; page < 5; ++page) {
    auto [st, body] = call("GET", path, manager_token);
    ASSERT_EQ(st, 200) << body;
    for (const auto& s : body["data"]) listed.push_back(s);
    if (body["next_cursor"].is_null()) break;
    path = "/api/v1/syncs?limit=2&cursor=" + body["next_cursor"].get<std::string>();
  }
  EXPECT_EQ(listed, cli_json("syncs:list" + t(tenant_a_)));
  ASSERT_EQ(listed.size(), 3u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(listed[i]["id"], ids[i]);
  EXPECT_EQ(call("GET", "/api/v1/syncs", token_b_).second["data"].size(), 0u);
  EXPECT_EQ(call("GET", "/api/v1/syncs", sales_token).first, 403);
}

INSTANTIATE_TEST_SUITE_P(Drivers, JobRoutesTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return driver_name(p.param); });

}  // namespace
}  // namespace unity::testing
