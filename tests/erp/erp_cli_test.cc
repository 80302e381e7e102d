// The `unity` binary's catalog and inventory commands: --json shapes of DESIGN.md's Output
// contract, bad input with one line on stderr and nothing written.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/erp_fixture.h"

namespace unity::erp {
namespace {

using testing::CliRun;
using testing::Driver;

class ErpCliTest : public testing::ErpCliFixture {
 protected:
  void set_up_fixture() override {
    ASSERT_EQ(unity("user:create --tenant 1 --email k@acme.test --name Kim --role inventory").exit,
              0);
  }
};

TEST_P(ErpCliTest, ProductCreateAndShowHaveTheContractShape) {
  auto created =
      ok("product:create --tenant 1 --user 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\","
         "\"price\":\"1.50\",\"cost\":\"0.80\",\"reorder_level\":\"10\",\"unit\":\"kg\"}'");
  EXPECT_EQ(created["id"], 1);
  for (const auto& field :
       {"sku", "name", "price", "cost", "reorder_level", "unit", "on_hand", "deleted_at"}) {
    EXPECT_TRUE(created.contains(field)) << field;
  }
  auto shown = ok("product:show --tenant 1 --data='{\"sku\":\"A-1\"}'");
  EXPECT_EQ(shown["id"], 1);
  EXPECT_EQ(shown["sku"], "A-1");
  EXPECT_EQ(shown["name"], "Apple");
  EXPECT_EQ(shown["price"], "1.50");
  EXPECT_EQ(shown["cost"], "0.80");
  EXPECT_EQ(shown["reorder_level"], "10.00");
  EXPECT_EQ(shown["unit"], "kg");
  EXPECT_EQ(shown["on_hand"], "0.00");
  EXPECT_TRUE(shown["deleted_at"].is_null());
  EXPECT_EQ(ok("product:show --tenant 1 --data='{\"id\":1}'")["sku"], "A-1");
  // --data=- reads stdin.
  auto updated = ok("product:update --tenant 1 --user 1 --data=-", "{\"id\":1,\"price\":\"1.75\"}");
  EXPECT_EQ(updated["price"], "1.75");
  auto deleted = ok("product:delete --tenant 1 --data='{\"id\":1}'");
  EXPECT_TRUE(deleted["deleted_at"].is_string());
  EXPECT_TRUE(ok("product:show --tenant 1 --data='{\"id\":1}'")["deleted_at"].is_string());
  CliRun gone = unity("product:show --tenant 1 --data='{\"sku\":\"A-1\"}'");
  EXPECT_EQ(gone.exit, 3);
  EXPECT_NE(gone.err.find("not found"), std::string::npos) << gone.err;
}

TEST_P(ErpCliTest, StockReceiveAndShowHaveTheContractShape) {
  ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"1.50\"}'");
  auto received =
      ok("stock:receive --tenant 1 --user 1 --data='{\"sku\":\"A-1\",\"location\":\"MAIN\","
         "\"quantity\":\"12\",\"unit_cost\":\"0.75\",\"batch\":\"B1\",\"expiry_date\":\"2027-01-"
         "31\"}'");
  EXPECT_GT(received["id"].get<int64_t>(), 0);
  EXPECT_EQ(received["on_hand"], "12.00");
  ok("stock:receive --tenant 1 "
     "--data='{\"sku\":\"A-1\",\"quantity\":\"5\",\"unit_cost\":\"0.90\",\"batch\":\"B2\"}'");
  auto adjusted =
      ok("stock:adjust --tenant 1 "
         "--data='{\"sku\":\"A-1\",\"location\":\"MAIN\",\"quantity\":\"-13.5\",\"reason\":"
         "\"damaged\"}'");
  EXPECT_EQ(adjusted["on_hand"], "3.50");
  EXPECT_EQ(adjusted["cost"], "10.35");
  auto stock = ok("stock:show --tenant 1 --data='{\"sku\":\"A-1\"}'");
  EXPECT_EQ(stock, nlohmann::json::parse(R"({"sku":"A-1","on_hand":"3.50",
      "locations":[{"code":"MAIN","on_hand":"3.50"}],
      "batches":[{"batch":"B2","location":"MAIN","quantity_remaining":"3.50","unit_cost":"0.90","expiry_date":null}]})"));
  EXPECT_EQ(ok("product:show --tenant 1 --data='{\"sku\":\"A-1\"}'")["on_hand"], "3.50");
}

TEST_P(ErpCliTest, BadInputGetsOneLineAndChangesNothing) {
  ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"1.50\"}'");
  ok("stock:receive --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"2\"}'");
  struct Case {
    std::string args;
    int exit;
    std::string says;
  } cases[] = {
      {"stock:receive --tenant 1 --data='{\"sku\":\"NOPE\",\"quantity\":\"1\"}'", 3, "not found"},
      {"stock:receive --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"12.3.4\"}'", 2, "12.3.4"},
      {"stock:receive --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"-1\"}'", 2, "quantity"},
      {"stock:adjust --tenant 1 --data='{\"sku\":\"A-1\",\"quantity\":\"-3\"}'", 5,
       "not enough stock"},
      {"stock:receive --tenant 1 --data='{\"sku\":'", 2, "not valid JSON"},
      {"stock:receive --tenant 1 --user 99 --data='{\"sku\":\"A-1\",\"quantity\":\"1\"}'", 3,
       "not found"},
      {"stock:receive --tenant 9 --data='{\"sku\":\"A-1\",\"quantity\":\"1\"}'", 3,
       "tenant 9 not found"},
      {"product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Dup\",\"price\":\"1\"}'", 4,
       "already exists"},
      {"stock:check-expiry --as-of=2026-02-30", 2, "day"},
  };
  for (const auto& c : cases) {
    CliRun r = unity(c.args);
    EXPECT_EQ(r.exit, c.exit) << c.args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << c.args << ": " << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << ": " << r.err;
  }
  EXPECT_EQ(ok("stock:show --tenant 1 --data='{\"sku\":\"A-1\"}'")["on_hand"], "2.00");
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM stock_movements"), 1);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM products"), 1);
}

TEST_P(ErpCliTest, CheckExpiryScansEveryTenantOncePerSeverity) {
  ok("product:create --tenant 1 --data='{\"sku\":\"M\",\"name\":\"Milk\",\"price\":\"1\"}'");
  ok("stock:receive --tenant 1 "
     "--data='{\"sku\":\"M\",\"quantity\":\"3\",\"batch\":\"L1\",\"expiry_date\":\"2027-01-10\"}'");
  auto first = ok("stock:check-expiry --as-of=2027-01-01");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["severity"], "warning");
  EXPECT_EQ(first[0]["days_left"], 9);
  EXPECT_EQ(first[0]["tenant_id"], 1);
  EXPECT_EQ(ok("stock:check-expiry --as-of=2027-01-01 --tenant 1").size(), 0u);
}

// `valuation:recalculate --product=1` said product with SKU "1" not found: wherever a product is
// named, an integer is its id (DESIGN.md, domain inputs).
TEST_P(ErpCliTest, ValuationRecalculateTakesAProductIdOrSku) {
  ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"1\"}'");
  EXPECT_GT(ok("valuation:recalculate --tenant 1 --product=1")["job_id"].get<int64_t>(), 0);
  EXPECT_GT(ok("valuation:recalculate --tenant 1 --product=A-1")["job_id"].get<int64_t>(), 0);
  CliRun missing = unity("valuation:recalculate --tenant 1 --product=99");
  EXPECT_EQ(missing.exit, 3) << missing.err;
  EXPECT_NE(missing.err.find("product \"99\" not found"), std::string::npos) << missing.err;
  ok("product:delete --tenant 1 --data='{\"id\":1}'");
  EXPECT_EQ(unity("valuation:recalculate --tenant 1 --product=1").exit, 3);
}

// PostgreSQL refused a NUL in a product name with the SQL in its message; SQLite stored it.
TEST_P(ErpCliTest, ControlCharactersAreRefusedTheSameOnBothDriversWithoutSql) {
  ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"1\"}'");
  for (const char* args : {
           "product:create --tenant 1 --data='{\"sku\":\"N-1\",\"name\":\"Wid\\u0000get\","
           "\"price\":\"1\"}'",
           "product:create --tenant 1 --data='{\"sku\":\"N-1\",\"name\":\"Tab\\there\","
           "\"price\":\"1\"}'",
           "product:update --tenant 1 --data='{\"id\":1,\"name\":\"Wid\\u0000get\"}'",
           "stock:receive --tenant 1 --data='{\"sku\":\"A-1\\u0000x\",\"quantity\":\"1\"}'",
           "customer:create --tenant 1 --data='{\"name\":\"Bell\\u0007\",\"email\":\"b@b.test\"}'",
       }) {
    CliRun r = unity(args);
    EXPECT_EQ(r.exit, 2) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_NE(r.err.find("control characters"), std::string::npos) << args << ": " << r.err;
    for (const char* sql : {"INSERT", "UPDATE", "SELECT", " in: "}) {
      EXPECT_EQ(r.err.find(sql), std::string::npos) << args << ": " << r.err;
    }
  }
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM products"), 1);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM stock_movements"), 0);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM customers"), 0);
  EXPECT_EQ(ok("product:show --tenant 1 --data='{\"id\":1}'")["name"], "Apple");
}

INSTANTIATE_TEST_SUITE_P(Drivers, ErpCliTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::erp
