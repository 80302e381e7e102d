// GenerateReports on both drivers, through a real worker: the five reports' figures against the
// ledger and invoices (exact decimals), the four formats (CSV and JSON parsed back, XLSX opened as
// a zip workbook by Python's zipfile, PDF header and trailer), formula injection neutralised,
// failures that leave a failed row and no file, redelivery, the requester's notification, tenant
// isolation; and the report / reports:show commands.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "erp/billing/billing_service.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/erp.h"
#include "erp/inventory/inventory_service.h"
#include "erp/procurement/procurement_service.h"
#include "erp/sales/sales_service.h"
#include "events/event_bus.h"
#include "jobs/jobs.h"
#include "jobs/report_job.h"
#include "notify/inbox.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"
#include "queue/worker.h"
#include "support/cli.h"
#include "support/test_db.h"

namespace unity::jobs {
namespace {

namespace fs = std::filesystem;
using testing::Driver;
using testing::TestDatabase;

const char* const kInjected = "=HYPERLINK(\"http://evil.test\",\"click\")";

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The report's sections from its JSON file: name → rows (objects).
std::map<std::string, nlohmann::json> sections_of(const std::string& path) {
  const auto doc = nlohmann::json::parse(slurp(path));
  std::map<std::string, nlohmann::json> out;
  for (const auto& s : doc.at("sections")) out[s.at("name")] = s.at("rows");
  return out;
}

// RFC 4180 lines of a small CSV file (no embedded newlines in the tests' data).
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch == '"') {
      quoted = true;
    } else if (ch == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (ch == '\n') {
      row.push_back(std::move(field));
      field.clear();
      rows.push_back(std::move(row));
      row.clear();
    } else if (ch != '\r') {
      field += ch;
    }
  }
  return rows;
}

// Runs python3 on `script` with `arg`; returns its stdout (exit status checked by the caller).
std::string python(const std::string& script, const std::string& arg, int& status) {
  const std::string cmd = "python3 -c '" + script + "' '" + arg + "' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = pclose(p);
  return out;
}

class ReportJobTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    dispatcher_ = std::make_unique<queue::Dispatcher>(db_->config(), jobs_);
    bus_ = std::make_unique<events::EventBus>(jobs_, *dispatcher_);
    notifier_ = std::make_unique<notify::DatabaseNotifier>(jobs_, *dispatcher_);
    erp::wire_erp(*bus_, *notifier_);
    wire_jobs(jobs_, *bus_);
    a_ = db::create_tenant(*conn_, "Acme").id;
    b_ = db::create_tenant(*conn_, "Globex").id;
    conn_->set_tenant(a_);
    boss_ = db::create_user(*conn_, "boss@acme.test", "Max", "manager").id;
    clerk_ = db::create_user(*conn_, "clerk@acme.test", "Cid", "sales").id;
    storage_ = db_->dir() + "/storage";
  }

  void drain() {
    queue::WorkerOptions o;
    o.stop_when_empty = true;
    o.backoff = queue::Backoff::parse("0");
    queue::Worker(db::connection_factory(db_->config()), db_->config(), jobs_, o, nullptr).run();
  }
  int64_t count(const std::string& sql, const db::Params& params = {}) {
    return db_->owner()->query_int(sql, params);
  }

  void product(const std::string& sku, const std::string& name, const std::string& price) {
    erp::catalog::CatalogService(*conn_, *bus_)
        .create(erp::catalog::ProductDraft::from_json(
            {{"sku", sku}, {"name", name}, {"price", price}, {"reorder_level", "0"}}));
  }
  void receive(const std::string& sku, const std::string& quantity, const std::string& cost) {
    erp::inventory::InventoryService(*conn_, *bus_)
        .receive(erp::inventory::Receipt::from_json(
            {{"sku", sku}, {"quantity", quantity}, {"unit_cost", cost}}));
  }
  int64_t customer(const std::string& name, const std::string& email) {
    return erp::crm::CrmService(*conn_, *bus_)
        .create_customer(erp::crm::CustomerDraft::from_json(
            {{"name", name}, {"email", email}, {"payment_terms_days", 30}}))
        .id;
  }
  // Creates, approves (the invoice is issued by the queued listener) and, unless `fulfil` is
  // false, fulfils an order.
  int64_t sell(int64_t customer_id, const nlohmann::json& lines, bool fulfil = true) {
    erp::sales::SalesService s(*conn_, *bus_, clerk_);
    const int64_t id = s.create(erp::sales::OrderDraft::from_json(
                                    {{"customer_id", customer_id}, {"lines", lines}}))
                           .id;
    erp::sales::SalesService(*conn_, *bus_, boss_).approve(id);
    drain();
    if (fulfil) {
      s.fulfill(id, "MAIN");
      drain();
    }
    return id;
  }
  void pay(int64_t order_id, const std::string& amount) {
    const int64_t invoice = count("SELECT id FROM invoices WHERE order_id = $1", {order_id});
    erp::billing::BillingService(*conn_, *bus_, boss_)
        .pay(erp::billing::PaymentDraft::from_json({{"invoice_id", invoice}, {"amount", amount}}));
    drain();
  }

  // The standard data set of tenant A: two products (one named like a formula), stock in two
  // batches each, two fulfilled orders, one approved only, a partial payment.
  void seed_sales() {
    product("SKU-1", "Widget", "10.00");
    product("SKU-2", kInjected, "2.50");
    receive("SKU-1", "5", "2.00");
    receive("SKU-1", "7", "3.00");
    receive("SKU-2", "10", "0.3333");
    c1_ = customer("Initech", "ap@initech.test");
    c2_ = customer("-Hooli", "ap@hooli.test");
    o1_ = sell(c1_, {{{"sku", "SKU-1"}, {"quantity", "6"}, {"unit_price", "10.00"}},
                     {{"sku", "SKU-2"}, {"quantity", "3"}, {"unit_price", "2.50"}}});
    o2_ = sell(c2_, {{{"sku", "SKU-1"}, {"quantity", "2.5"}, {"unit_price", "9.99"}}});
    o3_ = sell(c1_, {{{"sku", "SKU-2"}, {"quantity", "1"}, {"unit_price", "2.50"}}}, false);
    pay(o1_, "20.00");
  }

  int64_t run_report(const std::string& type, const std::string& format,
                     const std::string& from = "2000-01-01", const std::string& to = "2099-12-31",
                     std::optional<int64_t> user = std::nullopt) {
    ReportRequest r{type, format, from, to, user ? user : std::optional<int64_t>(boss_)};
    const int64_t id = request_report(*conn_, r, storage_, system_clock());
    dispatcher_->dispatch(*conn_, a_, kGenerateReports,
                          "{\"report_id\":" + std::to_string(id) + "}");
    drain();
    return id;
  }
  StoredReport completed(int64_t id) {
    StoredReport r = load_report(*conn_, id);
    EXPECT_EQ(r.status, "completed") << r.error_message.value_or("");
    EXPECT_TRUE(r.path && fs::exists(*r.path)) << r.path.value_or("(no path)");
    EXPECT_FALSE(fs::exists(r.path.value_or("") + ".part"));
    return r;
  }

  // Σ -quantity × unit_cost of the outgoing stock movements: the ledger's cost of goods sold.
  Decimal ledger_cost_of_sales() {
    Decimal sum;
    conn_->query_each("SELECT quantity, unit_cost FROM stock_movements WHERE tenant_id = $1", {a_},
                      [&](const db::Row& r) {
                        const Decimal q = Decimal::parse(r.get<std::string>(0));
                        if (q < Decimal()) sum += -q * Decimal::parse(r.get<std::string>(1));
                      });
    return sum;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  queue::JobRegistry jobs_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<notify::DatabaseNotifier> notifier_;
  int64_t a_ = 0, b_ = 0, boss_ = 0, clerk_ = 0, c1_ = 0, c2_ = 0, o1_ = 0, o2_ = 0, o3_ = 0;
  std::string storage_;
};

TEST_P(ReportJobTest, SalesReportFiguresAgreeWithTheLedgerAndInvoices) {
  seed_sales();
  const auto r = completed(run_report("sales", "json"));
  EXPECT_EQ(r.file_name, "sales-2000-01-01-2099-12-31-" + std::to_string(r.id) + ".json");
  EXPECT_EQ(fs::path(*r.path).parent_path(), fs::path(storage_) / "reports" / std::to_string(a_));
  auto s = sections_of(*r.path);
  ASSERT_EQ(s["orders"].size(), 2u);  // the approved-only order is not a sale
  // Order 1: 6 × 10.00 + 3 × 2.50 = 67.50; cost 5 × 2.00 + 1 × 3.00 + 3 × 0.3333 = 13.9999.
  EXPECT_EQ(s["orders"][0]["order_id"], std::to_string(o1_));
  EXPECT_EQ(s["orders"][0]["revenue"], "67.50");
  EXPECT_EQ(s["orders"][0]["cost_of_goods"], "13.9999");
  EXPECT_EQ(s["orders"][0]["margin"], "53.5001");
  // Order 2: 2.5 × 9.99 = 24.975 → 24.975 stored as 24.9750; cost 2.5 × 3.00.
  EXPECT_EQ(s["orders"][1]["revenue"], "24.975");
  EXPECT_EQ(s["orders"][1]["cost_of_goods"], "7.50");
  EXPECT_EQ(s["orders"][1]["customer"], "-Hooli");  // JSON keeps text as it is
  ASSERT_EQ(s["products"].size(), 2u);
  EXPECT_EQ(s["products"][0]["sku"], "SKU-1");
  EXPECT_EQ(s["products"][0]["quantity"], "8.50");
  EXPECT_EQ(s["products"][0]["revenue"], "84.975");
  EXPECT_EQ(s["products"][1]["name"], kInjected);
  const auto& t = s["totals"].at(0);
  EXPECT_EQ(t["orders"], "2");
  EXPECT_EQ(t["lines"], "3");
  EXPECT_EQ(t["revenue"], "92.475");
  // Against the ledger and the invoices themselves.
  EXPECT_EQ(Decimal::parse(t["cost_of_goods"].get<std::string>()), ledger_cost_of_sales());
  Decimal invoiced;
  conn_->query_each(
      "SELECT total FROM invoices WHERE order_id IN ($1, $2)", {o1_, o2_},
      [&](const db::Row& row) { invoiced += Decimal::parse(row.get<std::string>(0)); });
  EXPECT_EQ(Decimal::parse(t["revenue"].get<std::string>()), invoiced);
}

TEST_P(ReportJobTest, CsvParsesAndNeutralisesFormulaCells) {
  seed_sales();
  const auto r = completed(run_report("sales", "csv"));
  const auto rows = parse_csv(slurp(*r.path));
  ASSERT_GE(rows.size(), 4u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"report", "sales"}));
  bool injected = false, hooli = false, totals = false;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (const auto& f : rows[i]) {
      EXPECT_TRUE(f.empty() || (f[0] != '=' && f[0] != '@' && f[0] != '+')) << f;
      if (f == std::string("'") + kInjected) injected = true;
      if (f == "'-Hooli") hooli = true;
    }
    if (rows[i] == std::vector<std::string>{"section", "totals"}) {
      ASSERT_LT(i + 2, rows.size());
      EXPECT_EQ(rows[i + 2],
                (std::vector<std::string>{"2", "3", "11.50", "92.475", "21.4999", "70.9751"}));
      totals = true;
    }
  }
  EXPECT_TRUE(injected);
  EXPECT_TRUE(hooli);
  EXPECT_TRUE(totals);
}

TEST_P(ReportJobTest, XlsxIsAZipWorkbookWithNeutralisedCells) {
  seed_sales();
  const auto r = completed(run_report("sales", "xlsx"));
  EXPECT_EQ(slurp(*r.path).substr(0, 4), std::string("PK\x03\x04", 4));
  int status = 0;
  const std::string out = python(
      "import sys, zipfile\n"
      "z = zipfile.ZipFile(sys.argv[1])\n"
      "assert z.testzip() is None\n"
      "names = z.namelist()\n"
      "print(\"workbook\" if \"xl/workbook.xml\" in names else \"no workbook\")\n"
      "text = \"\".join(z.read(n).decode() for n in names if n.startswith(\"xl/\") and "
      "n.endswith(\".xml\"))\n"
      "print(\"formula\" if \"<f>\" in text else \"no formula\")\n"
      "print(\"neutralised\" if \"&apos;=HYPERLINK\" in text or \"'\"'\"'=HYPERLINK\" in text "
      "else \"raw\")\n",
      *r.path, status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "workbook\nno formula\nneutralised\n");
}

TEST_P(ReportJobTest, PdfIsARealDocument) {
  seed_sales();
  const auto r = completed(run_report("financial", "pdf"));
  const std::string pdf = slurp(*r.path);
  EXPECT_EQ(pdf.substr(0, 5), "%PDF-");
  const auto tail = pdf.substr(pdf.size() - 8);
  EXPECT_NE(tail.find("%%EOF"), std::string::npos) << tail;
}

TEST_P(ReportJobTest, InventoryReportIsTheFifoLedgerAsOfTheEndDate) {
  seed_sales();
  auto s = sections_of(*completed(run_report("inventory", "json")).path);
  ASSERT_EQ(s["stock"].size(), 2u);
  // SKU-1: 12 in, 8.5 out FIFO → 3.5 left at 3.00. SKU-2: 10 in, 3 out → 7 at 0.3333.
  EXPECT_EQ(s["stock"][0]["sku"], "SKU-1");
  EXPECT_EQ(s["stock"][0]["location"], "MAIN");
  EXPECT_EQ(s["stock"][0]["on_hand"], "3.50");
  EXPECT_EQ(s["stock"][0]["value"], "10.50");
  EXPECT_EQ(s["stock"][1]["value"], "2.3331");
  EXPECT_EQ(s["totals"][0]["value"], "12.8331");
  // Before anything was received there is no stock.
  auto before =
      sections_of(*completed(run_report("inventory", "json", "2000-01-01", "2000-01-02")).path);
  EXPECT_EQ(before["stock"].size(), 0u);
  EXPECT_EQ(before["totals"][0]["value"], "0.00");
}

TEST_P(ReportJobTest, FinancialCustomerAndProcurementReports) {
  seed_sales();
  auto f = sections_of(*completed(run_report("financial", "json")).path);
  ASSERT_EQ(f["invoices"].size(), 3u);  // approving issues the invoice, fulfilled or not
  ASSERT_EQ(f["payments"].size(), 1u);
  EXPECT_EQ(f["payments"][0]["amount"], "20.00");
  const auto& t = f["totals"][0];
  EXPECT_EQ(t["invoiced"], "94.975");  // 67.50 + 24.975 + 2.50
  EXPECT_EQ(t["payments_received"], "20.00");
  EXPECT_EQ(t["outstanding"], "74.975");
  EXPECT_EQ(t["overdue"], "74.975");  // by 2099-12-31 every unpaid balance is past due
  // As of today nothing is: the invoices are due in 30 days.
  const std::string today = format_iso8601(system_clock().now()).substr(0, 10);
  auto now = sections_of(*completed(run_report("financial", "json", "2000-01-01", today)).path);
  EXPECT_EQ(now["totals"][0]["outstanding"], "74.975");
  EXPECT_EQ(now["totals"][0]["overdue"], "0.00");
  auto c = sections_of(*completed(run_report("customer", "json")).path);
  ASSERT_EQ(c["customers"].size(), 2u);
  EXPECT_EQ(c["customers"][0]["name"], "Initech");
  EXPECT_EQ(c["customers"][0]["orders"], "1");
  EXPECT_EQ(c["customers"][0]["spent"], "67.50");
  EXPECT_EQ(c["customers"][0]["outstanding"], "50.00");  // 47.50 + the unfulfilled 2.50
  EXPECT_EQ(c["totals"][0]["outstanding"], "74.975");

  const int64_t vendor = erp::procurement::ProcurementService(*conn_, *bus_, boss_)
                             .create_vendor(erp::procurement::VendorDraft::from_json(
                                 {{"name", "@Parts Co"}, {"email", "sales@parts.test"}}))
                             .id;
  erp::procurement::ProcurementService po(*conn_, *bus_, boss_);
  const int64_t id =
      po
          .create_order(erp::procurement::OrderDraft::from_json(
              {{"vendor_id", vendor},
               {"lines", {{{"sku", "SKU-1"}, {"quantity", "4"}, {"unit_cost", "1.25"}}}}}))
          .id;
  po.approve(id);
  drain();
  po.receive(erp::procurement::ReceiptDraft::from_json(
      {{"id", id}, {"location", "MAIN"}, {"lines", {{{"sku", "SKU-1"}, {"quantity", "3"}}}}}));
  drain();
  auto p = sections_of(*completed(run_report("procurement", "json")).path);
  ASSERT_EQ(p["purchase_orders"].size(), 1u);
  EXPECT_EQ(p["purchase_orders"][0]["total"], "5.00");
  ASSERT_EQ(p["receipts"].size(), 1u);
  EXPECT_EQ(p["receipts"][0]["value"], "3.75");
  EXPECT_EQ(p["vendors"][0]["vendor"], "@Parts Co");
  EXPECT_EQ(p["totals"][0]["received_quantity"], "3.00");
}

TEST_P(ReportJobTest, TheRequesterIsNotifiedOnceAndRedeliveryChangesNothing) {
  seed_sales();
  const int64_t id = run_report("customer", "csv", "2000-01-01", "2099-12-31", clerk_);
  const auto r = completed(id);
  auto inbox = notify::list_notifications(*conn_, notify::Notifiable::user(clerk_), false, 100);
  int reports = 0;
  for (const auto& n : inbox) {
    if (n.type != "ReportGeneratedNotification") continue;
    ++reports;
    const auto data = nlohmann::json::parse(n.data);
    EXPECT_EQ(data["metadata"]["report_id"], id);
    EXPECT_EQ(data["metadata"]["path"], *r.path);
  }
  EXPECT_EQ(reports, 1);
  const auto mtime = fs::last_write_time(*r.path);
  dispatcher_->dispatch(*conn_, a_, kGenerateReports, "{\"report_id\":" + std::to_string(id) + "}");
  drain();
  EXPECT_EQ(fs::last_write_time(*r.path), mtime);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE type = 'ReportGeneratedNotification'"),
            1);
}

TEST_P(ReportJobTest, BadParametersFailTheRowAndWriteNothing) {
  const int64_t id = request_report(*conn_, {"sales", "csv", "2026-01-01", "2026-01-31", boss_},
                                    storage_, system_clock());
  conn_->execute("UPDATE reports SET parameters = $1 WHERE id = $2",
                 {std::string("{\"from\":\"2026-13-01\",\"to\":\"2026-01-31\"}"), id});
  dispatcher_->dispatch(*conn_, a_, kGenerateReports, "{\"report_id\":" + std::to_string(id) + "}");
  drain();
  const auto r = load_report(*conn_, id);
  EXPECT_EQ(r.status, "failed");
  EXPECT_NE(r.error_message.value_or("").find("--from"), std::string::npos)
      << r.error_message.value_or("");
  EXPECT_TRUE(r.failed_at.has_value());
  EXPECT_FALSE(fs::exists(*r.path));
  EXPECT_FALSE(fs::exists(*r.path + ".part"));
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 0);
}

TEST_P(ReportJobTest, RequestsAreValidated) {
  auto code = [&](ReportRequest r) {
    try {
      request_report(*conn_, r, storage_, system_clock());
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code({"payroll", "csv", "2026-01-01", "2026-01-31", {}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({"sales", "docx", "2026-01-01", "2026-01-31", {}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({"sales", "csv", "2026-02-30", "2026-03-31", {}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({"sales", "csv", "2026-03-01", "2026-02-01", {}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(count("SELECT count(*) FROM reports"), 0);
}

TEST_P(ReportJobTest, AnotherTenantSeesNothing) {
  seed_sales();
  const int64_t id = run_report("sales", "json");
  {
    db::TenantScope scope(*conn_, b_);
    EXPECT_THROW(load_report(*conn_, id), Error);
    const int64_t other = request_report(*conn_, {"sales", "json", "2000-01-01", "2099-12-31", {}},
                                         storage_, system_clock());
    dispatcher_->dispatch(*conn_, b_, kGenerateReports,
                          "{\"report_id\":" + std::to_string(other) + "}");
    drain();
    const auto r = load_report(*conn_, other);
    ASSERT_EQ(r.status, "completed");
    auto s = sections_of(*r.path);
    EXPECT_EQ(s["orders"].size(), 0u);
    EXPECT_EQ(s["totals"][0]["revenue"], "0.00");
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, ReportJobTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

// --- The commands -----------------------------------------------------------------------------

class ReportCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
    ASSERT_EQ(unity("tenant:create Acme").exit, 0);
    ASSERT_EQ(unity("tenant:create Globex").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email m@acme.test --name Max --role manager").exit,
              0);
    ASSERT_EQ(unity("user:create --tenant 2 --email g@globex.test --name Gus --role manager").exit,
              0);
  }
  testing::CliRun unity(const std::string& args, const std::string& env = "") {
    return testing::run_cli(db_->dir(), db_->env_for_cli() + " " + env, args);
  }
  nlohmann::json ok(const std::string& args, const std::string& env = "QUEUE_CONNECTION=sync") {
    testing::CliRun r = unity(args + " --json", env);
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  void refused(const std::string& args, const std::string& env = "QUEUE_CONNECTION=sync") {
    testing::CliRun r = unity(args, env);
    EXPECT_NE(r.exit, 0) << args;
    // One line for the person; under the sync driver the job's own step log (JSON lines with
    // "log":"job", jobs/job_log.h) also goes to stderr, as a worker's does.
    std::istringstream lines(r.err);
    std::string line;
    size_t own = 0;
    while (std::getline(lines, line)) own += line.find("\"log\":\"job\"") == std::string::npos;
    EXPECT_EQ(own, 1u) << r.err;
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_P(ReportCliTest, ReportWithSyncQueueThenShow) {
  ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"+Apple\",\"price\":\"2\"}'");
  ok("stock:receive --tenant 1 --user 1 --data='{\"sku\":\"A-1\",\"location\":\"MAIN\","
     "\"quantity\":\"10\",\"unit_cost\":\"0.5\"}'");
  auto c = ok("customer:create --tenant 1 --user 1 --data='{\"name\":\"Initech\"}'");
  auto o = ok("order:create --tenant 1 --user 1 --data='{\"customer_id\":" +
              std::to_string(c["id"].get<int64_t>()) +
              ",\"lines\":[{\"sku\":\"A-1\",\"quantity\":\"4\",\"unit_price\":\"2\"}]}'");
  const std::string oid = std::to_string(o["id"].get<int64_t>());
  ok("order:approve --tenant 1 --user 1 --data='{\"id\":" + oid + "}'");
  ok("order:fulfill --tenant 1 --user 1 --data='{\"id\":" + oid + ",\"location\":\"MAIN\"}'");

  auto out = ok("report sales --tenant 1 --user 1 --from 2000-01-01 --to 2099-12-31 --format=csv");
  ASSERT_TRUE(out.contains("job_id")) << out.dump();
  ASSERT_TRUE(out.contains("report_id")) << out.dump();
  auto shown =
      ok("reports:show " + std::to_string(out["report_id"].get<int64_t>()) + " --tenant 1");
  EXPECT_EQ(shown["status"], "completed");
  EXPECT_EQ(shown["report_type"], "sales");
  for (const char* f : {"id", "status", "report_type", "file_name", "path"}) {
    EXPECT_TRUE(shown.contains(f)) << f;
  }
  fs::path path = shown["path"].get<std::string>();
  if (path.is_relative()) path = fs::path(db_->dir()) / path;
  const std::string csv = slurp(path.string());
  EXPECT_NE(csv.find("'+Apple"), std::string::npos) << csv;
  EXPECT_NE(csv.find("1,1,4.00,8.00,2.00,6.00"), std::string::npos) << csv;  // the totals line
  // Another tenant does not see it.
  refused("reports:show " + std::to_string(out["report_id"].get<int64_t>()) + " --tenant 2");
  // The requester's notification.
  auto inbox = ok("notifications:list --tenant 1 --user 1");
  bool found = false;
  for (const auto& n : inbox) found = found || n["type"] == "ReportGeneratedNotification";
  EXPECT_TRUE(found) << inbox.dump();
}

TEST_P(ReportCliTest, BadInputIsOneLineOnStderrAndNoRow) {
  refused("report payroll --tenant 1 --user 1 --from 2026-01-01 --to 2026-01-31 --format=csv");
  refused("report sales --tenant 1 --user 1 --from 2026-01-01 --to 2026-01-31 --format=docx");
  refused("report sales --tenant 1 --user 1 --from 2026-1-1 --to 2026-01-31 --format=csv");
  refused("report sales --tenant 1 --user 2 --from 2026-01-01 --to 2026-01-31 --format=csv");
  refused("report sales --tenant 9 --user 1 --from 2026-01-01 --to 2026-01-31 --format=csv");
  refused("reports:show 42 --tenant 1");
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM reports"), 0);
}

TEST_P(ReportCliTest, AnUnwritableStorageFailsTheRowWithTheReason) {
  // STORAGE_PATH is a regular file: the reports folder cannot be created under it.
  const std::string blocker = db_->dir() + "/blocker";
  std::ofstream(blocker) << "x";
  refused("report inventory --tenant 1 --user 1 --from 2026-01-01 --to 2026-01-31 --format=json",
          "QUEUE_CONNECTION=sync STORAGE_PATH=" + blocker);
  auto owner = db_->owner();
  auto row = owner->query_one("SELECT status, error_message, failed_at FROM reports");
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->get<std::string>(0), "failed");
  EXPECT_NE(row->get<std::string>(1).find("blocker"), std::string::npos)
      << row->get<std::string>(1);
  EXPECT_FALSE(row->is_null(2));
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM notifications"), 0);
}

TEST_P(ReportCliTest, DatabaseQueueDispatchesAPendingReportForAWorker) {
  auto out =
      ok("report customer --tenant 1 --user 1 --from 2026-01-01 --to 2026-01-31 "
         "--format=xlsx",
         "");
  ASSERT_TRUE(out.contains("report_id"));
  EXPECT_GT(out["job_id"].get<int64_t>(), 0);
  const std::string id = std::to_string(out["report_id"].get<int64_t>());
  EXPECT_EQ(ok("reports:show " + id + " --tenant 1", "")["status"], "pending");
  ASSERT_EQ(unity("queue:work --stop-when-empty").exit, 0);
  auto shown = ok("reports:show " + id + " --tenant 1", "");
  EXPECT_EQ(shown["status"], "completed");
  EXPECT_EQ(shown["file_name"], "customer-2026-01-01-2026-01-31-" + id + ".xlsx");
}

INSTANTIATE_TEST_SUITE_P(Drivers, ReportCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::jobs
