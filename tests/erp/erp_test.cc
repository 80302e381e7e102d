// The catalog and inventory modules on both drivers: every operation down to its rows and events,
// FIFO with exact decimals, low-stock and expiry alerts through the real worker, bad input that
// changes nothing, and tenant isolation.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "erp/catalog/catalog_service.h"
#include "erp/catalog/events.h"
#include "erp/erp.h"
#include "erp/input.h"
#include "erp/inventory/events.h"
#include "erp/inventory/inventory_service.h"
#include "events/event_bus.h"
#include "events/event_store.h"
#include "support/erp_fixture.h"

namespace unity::erp {
namespace {

using catalog::CatalogService;
using catalog::ProductDraft;
using catalog::ProductPatch;
using inventory::Adjustment;
using inventory::InventoryService;
using inventory::Receipt;
using testing::Driver;

TEST(ExpirySeverity, SevenOrFewerCriticalFourteenOrFewerWarningElseInfo) {
  EXPECT_EQ(inventory::expiry_severity(-3), "critical");
  EXPECT_EQ(inventory::expiry_severity(7), "critical");
  EXPECT_EQ(inventory::expiry_severity(8), "warning");
  EXPECT_EQ(inventory::expiry_severity(14), "warning");
  EXPECT_EQ(inventory::expiry_severity(15), "info");
  EXPECT_EQ(inventory::expiry_severity(30), "info");
}

class ErpTest : public testing::ErpFixture {
 protected:
  void set_up_fixture() override {
    wire_erp(*bus_, *notifier_);  // idempotent: a second wiring changes nothing
    keeper_ = db::create_user(*conn_, "keeper@acme.test", "Kim", "inventory").id;
    seller_ = db::create_user(*conn_, "seller@acme.test", "Sid", "sales").id;
  }

  CatalogService catalog() { return CatalogService(*conn_, *bus_, keeper_); }
  InventoryService inventory() { return InventoryService(*conn_, *bus_, keeper_); }

  catalog::Product make(const std::string& sku, const char* reorder = "0",
                        const char* cost = "1.00") {
    return catalog().create(ProductDraft::from_json({{"sku", sku},
                                                     {"name", "Thing " + sku},
                                                     {"price", "9.99"},
                                                     {"cost", cost},
                                                     {"reorder_level", reorder},
                                                     {"unit", "pcs"}}));
  }
  inventory::MovementResult receive(const nlohmann::json& data) {
    return inventory().receive(Receipt::from_json(data));
  }
  inventory::MovementResult adjust(const nlohmann::json& data) {
    return inventory().adjust(Adjustment::from_json(data));
  }

  // Everything a failed operation must leave as it was.
  std::string snapshot() {
    std::string s = row_counts({"products", "locations", "stock_batches", "stock_movements",
                                "domain_events", "jobs", "stock_expiry_alerts"});
    auto owner = db_->owner();
    owner->query_each("SELECT id, quantity_remaining FROM stock_batches ORDER BY id", {},
                      [&](const db::Row& r) { s += r.get<std::string>(1) + ","; });
    owner->query_each("SELECT sku, price, low_stock_flag, deleted_at FROM products ORDER BY id", {},
                      [&](const db::Row& r) {
                        s += r.get<std::string>(0) + ":" + r.get<std::string>(1) + ":" +
                             std::to_string(r.get<int64_t>(2)) + ":" +
                             r.get<std::optional<std::string>>(3).value_or("-") + ";";
                      });
    return s;
  }

  int64_t keeper_ = 0, seller_ = 0;
};

TEST_P(ErpTest, CreateProductWritesTheRowAndProductCreated) {
  auto p = make("SKU-1", "5.5", "0.3333");
  EXPECT_GT(p.id, 0);
  EXPECT_EQ(p.price, d("9.99"));
  EXPECT_EQ(p.cost, d("0.3333"));
  EXPECT_EQ(p.reorder_level, d("5.5"));
  EXPECT_EQ(p.unit, "pcs");
  EXPECT_FALSE(p.deleted_at);
  EXPECT_EQ(count("SELECT count(*) FROM products"), 1);
  ASSERT_EQ(events_named("ProductCreated"), 1);
  auto payload = last_payload("ProductCreated");
  EXPECT_EQ(payload["product_id"], p.id);
  EXPECT_EQ(payload["sku"], "SKU-1");
  EXPECT_EQ(payload["cost"], "0.3333");
  EXPECT_EQ(payload["reorder_level"], "5.5000");
  EXPECT_EQ(code_of([&] { make("SKU-1"); }), ErrorCode::kAlreadyExists);
  EXPECT_EQ(count("SELECT count(*) FROM products"), 1);
  // The stored event rebuilds exactly.
  events::EventStore store(*conn_);
  auto stored = store.list({.type = "ProductCreated"});
  ASSERT_EQ(stored.size(), 1u);
  auto e = bus_->registry().read(stored[0].name, events::meta_of(stored[0]),
                                 nlohmann::json::parse(stored[0].payload));
  const auto& created = dynamic_cast<const catalog::ProductCreated&>(*e);
  EXPECT_EQ(created.price(), d("9.99"));
  EXPECT_EQ(created.meta().user_id, keeper_);
  EXPECT_EQ(stored[0].aggregate_type, "product");
}

TEST_P(ErpTest, UpdateDispatchesOnlyChangedFieldsAndNothingWhenUnchanged) {
  auto p = make("SKU-1");
  auto q = catalog().update(ProductPatch::from_json(
      {{"id", p.id}, {"price", "12.50"}, {"name", p.name}, {"unit", "box"}}));
  EXPECT_EQ(q.price, d("12.50"));
  EXPECT_EQ(q.unit, "box");
  ASSERT_EQ(events_named("ProductUpdated"), 1);
  auto changes = last_payload("ProductUpdated")["changes"];
  EXPECT_EQ(changes.size(), 2u) << changes.dump();
  EXPECT_EQ(changes["price"]["old"], "9.9900");
  EXPECT_EQ(changes["price"]["new"], "12.5000");
  EXPECT_EQ(changes["unit"]["old"], "pcs");
  EXPECT_EQ(changes["unit"]["new"], "box");
  const std::string before = snapshot();
  catalog().update(ProductPatch::from_json({{"id", p.id}, {"price", "12.5"}}));
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(events_named("ProductUpdated"), 1);
  make("SKU-2");
  EXPECT_EQ(code_of([&] {
              catalog().update(ProductPatch::from_json({{"id", p.id}, {"sku", "SKU-2"}}));
            }),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(code_of([&] {
              ProductPatch::from_json({{"id", p.id}, {"prise", "1"}});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              catalog().update(ProductPatch::from_json({{"id", p.id}, {"price", "-1"}}));
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(catalog().find(p.id).price, d("12.50"));
}

TEST_P(ErpTest, DeleteIsSoftFreesTheSkuAndDeletedProductIsNotFoundForWrites) {
  auto p = make("SKU-1");
  auto gone = catalog().remove(p.id);
  EXPECT_TRUE(gone.deleted_at);
  EXPECT_EQ(events_named("ProductDeleted"), 1);
  EXPECT_EQ(last_payload("ProductDeleted")["sku"], "SKU-1");
  EXPECT_EQ(count("SELECT count(*) FROM products"), 1);
  EXPECT_TRUE(catalog().find(p.id).deleted_at);  // show still finds it
  EXPECT_EQ(code_of([&] { catalog().find_by_sku("SKU-1"); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { catalog().remove(p.id); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] {
              catalog().update(ProductPatch::from_json({{"id", p.id}, {"name", "X"}}));
            }),
            ErrorCode::kNotFound);
  auto again = make("SKU-1");
  EXPECT_NE(again.id, p.id);
}

TEST_P(ErpTest, ReceiveCreatesBatchLedgerRowAndStockMovementRecorded) {
  auto p = make("SKU-1", "0", "2.00");
  EXPECT_EQ(count("SELECT count(*) FROM locations"), 0);
  auto r = receive({{"sku", "SKU-1"},
                    {"quantity", "10.5"},
                    {"unit_cost", "1.2345"},
                    {"batch", "LOT-1"},
                    {"expiry_date", "2027-01-31"}});
  ASSERT_TRUE(r.batch_id);
  EXPECT_EQ(r.on_hand, d("10.5"));
  EXPECT_EQ(r.cost, d("12.9623"));  // 10.5 × 1.2345 = 12.96225, rounded half away
  EXPECT_EQ(count("SELECT count(*) FROM locations WHERE code = 'MAIN'"), 1);
  auto owner = db_->owner();
  auto b = owner->query_one(
      "SELECT batch, quantity_received, quantity_remaining, unit_cost, expiry_date "
      "FROM stock_batches");
  EXPECT_EQ(b->get<std::string>(0), "LOT-1");
  EXPECT_EQ(Decimal::parse(b->get<std::string>(1)), d("10.5"));
  EXPECT_EQ(Decimal::parse(b->get<std::string>(2)), d("10.5"));
  EXPECT_EQ(Decimal::parse(b->get<std::string>(3)), d("1.2345"));
  EXPECT_EQ(b->get<std::string>(4), "2027-01-31");
  auto m = owner->query_one("SELECT quantity, unit_cost, reason, batch_id FROM stock_movements");
  EXPECT_EQ(Decimal::parse(m->get<std::string>(0)), d("10.5"));
  EXPECT_EQ(m->get<std::string>(2), "receipt");
  EXPECT_EQ(m->get<int64_t>(3), *r.batch_id);
  ASSERT_EQ(events_named("StockMovementRecorded"), 1);
  auto e = last_payload("StockMovementRecorded");
  EXPECT_EQ(e["quantity"], "10.5000");
  EXPECT_EQ(e["location"], "MAIN");
  EXPECT_EQ(e["batch_id"], *r.batch_id);
  // Defaults: the product's cost, MAIN.
  receive({{"sku", "SKU-1"}, {"quantity", "1"}});
  EXPECT_EQ(inventory().stock("SKU-1").batches.back().unit_cost, d("2.00"));
  EXPECT_EQ(inventory().on_hand(p.id), d("11.5"));
  EXPECT_EQ(count("SELECT count(*) FROM locations"), 1);
}

TEST_P(ErpTest, OutgoingStockConsumesBatchesFifoWithExactDecimals) {
  auto p = make("SKU-1", "0");
  receive({{"sku", "SKU-1"}, {"quantity", "3.3333"}, {"unit_cost", "1.10"}, {"batch", "A"}});
  receive({{"sku", "SKU-1"}, {"quantity", "5"}, {"unit_cost", "1.25"}, {"batch", "B"}});
  receive({{"sku", "SKU-1"}, {"quantity", "2"}, {"unit_cost", "0.99"}, {"batch", "C"}});
  auto r = adjust({{"sku", "SKU-1"}, {"quantity", "-4.3333"}, {"reason", "damaged"}});
  ASSERT_EQ(r.movement_ids.size(), 2u);
  EXPECT_EQ(r.cost, d("4.9166"));  // 3.3333 × 1.10 = 3.66663 → 3.6666; + 1 × 1.25
  EXPECT_EQ(r.on_hand, d("6"));
  auto level = inventory().stock("SKU-1");
  ASSERT_EQ(level.batches.size(), 2u);
  EXPECT_EQ(level.batches[0].batch, "B");
  EXPECT_EQ(level.batches[0].quantity_remaining, d("4"));
  EXPECT_EQ(level.batches[1].quantity_remaining, d("2"));
  auto owner = db_->owner();
  auto moves = owner->query(
      "SELECT quantity, unit_cost, reason FROM stock_movements WHERE reason <> 'receipt' "
      "ORDER BY id");
  ASSERT_EQ(moves.size(), 2u);
  EXPECT_EQ(Decimal::parse(moves[0].get<std::string>(0)), d("-3.3333"));
  EXPECT_EQ(Decimal::parse(moves[0].get<std::string>(1)), d("1.10"));
  EXPECT_EQ(Decimal::parse(moves[1].get<std::string>(0)), d("-1"));
  EXPECT_EQ(moves[1].get<std::string>(2), "damaged");
  // issue() for sales fulfilment: FIFO cost, reference recorded.
  auto issued = inventory().issue(p.id, "MAIN", d("5"), "order", "77");
  EXPECT_EQ(issued.cost, d("4") * d("1.25") + d("0.99"));
  EXPECT_EQ(issued.on_hand, d("1"));
  EXPECT_EQ(count("SELECT count(*) FROM stock_movements WHERE reference_type = 'order' AND "
                  "reference_id = '77'"),
            2);
  EXPECT_EQ(events_named("StockMovementRecorded"), 3 + 2 + 2);
}

TEST_P(ErpTest, StockIsKeptPerLocation) {
  auto p = make("SKU-1");
  inventory().create_location("WH2", "Second warehouse");
  EXPECT_EQ(code_of([&] { inventory().create_location("WH2", "Again"); }),
            ErrorCode::kAlreadyExists);
  receive({{"sku", "SKU-1"}, {"quantity", "4"}, {"unit_cost", "1"}});
  receive({{"sku", "SKU-1"}, {"location", "WH2"}, {"quantity", "6"}, {"unit_cost", "2"}});
  EXPECT_EQ(inventory().on_hand(p.id), d("10"));
  EXPECT_EQ(inventory().on_hand(p.id, "WH2"), d("6"));
  EXPECT_EQ(code_of([&] { inventory().issue(p.id, "MAIN", d("5"), "order", "1"); }),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(inventory().issue(p.id, "WH2", d("5"), "order", "1").cost, d("10"));
  auto level = inventory().stock("SKU-1");
  ASSERT_EQ(level.locations.size(), 2u);
  EXPECT_EQ(level.locations[0].code, "MAIN");
  EXPECT_EQ(level.locations[1].on_hand, d("1"));
  EXPECT_EQ(code_of([&] {
              receive({{"sku", "SKU-1"}, {"location", "NOPE"}, {"quantity", "1"}});
            }),
            ErrorCode::kNotFound);
}

TEST_P(ErpTest, OversellOnAdjustIsRefusedAndChangesNothing) {
  make("SKU-1", "2");
  receive({{"sku", "SKU-1"}, {"quantity", "3"}, {"unit_cost", "1"}});
  receive({{"sku", "SKU-1"}, {"quantity", "2"}, {"unit_cost", "1"}});
  const std::string before = snapshot();
  EXPECT_EQ(code_of([&] {
              adjust({{"sku", "SKU-1"}, {"quantity", "-5.0001"}});
            }),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(snapshot(), before);
  // Inside a caller's transaction the refusal leaves the caller's earlier work alone.
  db::Transaction tx(*conn_);
  make("SKU-2");
  EXPECT_EQ(code_of([&] {
              adjust({{"sku", "SKU-1"}, {"quantity", "-6"}});
            }),
            ErrorCode::kFailedPrecondition);
  tx.commit();
  EXPECT_EQ(count("SELECT count(*) FROM products"), 2);
}

TEST_P(ErpTest, BadInputIsRefusedAndChangesNothing) {
  auto p = make("SKU-1");
  auto dead = make("DEAD");
  receive({{"sku", "DEAD"}, {"quantity", "1"}});
  catalog().remove(dead.id);
  receive({{"sku", "SKU-1"}, {"quantity", "5"}});
  const std::string before = snapshot();
  struct Case {
    std::function<void()> run;
    ErrorCode code;
  } cases[] = {
      {[&] {
         receive({{"sku", "NOPE"}, {"quantity", "1"}});
       },
       ErrorCode::kNotFound},
      {[&] {
         receive({{"sku", "DEAD"}, {"quantity", "1"}});
       },
       ErrorCode::kNotFound},
      {[&] {
         adjust({{"sku", "DEAD"}, {"quantity", "-1"}});
       },
       ErrorCode::kNotFound},
      {[&] {
         receive({{"sku", "SKU-1"}, {"quantity", "-1"}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         receive({{"sku", "SKU-1"}, {"quantity", "0"}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         receive({{"sku", "SKU-1"}, {"quantity", "12.3.4"}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         receive({{"sku", "SKU-1"}, {"quantity", 1.5}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         receive({{"sku", "SKU-1"}, {"quantity", "1"}, {"unit_cost", "-2"}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         receive({{"sku", "SKU-1"}, {"quantity", "1"}, {"expiry_date", "2027-02-30"}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         adjust({{"sku", "SKU-1"}, {"quantity", "0"}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         adjust({{"sku", "SKU-1"}, {"quantity", "-99"}});
       },
       ErrorCode::kFailedPrecondition},
      {[&] { inventory().issue(p.id, "MAIN", d("-1"), "order", "1"); },
       ErrorCode::kInvalidArgument},
      {[&] { inventory().issue(dead.id, "MAIN", d("1"), "order", "1"); }, ErrorCode::kNotFound},
      {[&] { make("BAD", "1.00000"); }, ErrorCode::kInvalidArgument},
      {[&] {
         catalog().create(
             ProductDraft::from_json({{"sku", "X"}, {"name", "X"}, {"price", "12.3.4"}}));
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         catalog().create(ProductDraft::from_json({{"sku", ""}, {"name", "X"}, {"price", "1"}}));
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         catalog().update(ProductPatch::from_json({{"id", 999999}, {"name", "X"}}));
       },
       ErrorCode::kNotFound},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(code_of(cases[i].run), cases[i].code) << "case " << i;
    EXPECT_EQ(snapshot(), before) << "case " << i;
  }
}

TEST_P(ErpTest, AnotherTenantsProductIsNotFound) {
  auto p = make("SKU-1");
  receive({{"sku", "SKU-1"}, {"quantity", "5"}});
  conn_->set_tenant(b_);
  const std::string before = snapshot();
  EXPECT_EQ(code_of([&] { catalog().find(p.id); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { catalog().find_by_sku("SKU-1"); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] {
              catalog().update(ProductPatch::from_json({{"id", p.id}, {"name", "X"}}));
            }),
            ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { catalog().remove(p.id); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { inventory().issue(p.id, "MAIN", d("1"), "order", "1"); }),
            ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { receive({{"sku", "SKU-1"}, {"quantity", "1"}}); }), ErrorCode::kNotFound);
  EXPECT_EQ(inventory().on_hand(p.id), d("0"));
  EXPECT_EQ(snapshot(), before);
  // Tenant B may use the same SKU for its own product.
  auto mine = make("SKU-1");
  EXPECT_NE(mine.id, p.id);
  EXPECT_EQ(inventory().check_expiry("2026-01-01", 30).size(), 0u);
}

TEST_P(ErpTest, LowStockFiresOnceThenAgainAfterRecoveryAndNotifiesStockKeepers) {
  auto p = make("SKU-1", "10");
  EXPECT_EQ(events_named("LowStockDetected"), 0);  // a new product with no stock is not crossing
  receive({{"sku", "SKU-1"}, {"quantity", "12"}});
  EXPECT_EQ(events_named("LowStockDetected"), 0);
  adjust({{"sku", "SKU-1"}, {"quantity", "-2"}});  // 10: at the level, not below
  EXPECT_EQ(events_named("LowStockDetected"), 0);
  adjust({{"sku", "SKU-1"}, {"quantity", "-0.5"}});  // 9.5: crosses below
  ASSERT_EQ(events_named("LowStockDetected"), 1);
  auto e = last_payload("LowStockDetected");
  EXPECT_EQ(e["on_hand"], "9.5000");
  EXPECT_EQ(e["reorder_level"], "10.0000");
  EXPECT_EQ(e["location"], "MAIN");
  adjust({{"sku", "SKU-1"}, {"quantity", "-1"}});  // still below: once
  inventory().issue(p.id, "MAIN", d("1"), "order", "1");
  EXPECT_EQ(events_named("LowStockDetected"), 1);
  receive({{"sku", "SKU-1"}, {"quantity", "1.5"}});  // 9: below, no recovery
  adjust({{"sku", "SKU-1"}, {"quantity", "-1"}});
  EXPECT_EQ(events_named("LowStockDetected"), 1);
  receive({{"sku", "SKU-1"}, {"quantity", "2"}});  // 10: recovered
  EXPECT_EQ(count("SELECT low_stock_flag FROM products"), 0);
  adjust({{"sku", "SKU-1"}, {"quantity", "-3"}});  // 7: below again
  EXPECT_EQ(events_named("LowStockDetected"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE type = 'listener.SendLowStockNotification'"), 2);

  drain();
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  auto owner = db_->owner();
  auto rows = owner->query("SELECT notifiable_id, type, data FROM notifications");
  ASSERT_EQ(rows.size(), 2u);
  std::set<std::string> on_hands;
  for (const auto& r : rows) {
    EXPECT_EQ(r.get<int64_t>(0), keeper_);
    EXPECT_EQ(r.get<std::string>(1), "LowStockNotification");
    auto data = nlohmann::json::parse(r.get<std::string>(2));
    EXPECT_EQ(data["severity"], "warning");
    EXPECT_EQ(data["metadata"]["product_id"], p.id);
    EXPECT_EQ(data["metadata"]["sku"], "SKU-1");
    EXPECT_EQ(data["metadata"]["reorder_level"], "10.00");
    EXPECT_EQ(data["metadata"]["location"], "MAIN");
    on_hands.insert(data["metadata"]["on_hand"].get<std::string>());
  }
  EXPECT_EQ(on_hands, (std::set<std::string>{"9.50", "7.00"}));
  EXPECT_EQ(
      count("SELECT count(*) FROM notifications WHERE notifiable_id = " + std::to_string(seller_)),
      0);
}

TEST_P(ErpTest, ExpiryScanRaisesEachSeverityOncePerBatchAndReplaysByDate) {
  make("SKU-1");
  make("SKU-2");
  auto gone = make("GONE");
  receive({{"sku", "SKU-1"}, {"quantity", "5"}, {"batch", "SOON"}, {"expiry_date", "2027-01-05"}});
  receive({{"sku", "SKU-1"}, {"quantity", "5"}, {"batch", "LATER"}, {"expiry_date", "2027-01-20"}});
  receive({{"sku", "SKU-2"}, {"quantity", "5"}, {"batch", "FAR"}, {"expiry_date", "2027-06-01"}});
  receive({{"sku", "SKU-2"}, {"quantity", "1"}, {"batch", "EMPTY"}, {"expiry_date", "2027-01-02"}});
  receive({{"sku", "SKU-2"}, {"quantity", "1"}, {"batch", "NODATE"}});
  receive({{"sku", "GONE"}, {"quantity", "1"}, {"batch", "DEL"}, {"expiry_date", "2027-01-02"}});
  catalog().remove(gone.id);
  adjust({{"sku", "SKU-2"}, {"quantity", "-6"}});  // FIFO: FAR and EMPTY, leaving NODATE
  auto scan = [&](const char* as_of) {
    std::map<std::string, std::string> out;
    for (const auto& e : inventory().check_expiry(as_of, 30))
      out[e.batch] = e.severity + "/" + std::to_string(e.days_left);
    return out;
  };
  auto first = scan("2026-12-20");  // SOON 16 days: info; LATER 31 days: outside
  EXPECT_EQ(first, (std::map<std::string, std::string>{{"SOON", "info/16"}}));
  EXPECT_TRUE(scan("2026-12-20").empty());  // once per batch and severity
  EXPECT_EQ(scan("2026-12-25"),
            (std::map<std::string, std::string>{{"SOON", "warning/11"}, {"LATER", "info/26"}}));
  EXPECT_EQ(scan("2026-12-29"), (std::map<std::string, std::string>{{"SOON", "critical/7"}}));
  EXPECT_EQ(scan("2027-01-10"), (std::map<std::string, std::string>{{"LATER", "warning/10"}}));
  EXPECT_TRUE(scan("2027-01-10").empty());
  EXPECT_EQ(events_named("StockExpiring"), 5);
  EXPECT_EQ(count("SELECT count(*) FROM stock_expiry_alerts"), 5);
  auto e = last_payload("StockExpiring");
  EXPECT_EQ(e["batch"], "LATER");
  EXPECT_EQ(e["days_left"], 10);
  EXPECT_EQ(e["severity"], "warning");
  EXPECT_EQ(e["quantity_remaining"], "5.0000");
  EXPECT_EQ(code_of([&] { inventory().check_expiry("2026-13-01", 30); }),
            ErrorCode::kInvalidArgument);

  drain();
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE type = 'StockExpiryNotification' AND "
                  "notifiable_id = " +
                  std::to_string(keeper_)),
            5);
  EXPECT_EQ(
      count("SELECT count(*) FROM notifications WHERE notifiable_id = " + std::to_string(seller_)),
      0);
  auto owner = db_->owner();
  std::multiset<std::string> severities;
  owner->query_each("SELECT data FROM notifications", {}, [&](const db::Row& r) {
    severities.insert(nlohmann::json::parse(r.get<std::string>(0))["severity"].get<std::string>());
  });
  EXPECT_EQ(severities,
            (std::multiset<std::string>{"critical", "info", "info", "warning", "warning"}));
}

TEST_P(ErpTest, ConcurrentOutgoingStockNeverOversells) {
  auto p = make("SKU-1");
  receive({{"sku", "SKU-1"}, {"quantity", "5"}});
  auto take = [&](db::Connection& conn) {
    InventoryService(conn, *bus_).issue(p.id, "MAIN", d("3"), "order", "1");
  };
  const auto r = race(take, take);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(inventory().on_hand(p.id), d("2"));
}

TEST_P(ErpTest, EveryStoredEventRebuildsThroughTheRegistry) {
  auto p = make("SKU-1", "5");
  catalog().update(ProductPatch::from_json({{"id", p.id}, {"cost", "1.5"}}));
  receive({{"sku", "SKU-1"}, {"quantity", "6"}, {"expiry_date", "2027-01-02"}});
  adjust({{"sku", "SKU-1"}, {"quantity", "-2"}});
  inventory().check_expiry("2027-01-01");
  catalog().remove(p.id);
  events::EventStore store(*conn_);
  std::set<std::string> names;
  for (const auto& stored : store.list({})) {
    auto e = bus_->registry().read(stored.name, events::meta_of(stored),
                                   nlohmann::json::parse(stored.payload));
    nlohmann::json again;
    e->write_payload(again);
    EXPECT_EQ(again, nlohmann::json::parse(stored.payload)) << stored.name;
    names.insert(stored.name);
  }
  EXPECT_EQ(names,
            (std::set<std::string>{"ProductCreated", "ProductUpdated", "ProductDeleted",
                                   "StockMovementRecorded", "LowStockDetected", "StockExpiring"}));
}

// Each price fit a Decimal but two of them summed did not, which broke customer:show and the
// reports for good: amounts are bounded when written (erp/input.h kMaxAmount = 10^12).
TEST_P(ErpTest, AmountsAboveTheBoundAreRefusedWhenWritten) {
  const std::string before = snapshot();
  auto refused = [&](const char* what, const std::function<void()>& f) {
    EXPECT_EQ(code_of(f), ErrorCode::kInvalidArgument) << what;
    EXPECT_EQ(snapshot(), before) << what;
  };
  refused("price at the Decimal maximum", [&] {
    catalog().create(ProductDraft::from_json(
        {{"sku", "BIG"}, {"name", "Big"}, {"price", "922337203685477.5807"}}));
  });
  refused("cost above the bound", [&] {
    catalog().create(ProductDraft::from_json(
        {{"sku", "BIG"}, {"name", "Big"}, {"price", "1"}, {"cost", "1000000000000.0001"}}));
  });
  const auto p = catalog().create(
      ProductDraft::from_json({{"sku", "MAX"}, {"name", "Max"}, {"price", "1000000000000"}}));
  const std::string with_product = snapshot();
  EXPECT_EQ(code_of([&] {
              receive({{"sku", "MAX"}, {"quantity", "2"}, {"unit_cost", "1000000000000"}});
            }),
            ErrorCode::kInvalidArgument);  // the batch's value, 2 x 10^12
  EXPECT_EQ(code_of([&] {
              adjust({{"sku", "MAX"}, {"quantity", "-1000000000000.0001"}});
            }),
            ErrorCode::kInvalidArgument);
  receive({{"sku", "MAX"}, {"quantity", "1000000000000"}, {"unit_cost", "0"}});
  const std::string full = snapshot();
  EXPECT_NE(full, with_product);
  EXPECT_EQ(code_of([&] {
              receive({{"sku", "MAX"}, {"quantity", "1"}, {"unit_cost", "0"}});
            }),
            ErrorCode::kInvalidArgument);  // on-hand would pass 10^12
  EXPECT_EQ(snapshot(), full);
  EXPECT_EQ(inventory().on_hand(p.id), d("1000000000000"));
}

TEST_P(ErpTest, LineTotalsAndSumsAreCheckedNotWrapped) {
  EXPECT_EQ(line_total(d("1000000"), d("1000000")), d("1000000000000"));
  EXPECT_EQ(line_total(d("0.0001"), d("1000000000000")), d("100000000"));
  EXPECT_THROW(line_total(d("1000000"), d("1000000.0001")), Error);
  EXPECT_THROW(line_total(d("1000000000000"), d("1000000000000")), Error);
  EXPECT_EQ(add_to_total("order total", d("999999999999"), d("1")), d("1000000000000"));
  EXPECT_THROW(add_to_total("order total", d("1000000000000"), d("0.0001")), Error);
  // A sum of stored values past the Decimal range is an error, never a wrong number.
  EXPECT_EQ(code_of([&] { (void)(d("922337203685477.5807") + d("922337203685477.5807")); }),
            ErrorCode::kInvalidArgument);
}

// PostgreSQL refused a NUL in a product name (quoting the SQL) where SQLite stored it: text is
// checked in the domain layer, the same on both drivers.
TEST_P(ErpTest, ControlCharactersInTextAreRefusedOnBothDrivers) {
  make("A-1");
  const std::string before = snapshot();
  for (const std::string& name :
       {std::string("Wid\0get", 7), std::string("Tab\there"), std::string("Line\nbreak"),
        std::string("Esc\x1b[31m"), std::string("Bad \xff UTF-8"), std::string("C1 \xc2\x85")}) {
    EXPECT_EQ(code_of([&] {
                catalog().create(ProductDraft::from_json(
                    {{"sku", "N-1"}, {"name", nlohmann::json(name)}, {"price", "1"}}));
              }),
              ErrorCode::kInvalidArgument)
        << name;
  }
  // A SKU used only to look a product up: PostgreSQL's text parameters end at a NUL, so "A-1\0x"
  // would have found A-1 there and nothing on SQLite.
  EXPECT_EQ(code_of([&] {
              receive({{"sku", std::string("A-1\0x", 5)}, {"quantity", "1"}});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              inventory().receive(Receipt{std::string("A-1\0x", 5), "MAIN", d("1")});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(snapshot(), before);
  // Plain Unicode is fine.
  EXPECT_EQ(catalog()
                .create(ProductDraft::from_json(
                    {{"sku", "U-1"}, {"name", "Café « crème » 日本"}, {"price", "1"}}))
                .name,
            "Café « crème » 日本");
}

// Driver errors reach users as messages: they carry the server's words, never the statement.
TEST_P(ErpTest, DriverErrorsNeverQuoteTheStatement) {
  try {
    conn_->execute("INSERT INTO products (tenant_id, sku, price) VALUES ($1, $2, $3)",
                   {a_, std::string("X-1"), std::string("1.0000")});
    FAIL() << "a NOT NULL column was left out";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find("INSERT"), std::string::npos) << message;
    EXPECT_EQ(message.find("VALUES"), std::string::npos) << message;
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, ErpTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::erp
