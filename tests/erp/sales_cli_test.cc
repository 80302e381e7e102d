// The `unity` binary's CRM, sales and billing commands: the --json shapes of DESIGN.md's Output
// contract through a whole order-to-cash run with QUEUE_CONNECTION=sync (listeners run inline),
// the overdue scan with --as-of, and bad input: one line on stderr, non-zero exit, nothing written.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/erp_fixture.h"

namespace unity::erp {
namespace {

using testing::CliRun;
using testing::Driver;
using testing::TestDatabase;

// Listeners run inline (QUEUE_CONNECTION=sync) in every command.
class SalesCliTest : public testing::ErpCliFixture {
 protected:
  SalesCliTest() : ErpCliFixture("QUEUE_CONNECTION=sync") {}

  void set_up_fixture() override {
    ASSERT_EQ(unity("tenant:create Globex").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email s@acme.test --name Sid --role sales").exit, 0);
    ok("product:create --tenant 1 "
       "--data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"2.50\"}'");
    ok("stock:receive --tenant 1 "
       "--data='{\"sku\":\"A-1\",\"quantity\":\"10\",\"unit_cost\":\"1\"}'");
  }
  // A refused command: its exit code, exactly one line on stderr.
  int refused(const std::string& args) {
    CliRun r = unity(args);
    EXPECT_EQ(testing::line_count(r.err), 1u) << args << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
    return r.exit;
  }
};

TEST_P(SalesCliTest, OrderToCashHasTheContractShapes) {
  auto customer =
      ok("customer:create --tenant 1 --user 1 --data='{\"name\":\"Initech\",\"email\":\"ap@initech."
         "test\",\"payment_terms_days\":30,\"contacts\":[{\"name\":\"Peter\",\"email\":\"p@initech."
         "test\"}]}'");
  ASSERT_TRUE(customer["id"].is_number_integer());
  ASSERT_EQ(customer["contacts"].size(), 1u);
  for (const char* f : {"id", "name", "email"}) EXPECT_TRUE(customer["contacts"][0].contains(f));

  auto order =
      ok("order:create --tenant 1 --user 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":"
         "\"A-1\",\"quantity\":\"4\"}]}'");
  EXPECT_EQ(order["id"], 1);
  EXPECT_EQ(order["status"], "draft");
  EXPECT_EQ(order["total"], "10.00");
  EXPECT_TRUE(order["invoice_id"].is_null());
  EXPECT_EQ(order["lines"].size(), 1u);

  auto approved = ok("order:approve --tenant 1 --user 1 --data='{\"id\":1}'");
  EXPECT_EQ(approved["status"], "approved");
  // With the sync queue the listener has issued the invoice already.
  auto shown = ok("order:show --tenant 1 --data='{\"id\":1}'");
  ASSERT_TRUE(shown["invoice_id"].is_number_integer());
  for (const char* f : {"id", "status", "customer_id", "total", "invoice_id", "lines"})
    EXPECT_TRUE(shown.contains(f)) << f;

  auto fulfilled =
      ok("order:fulfill --tenant 1 --user 1 --data='{\"id\":1,\"location\":\"MAIN\"}'");
  EXPECT_EQ(fulfilled["status"], "fulfilled");
  EXPECT_EQ(fulfilled["cost_of_goods"], "4.00");
  EXPECT_EQ(ok("product:show --tenant 1 --data='{\"sku\":\"A-1\"}'")["on_hand"], "6.00");

  const std::string invoice = std::to_string(shown["invoice_id"].get<int64_t>());
  auto inv = ok("invoice:show --tenant 1 --data='{\"id\":" + invoice + "}'");
  for (const char* f :
       {"id", "order_id", "customer_id", "status", "total", "paid", "balance", "due_date"})
    EXPECT_TRUE(inv.contains(f)) << f;
  EXPECT_EQ(inv["status"], "issued");
  EXPECT_EQ(inv["balance"], "10.00");

  auto paid = ok("invoice:pay --tenant 1 --user 1 --data='{\"invoice_id\":" + invoice +
                 ",\"amount\":\"4\"}'");
  EXPECT_EQ(paid["status"], "partially_paid");
  EXPECT_EQ(paid["balance"], "6.00");
  EXPECT_TRUE(paid["payment_id"].is_number_integer());

  auto c = ok("customer:show --tenant 1 --data='{\"id\":1}'");
  EXPECT_EQ(c["orders_count"], 1);
  EXPECT_EQ(c["total_spent"], "10.00");
  EXPECT_EQ(c["average_order_value"], "10.00");
  EXPECT_TRUE(c["last_order_at"].is_string());
  EXPECT_EQ(c["outstanding_balance"], "6.00");

  // The contact got the invoice and the payment confirmation.
  auto inbox = ok("notifications:list --tenant 1 --contact 1");
  std::multiset<std::string> types;
  for (const auto& n : inbox) types.insert(n["type"].get<std::string>());
  EXPECT_EQ(types, (std::multiset<std::string>{"InvoiceGeneratedNotification",
                                               "PaymentReceivedNotification"}));

  // Overdue: not before the due date, once after it.
  const std::string due = inv["due_date"];
  EXPECT_TRUE(ok("invoices:check-overdue --as-of=" + due).empty());
  auto marked = ok("invoices:check-overdue --tenant 1 --as-of=2099-01-01");
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_EQ(marked[0]["balance"], "6.00");
  EXPECT_TRUE(ok("invoices:check-overdue --as-of=2099-01-01").empty());
  EXPECT_EQ(ok("invoice:show --tenant 1 --data='{\"id\":" + invoice + "}'")["status"], "overdue");

  auto events = ok("events:list --tenant 1");
  std::set<std::string> names;
  for (const auto& e : events) names.insert(e["name"].get<std::string>());
  for (const char* n : {"CustomerCreated", "OrderCreated", "OrderApproved", "InvoiceGenerated",
                        "OrderFulfilled", "InvoicePaymentReceived", "InvoiceOverdue"})
    EXPECT_TRUE(names.count(n)) << n;
}

TEST_P(SalesCliTest, LeadsLocationsAndBadInput) {
  auto lead = ok("lead:create --tenant 1 --data='{\"name\":\"Hooli\",\"email\":\"g@hooli.test\"}'");
  auto customer =
      ok("lead:convert --tenant 1 --data='{\"id\":" + std::to_string(lead["id"].get<int64_t>()) +
         "}'");
  EXPECT_EQ(customer["lead_id"], lead["id"]);
  EXPECT_EQ(refused("lead:convert --tenant 1 --data='{\"id\":1}'"), 5);
  auto loc = ok("location:create --tenant 1 --data='{\"code\":\"WH2\",\"name\":\"Warehouse 2\"}'");
  EXPECT_EQ(loc["code"], "WH2");
  EXPECT_EQ(refused("location:create --tenant 1 --data='{\"code\":\"WH2\"}'"), 4);

  ok("order:create --tenant 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":\"A-1\","
     "\"quantity\":\"11\"}]}'");
  ok("order:approve --tenant 1 --data='{\"id\":1}'");
  const auto before = db_->owner()->query_int("SELECT count(*) FROM stock_movements");
  EXPECT_EQ(refused("order:fulfill --tenant 1 --data='{\"id\":1}'"), 5);  // oversell
  EXPECT_EQ(refused("order:approve --tenant 1 --data='{\"id\":1}'"), 5);  // twice
  EXPECT_EQ(refused("invoice:pay --tenant 1 --data='{\"invoice_id\":1,\"amount\":\"27.51\"}'"),
            5);  // overpay
  EXPECT_EQ(refused("invoice:pay --tenant 1 --data='{\"invoice_id\":1,\"amount\":\"x\"}'"), 2);
  EXPECT_EQ(refused("order:create --tenant 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":"
                    "\"NOPE\",\"quantity\":\"1\"}]}'"),
            3);
  EXPECT_EQ(refused("order:create --tenant 2 --data='{\"customer_id\":1,\"lines\":[{\"sku\":"
                    "\"A-1\",\"quantity\":\"1\"}]}'"),
            3);  // tenant 1's customer from tenant 2
  EXPECT_EQ(refused("order:show --tenant 2 --data='{\"id\":1}'"), 3);
  EXPECT_EQ(refused("customer:create --tenant 1 --data='{\"name\":\"X\",\"email\":\"nope\"}'"), 2);
  EXPECT_EQ(refused("order:create --tenant 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":"
                    "\"A-1\",\"quantity\":\"-1\"}]}'"),
            2);
  EXPECT_EQ(refused("invoices:check-overdue --as-of=2026-02-30"), 2);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM stock_movements"), before);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM payments"), 0);
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM orders"), 1);
}

// Two prices of 922337203685477.5807 were each valid but overflowed when summed, and then broke
// customer:show and the customer and financial reports for good. Amounts are bounded at write
// time (at most 10^12, line and document totals too), so every sum of them fits.
TEST_P(SalesCliTest, PricesThatOverflowWhenSummedAreRefusedAndSumsOfAllowedOnesFit) {
  const auto counts = [&] {
    auto owner = db_->owner();
    std::string s;
    for (const char* t : {"products", "orders", "stock_batches", "purchase_orders", "payments"}) {
      s += std::to_string(owner->query_int(std::string("SELECT count(*) FROM ") + t)) + " ";
    }
    return s;
  };
  ok("customer:create --tenant 1 --data='{\"name\":\"Initech\",\"email\":\"ap@initech.test\"}'");
  ok("vendor:create --tenant 1 --data='{\"name\":\"Acme Supply\",\"email\":\"s@acme.test\"}'");
  const std::string before = counts();
  EXPECT_EQ(refused("product:create --tenant 1 --data='{\"sku\":\"BIG\",\"name\":\"Big\","
                    "\"price\":\"922337203685477.5807\"}'"),
            2);
  EXPECT_EQ(
      refused("product:update --tenant 1 --data='{\"id\":1,\"cost\":\"1000000000000.0001\"}'"), 2);
  EXPECT_EQ(refused("stock:receive --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"3\","
                    "\"unit_cost\":\"500000000000\"}'"),
            2);  // the batch's value: 1.5 x 10^12
  EXPECT_EQ(refused("order:create --tenant 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":"
                    "\"A-1\",\"quantity\":\"1\",\"unit_price\":\"1000000000000.0001\"}]}'"),
            2);
  EXPECT_EQ(refused("order:create --tenant 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":"
                    "\"A-1\",\"quantity\":\"2\",\"unit_price\":\"600000000000\"}]}'"),
            2);  // a line total of 1.2 x 10^12
  EXPECT_EQ(refused("po:create --tenant 1 --data='{\"vendor_id\":1,\"lines\":[{\"sku\":"
                    "\"A-1\",\"quantity\":\"2\",\"unit_cost\":\"600000000000\"}]}'"),
            2);
  EXPECT_EQ(counts(), before);

  // The largest allowed price, twice: the sums customer:show and the reports make fit.
  ok("product:create --tenant 1 "
     "--data='{\"sku\":\"MAX\",\"name\":\"Max\",\"price\":\"1000000000000\"}'");
  ok("stock:receive --tenant 1 --data='{\"sku\":\"MAX\",\"quantity\":\"2\",\"unit_cost\":\"1\"}'");
  CliRun two_lines = unity(
      "order:create --tenant 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":\"MAX\","
      "\"quantity\":\"1\"},{\"sku\":\"A-1\",\"quantity\":\"1\"}]}'");
  EXPECT_EQ(two_lines.exit, 2) << two_lines.err;  // the order total passes 10^12
  EXPECT_NE(two_lines.err.find("order total"), std::string::npos) << two_lines.err;
  for (int id : {1, 2}) {
    ok("order:create --tenant 1 --data='{\"customer_id\":1,\"lines\":[{\"sku\":\"MAX\","
       "\"quantity\":\"1\"}]}'");
    ok("order:approve --tenant 1 --data='{\"id\":" + std::to_string(id) + "}'");
    ok("order:fulfill --tenant 1 --data='{\"id\":" + std::to_string(id) + "}'");
  }
  auto customer = ok("customer:show --tenant 1 --data='{\"id\":1}'");
  EXPECT_EQ(customer["total_spent"], "2000000000000.00");
  EXPECT_EQ(customer["outstanding_balance"], "2000000000000.00");
  for (const char* type : {"customer", "financial", "sales"}) {
    CliRun r = unity(std::string("report ") + type +
                     " --tenant 1 --user 1 --from 2000-01-01 --to 2100-01-01 --format=json");
    EXPECT_EQ(r.exit, 0) << type << ": " << r.err;
  }
  EXPECT_EQ(refused("invoice:pay --tenant 1 "
                    "--data='{\"invoice_id\":1,\"amount\":\"1000000000000.0001\"}'"),
            2);

  // Imports go through the same check: the row is refused, the others are imported.
  std::ofstream(db_->dir() + "/products.csv")
      << "sku,name,price\nOK-1,Fine,1.00\nHUGE,Huge,922337203685477.5807\n";
  auto imported = ok("import products products.csv --tenant 1 --user 1");
  auto shown =
      ok("imports:show " + std::to_string(imported["import_id"].get<int64_t>()) + " --tenant 1");
  EXPECT_EQ(shown["imported_rows"], 1) << shown.dump();
  EXPECT_EQ(shown["failed_rows"], 1) << shown.dump();
  EXPECT_EQ(refused("product:show --tenant 1 --data='{\"sku\":\"HUGE\"}'"), 3);
}

// `unity demo` (the README's run command) on its own fresh embedded database: every workflow ran
// through the workers with nothing failed, and the figures follow from the seeded data.
TEST(Demo, RunsEveryWorkflowThroughTheWorkers) {
  auto db = TestDatabase::create(Driver::kSqlite, /*migrate=*/false);
  CliRun r = testing::run_cli(db->dir(), db->env_for_cli(), "demo --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  auto a = nlohmann::json::parse(r.out);
  EXPECT_EQ(a["jobs_failed"], 0);
  EXPECT_GT(a["jobs_run"].get<int64_t>(), 20);
  for (const char* n :
       {"ProductCreated", "StockMovementRecorded", "LowStockDetected", "StockExpiring",
        "OrderCreated", "OrderApproved", "OrderFulfilled", "InvoiceGenerated",
        "InvoicePaymentReceived", "InvoiceOverdue", "CustomerCreated", "LeadConverted",
        "PurchaseOrderApproved", "GoodsReceived"}) {
    EXPECT_GE(a["events"].value(n, 0), 1) << n;
  }
  std::set<std::string> types;
  for (const auto& n : a["notifications"]) types.insert(n["type"].get<std::string>());
  EXPECT_EQ(types, (std::set<std::string>{"InvoiceGeneratedNotification", "LowStockNotification",
                                          "OrderStatusNotification", "PaymentReceivedNotification",
                                          "PurchaseOrderApprovedNotification",
                                          "StockExpiryNotification"}));
  EXPECT_EQ(a["stock"][0]["on_hand"], "10.00");           // 40 received, 30 sold
  EXPECT_EQ(a["customers"][0]["total_spent"], "498.00");  // 30 × 15.00 + 8 × 6.00
  EXPECT_EQ(a["customers"][0]["outstanding_balance"], "298.00");
  // A second run starts again from scratch.
  CliRun again = testing::run_cli(db->dir(), db->env_for_cli(), "demo --json");
  ASSERT_EQ(again.exit, 0) << again.err;
  EXPECT_EQ(nlohmann::json::parse(again.out)["events"], a["events"]);
}

INSTANTIATE_TEST_SUITE_P(Drivers, SalesCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::erp
