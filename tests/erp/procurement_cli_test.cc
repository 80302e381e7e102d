// The `unity` binary's procurement commands: vendor:create, po:create|approve|receive|show with the
// --json shapes of DESIGN.md's Output contract, the approval notification through a real
// `queue:work`, and bad input with one line on stderr and nothing written.
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/erp_fixture.h"

namespace unity::erp {
namespace {

using testing::CliRun;
using testing::Driver;

class ProcurementCliTest : public testing::ErpCliFixture {
 protected:
  void set_up_fixture() override {
    ASSERT_EQ(unity("user:create --tenant 1 --email b@acme.test --name Bo --role procurement").exit,
              0);
    ASSERT_EQ(unity("user:create --tenant 1 --email s@acme.test --name Sid --role sales").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email k@acme.test --name Kim --role inventory").exit,
              0);
    ok("product:create --tenant 1 --data='{\"sku\":\"BOLT\",\"name\":\"Bolt\",\"price\":\"1.50\","
       "\"cost\":\"1.00\"}'");
  }
};

TEST_P(ProcurementCliTest, PurchaseOrderFromDraftToReceivedHasTheContractShape) {
  auto vendor =
      ok("vendor:create --tenant 1 --user 1 --data='{\"name\":\"Supply Co\","
         "\"email\":\"orders@supply.test\"}'");
  EXPECT_EQ(vendor["id"], 1);
  EXPECT_EQ(vendor["name"], "Supply Co");
  EXPECT_EQ(vendor["email"], "orders@supply.test");

  // Created by the sales user (2), read from stdin.
  auto po = ok("po:create --tenant 1 --user 2 --data=-",
               R"({"vendor_id":1,"lines":[{"sku":"BOLT","quantity":"10","unit_cost":"0.75"}]})");
  EXPECT_EQ(po["id"], 1);
  EXPECT_EQ(po["status"], "draft");
  EXPECT_EQ(po["vendor_id"], 1);
  EXPECT_EQ(po["total"], "7.50");
  EXPECT_EQ(po["created_by"], 2);
  ASSERT_EQ(po["lines"].size(), 1u);
  EXPECT_EQ(po["lines"][0]["sku"], "BOLT");
  EXPECT_EQ(po["lines"][0]["quantity"], "10.00");
  EXPECT_EQ(po["lines"][0]["unit_cost"], "0.75");
  EXPECT_EQ(po["lines"][0]["quantity_received"], "0.00");

  auto approved = ok("po:approve --tenant 1 --user 1 --data='{\"id\":1}'");
  EXPECT_EQ(approved["id"], 1);
  EXPECT_EQ(approved["status"], "approved");
  EXPECT_EQ(approved["approved_by"], 1);

  // The queued listener notifies the procurement user and the creator (sales), not inventory.
  ASSERT_EQ(unity("queue:work --stop-when-empty").exit, 0);
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(ok("notifications:list --tenant 1 --user 1").size(), 1u);
  auto creator = ok("notifications:list --tenant 1 --user 2");
  ASSERT_EQ(creator.size(), 1u);
  EXPECT_EQ(creator[0]["type"], "PurchaseOrderApprovedNotification");
  EXPECT_EQ(ok("notifications:list --tenant 1 --user 3").size(), 0u);

  auto partial =
      ok("po:receive --tenant 1 --user 3 --data='{\"id\":1,\"location\":\"MAIN\",\"lines\":[{"
         "\"sku\":\"BOLT\",\"quantity\":\"4\",\"batch\":\"L1\",\"expiry_date\":\"2027-01-31\"}]}'");
  EXPECT_EQ(partial["id"], 1);
  EXPECT_EQ(partial["status"], "partially_received");
  EXPECT_EQ(partial["lines"][0]["quantity_received"], "4.00");
  EXPECT_GT(partial["receipt_id"].get<int64_t>(), 0);
  EXPECT_EQ(partial["receipt"]["lines"][0]["batch"], "L1");

  auto rest = ok("po:receive --tenant 1 --data='{\"id\":1}'");
  EXPECT_EQ(rest["status"], "received");
  EXPECT_TRUE(rest["received_at"].is_string());
  EXPECT_EQ(rest["receipts"].size(), 2u);

  auto shown = ok("po:show --tenant 1 --data='{\"id\":1}'");
  EXPECT_EQ(shown["status"], "received");
  EXPECT_EQ(shown["total"], "7.50");
  EXPECT_EQ(shown["lines"][0]["quantity_received"], "10.00");

  // The stock arrived at the order's unit cost, not the product's.
  auto stock = ok("stock:show --tenant 1 --data='{\"sku\":\"BOLT\"}'");
  EXPECT_EQ(stock["on_hand"], "10.00");
  ASSERT_EQ(stock["batches"].size(), 2u);
  EXPECT_EQ(stock["batches"][0]["batch"], "L1");
  EXPECT_EQ(stock["batches"][0]["unit_cost"], "0.75");
  EXPECT_EQ(stock["batches"][1]["batch"], "PO-1");
  EXPECT_EQ(stock["batches"][1]["quantity_remaining"], "6.00");
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM domain_events WHERE name = 'GoodsReceived'"), 2);
}

TEST_P(ProcurementCliTest, BadInputGetsOneLineAndChangesNothing) {
  ok("vendor:create --tenant 1 --data='{\"name\":\"Supply Co\",\"email\":\"o@supply.test\"}'");
  ok("po:create --tenant 1 --data='{\"vendor_id\":1,\"lines\":[{\"sku\":\"BOLT\",\"quantity\":"
     "\"2\"}]}'");
  ok("po:create --tenant 1 --data='{\"vendor_id\":1,\"lines\":[{\"sku\":\"BOLT\",\"quantity\":"
     "\"2\"}]}'");
  ok("po:approve --tenant 1 --data='{\"id\":2}'");
  auto owner = db_->owner();
  auto counts = [&] {
    std::string s;
    for (const char* t : {"vendors", "purchase_orders", "purchase_order_lines", "goods_receipts",
                          "stock_batches", "stock_movements", "domain_events", "jobs"}) {
      s += std::to_string(owner->query_int(std::string("SELECT count(*) FROM ") + t)) + " ";
    }
    return s;
  };
  const std::string before = counts();
  struct Case {
    std::string args;
    int exit;
    std::string says;
  } cases[] = {
      {"vendor:create --tenant 1 --data='{\"name\":\"Dup\",\"email\":\"O@Supply.test\"}'", 4,
       "already exists"},
      {"vendor:create --tenant 1 --data='{\"name\":\"X\",\"email\":\"nope\"}'", 2, "email"},
      {"po:create --tenant 1 --data='{\"vendor_id\":9,\"lines\":[{\"sku\":\"BOLT\",\"quantity\":"
       "\"1\"}]}'",
       3, "vendor 9 not found"},
      {"po:create --tenant 1 --data='{\"vendor_id\":1,\"lines\":[{\"sku\":\"NOPE\",\"quantity\":"
       "\"1\"}]}'",
       3, "not found"},
      {"po:create --tenant 1 --data='{\"vendor_id\":1,\"lines\":[{\"sku\":\"BOLT\",\"quantity\":"
       "\"-1\"}]}'",
       2, "quantity"},
      {"po:create --tenant 1 --data='{\"vendor_id\":1,\"lines\":[{\"sku\":\"BOLT\",\"quantity\":"
       "\"1.2.3\"}]}'",
       2, "1.2.3"},
      {"po:approve --tenant 1 --data='{\"id\":2}'", 5, "only a draft"},
      {"po:receive --tenant 1 --data='{\"id\":1}'", 5, "draft"},
      {"po:receive --tenant 1 "
       "--data='{\"id\":2,\"lines\":[{\"sku\":\"BOLT\",\"quantity\":\"3\"}]}'",
       5, "outstanding"},
      {"po:show --tenant 1 --data='{\"id\":99}'", 3, "purchase order 99 not found"},
      {"po:show --tenant 1 --data='{\"id\":1,\"x\":1}'", 2, "unknown field"},
      {"po:approve --tenant 1 --user 99 --data='{\"id\":1}'", 3, "not found"},
      {"po:approve --tenant 9 --data='{\"id\":1}'", 3, "tenant 9 not found"},
  };
  for (const auto& c : cases) {
    CliRun r = unity(c.args);
    EXPECT_EQ(r.exit, c.exit) << c.args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
  }
  EXPECT_EQ(counts(), before);
  EXPECT_EQ(ok("po:show --tenant 1 --data='{\"id\":1}'")["status"], "draft");
}

INSTANTIATE_TEST_SUITE_P(Drivers, ProcurementCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::erp
