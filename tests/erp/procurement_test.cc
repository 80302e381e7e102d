// The procurement module on both drivers: vendors, purchase orders from draft to received, goods
// receipts that become stock batches at the order's unit cost through the inventory module, the
// approval notification through the real worker, bad input that changes nothing, redelivery that
// changes nothing twice, and tenant isolation.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "erp/catalog/catalog_service.h"
#include "erp/erp.h"
#include "erp/inventory/inventory_service.h"
#include "erp/procurement/events.h"
#include "erp/procurement/procurement_service.h"
#include "events/event_bus.h"
#include "events/event_store.h"
#include "support/erp_fixture.h"

namespace unity::erp {
namespace {

using catalog::CatalogService;
using catalog::ProductDraft;
using inventory::InventoryService;
using procurement::OrderDraft;
using procurement::ProcurementService;
using procurement::PurchaseOrder;
using procurement::ReceiptDraft;
using procurement::VendorDraft;
using testing::Driver;

class ProcurementTest : public testing::ErpFixture {
 protected:
  void set_up_fixture() override {
    wire_erp(*bus_, *notifier_);  // idempotent: a second wiring changes nothing
    buyer_ = db::create_user(*conn_, "buyer@acme.test", "Bo", "procurement").id;
    manager_ = db::create_user(*conn_, "manager@acme.test", "Mo", "manager").id;
    admin_ = db::create_user(*conn_, "admin@acme.test", "Ada", "admin").id;
    seller_ = db::create_user(*conn_, "seller@acme.test", "Sid", "sales").id;
    keeper_ = db::create_user(*conn_, "keeper@acme.test", "Kim", "inventory").id;
    biller_ = db::create_user(*conn_, "biller@acme.test", "Bill", "billing").id;
    make("BOLT", "1.00");
    make("NUT", "0.10");
    vendor_ = procurement().create_vendor({"Supply Co", "orders@supply.test"}).id;
  }

  ProcurementService procurement(std::optional<int64_t> user = std::nullopt) {
    return ProcurementService(*conn_, *bus_, user.value_or(buyer_));
  }
  InventoryService inventory() { return InventoryService(*conn_, *bus_, keeper_); }

  catalog::Product make(const std::string& sku, const char* cost, const char* reorder = "0") {
    return CatalogService(*conn_, *bus_, keeper_)
        .create(ProductDraft::from_json({{"sku", sku},
                                         {"name", "Thing " + sku},
                                         {"price", "9.99"},
                                         {"cost", cost},
                                         {"reorder_level", reorder}}));
  }
  // A draft order of 10 BOLT at 0.75 and 100 NUT at 0.0825, created by `creator`.
  PurchaseOrder order(std::optional<int64_t> creator = std::nullopt) {
    return procurement(creator).create_order(OrderDraft::from_json(
        {{"vendor_id", vendor_},
         {"lines",
          {{{"sku", "BOLT"}, {"quantity", "10"}, {"unit_cost", "0.75"}},
           {{"sku", "NUT"}, {"quantity", "100"}, {"unit_cost", "0.0825"}}}}}));
  }
  PurchaseOrder approved(std::optional<int64_t> creator = std::nullopt) {
    return procurement().approve(order(creator).id);
  }
  procurement::GoodsReceipt receive(const nlohmann::json& data) {
    return procurement().receive(ReceiptDraft::from_json(data));
  }

  // Everything a failed operation must leave as it was.
  std::string snapshot() {
    std::string s =
        row_counts({"vendors", "purchase_orders", "purchase_order_lines", "goods_receipts",
                    "goods_receipt_lines", "products", "locations", "stock_batches",
                    "stock_movements", "domain_events", "jobs", "notifications"});
    auto owner = db_->owner();
    owner->query_each(
        "SELECT status, total FROM purchase_orders ORDER BY id", {},
        [&](const db::Row& r) { s += r.get<std::string>(0) + ":" + r.get<std::string>(1) + ";"; });
    owner->query_each("SELECT quantity_received FROM purchase_order_lines ORDER BY id", {},
                      [&](const db::Row& r) { s += r.get<std::string>(0) + ","; });
    owner->query_each("SELECT quantity_remaining FROM stock_batches ORDER BY id", {},
                      [&](const db::Row& r) { s += r.get<std::string>(0) + ","; });
    return s;
  }
  std::set<int64_t> notified(const std::string& type) {
    std::set<int64_t> out;
    db_->owner()->query_each(
        "SELECT notifiable_id FROM notifications WHERE notifiable_type = 'user' AND type = $1",
        {type}, [&](const db::Row& r) { out.insert(r.get<int64_t>(0)); });
    return out;
  }

  int64_t buyer_ = 0, manager_ = 0, admin_ = 0, seller_ = 0, keeper_ = 0, biller_ = 0, vendor_ = 0;
};

TEST_P(ProcurementTest, CreateVendorAndDraftOrderWriteTheirRows) {
  auto v = procurement().find_vendor(vendor_);
  EXPECT_EQ(v.name, "Supply Co");
  EXPECT_EQ(v.email, "orders@supply.test");
  EXPECT_EQ(code_of([&] {
              procurement().create_vendor({"Again", "ORDERS@Supply.test"});
            }),
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(count("SELECT count(*) FROM vendors"), 1);

  auto o = order(seller_);
  EXPECT_GT(o.id, 0);
  EXPECT_EQ(o.status, "draft");
  EXPECT_EQ(o.vendor_id, vendor_);
  EXPECT_EQ(o.vendor_name, "Supply Co");
  EXPECT_EQ(o.total, d("15.75"));  // 10 × 0.75 + 100 × 0.0825
  EXPECT_EQ(o.created_by, seller_);
  EXPECT_FALSE(o.approved_by);
  EXPECT_FALSE(o.approved_at);
  ASSERT_EQ(o.lines.size(), 2u);
  EXPECT_EQ(o.lines[0].sku, "BOLT");
  EXPECT_EQ(o.lines[0].quantity, d("10"));
  EXPECT_EQ(o.lines[0].quantity_received, d("0"));
  EXPECT_EQ(o.lines[1].unit_cost, d("0.0825"));
  EXPECT_EQ(o.lines[1].line_total, d("8.25"));
  EXPECT_TRUE(o.receipts.empty());
  EXPECT_EQ(count("SELECT count(*) FROM purchase_order_lines"), 2);
  // Creating a draft is not one of the seed's events; nothing is queued.
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  // unit_cost defaults to the product's cost.
  auto dflt = procurement().create_order(OrderDraft::from_json(
      {{"vendor_id", vendor_}, {"lines", {{{"sku", "BOLT"}, {"quantity", "3"}}}}}));
  EXPECT_EQ(dflt.lines[0].unit_cost, d("1.00"));
  EXPECT_EQ(dflt.total, d("3"));
}

TEST_P(ProcurementTest, ApproveDispatchesPurchaseOrderApprovedAndNotifiesProcurementAndCreator) {
  auto o = order(seller_);  // the creator is a sales user: no procurement.orders permission
  auto a = procurement(buyer_).approve(o.id);
  EXPECT_EQ(a.status, "approved");
  EXPECT_EQ(a.approved_by, buyer_);
  EXPECT_TRUE(a.approved_at);
  ASSERT_EQ(events_named("PurchaseOrderApproved"), 1);
  auto e = last_payload("PurchaseOrderApproved");
  EXPECT_EQ(e["purchase_order_id"], o.id);
  EXPECT_EQ(e["vendor_id"], vendor_);
  EXPECT_EQ(e["vendor_name"], "Supply Co");
  EXPECT_EQ(e["total"], "15.7500");
  EXPECT_EQ(e["created_by"], seller_);
  EXPECT_EQ(e["approved_by"], buyer_);
  ASSERT_EQ(e["lines"].size(), 2u);
  EXPECT_EQ(e["lines"][1]["sku"], "NUT");
  EXPECT_EQ(e["lines"][1]["quantity"], "100.0000");
  EXPECT_EQ(e["lines"][1]["unit_cost"], "0.0825");
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE type = 'listener.NotifyPurchaseOrderApproval'"),
            1);

  drain();
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(notified("PurchaseOrderApprovedNotification"),
            (std::set<int64_t>{buyer_, manager_, admin_, seller_}));
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 4);
  auto row =
      db_->owner()->query_one("SELECT data FROM notifications WHERE notifiable_id = $1", {seller_});
  auto data = nlohmann::json::parse(row->get<std::string>(0));
  EXPECT_EQ(data["severity"], "success");
  EXPECT_EQ(data["action_url"], "/purchase-orders/" + std::to_string(o.id));
  EXPECT_EQ(data["metadata"]["purchase_order_id"], o.id);
  EXPECT_EQ(data["metadata"]["vendor_name"], "Supply Co");
  EXPECT_EQ(data["metadata"]["total"], "15.75");
  EXPECT_NE(data["message"].get<std::string>().find("Supply Co"), std::string::npos);

  // Approving twice is refused and changes nothing.
  const std::string before = snapshot();
  EXPECT_EQ(code_of([&] { procurement().approve(o.id); }), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(procurement().find_order(o.id).approved_by, buyer_);
}

TEST_P(ProcurementTest, OrderWithoutCreatorNotifiesOnlyProcurementStaff) {
  // No acting user: no author, so only the permission decides.
  auto o = ProcurementService(*conn_, *bus_)
               .create_order(OrderDraft::from_json(
                   {{"vendor_id", vendor_}, {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}}}}}));
  EXPECT_FALSE(o.created_by);
  ProcurementService(*conn_, *bus_).approve(o.id);
  EXPECT_TRUE(last_payload("PurchaseOrderApproved")["created_by"].is_null());
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  EXPECT_EQ(notified("PurchaseOrderApprovedNotification"),
            (std::set<int64_t>{buyer_, manager_, admin_}));
}

TEST_P(ProcurementTest, ReceiveEverythingMakesBatchesAtTheOrdersCostLedgerRowsAndGoodsReceived) {
  auto o = approved(seller_);
  auto g = receive({{"id", o.id}});
  EXPECT_GT(g.id, 0);
  EXPECT_EQ(g.location, "MAIN");
  EXPECT_EQ(g.received_by, buyer_);
  ASSERT_EQ(g.lines.size(), 2u);
  EXPECT_EQ(g.lines[0].sku, "BOLT");
  EXPECT_EQ(g.lines[0].quantity, d("10"));
  EXPECT_EQ(g.lines[0].batch, "PO-" + std::to_string(o.id));

  // Stock at the order's unit cost (not the product's cost), through the inventory module.
  auto bolt = inventory().stock("BOLT");
  EXPECT_EQ(bolt.on_hand, d("10"));
  ASSERT_EQ(bolt.batches.size(), 1u);
  EXPECT_EQ(bolt.batches[0].unit_cost, d("0.75"));
  EXPECT_EQ(bolt.batches[0].id, g.lines[0].batch_id);
  EXPECT_EQ(inventory().stock("NUT").batches[0].unit_cost, d("0.0825"));
  EXPECT_EQ(inventory().stock("NUT").on_hand, d("100"));
  EXPECT_EQ(count("SELECT count(*) FROM stock_movements WHERE reason = 'receipt' AND "
                  "reference_type = 'purchase_order' AND reference_id = '" +
                  std::to_string(o.id) + "'"),
            2);
  EXPECT_EQ(events_named("StockMovementRecorded"), 2);
  EXPECT_EQ(last_payload("StockMovementRecorded")["reference_type"], "purchase_order");

  ASSERT_EQ(events_named("GoodsReceived"), 1);
  auto e = last_payload("GoodsReceived");
  EXPECT_EQ(e["purchase_order_id"], o.id);
  EXPECT_EQ(e["goods_receipt_id"], g.id);
  EXPECT_EQ(e["location"], "MAIN");
  EXPECT_EQ(e["status"], "received");
  ASSERT_EQ(e["lines"].size(), 2u);
  EXPECT_EQ(e["lines"][0]["sku"], "BOLT");
  EXPECT_EQ(e["lines"][0]["quantity"], "10.0000");
  EXPECT_EQ(e["lines"][0]["unit_cost"], "0.7500");
  EXPECT_EQ(e["lines"][0]["batch_id"], g.lines[0].batch_id);

  auto after = procurement().find_order(o.id);
  EXPECT_EQ(after.status, "received");
  EXPECT_TRUE(after.received_at);
  EXPECT_EQ(after.lines[0].quantity_received, d("10"));
  EXPECT_EQ(after.lines[1].quantity_received, d("100"));
  ASSERT_EQ(after.receipts.size(), 1u);
  EXPECT_EQ(after.receipts[0].lines.size(), 2u);

  // Fully received: nothing more arrives.
  const std::string before = snapshot();
  EXPECT_EQ(code_of([&] { receive({{"id", o.id}}); }), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(code_of([&] {
              receive({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}}}}});
            }),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(snapshot(), before);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(ProcurementTest, PartialReceiptsAccumulateUntilReceivedAndOverReceiptIsRefused) {
  inventory().create_location("WH2", "Second warehouse");
  auto o = approved();
  auto first = receive(
      {{"id", o.id},
       {"location", "WH2"},
       {"lines",
        {{{"sku", "BOLT"}, {"quantity", "4"}, {"batch", "L1"}},
         {{"sku", "BOLT"}, {"quantity", "2.5"}, {"batch", "L2"}, {"expiry_date", "2027-06-30"}}}}});
  ASSERT_EQ(first.lines.size(), 2u);
  EXPECT_EQ(first.location, "WH2");
  EXPECT_EQ(first.lines[1].expiry_date, "2027-06-30");
  auto mid = procurement().find_order(o.id);
  EXPECT_EQ(mid.status, "partially_received");
  EXPECT_FALSE(mid.received_at);
  EXPECT_EQ(mid.lines[0].quantity_received, d("6.5"));
  EXPECT_EQ(last_payload("GoodsReceived")["status"], "partially_received");
  EXPECT_EQ(inventory().on_hand(mid.lines[0].product_id, "WH2"), d("6.5"));

  // More than outstanding (3.5 BOLT left), also split across lines of one receipt: refused.
  const std::string before = snapshot();
  EXPECT_EQ(code_of([&] {
              receive({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "3.5001"}}}}});
            }),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(code_of([&] {
              receive({{"id", o.id},
                       {"lines",
                        {{{"sku", "NUT"}, {"quantity", "1"}},
                         {{"sku", "BOLT"}, {"quantity", "2"}},
                         {{"sku", "BOLT"}, {"quantity", "2"}}}}});
            }),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(snapshot(), before);

  receive({{"id", o.id}, {"lines", {{{"sku", "NUT"}, {"quantity", "40"}}}}});
  EXPECT_EQ(procurement().find_order(o.id).status, "partially_received");
  // The rest: only what is outstanding (3.5 BOLT, 60 NUT).
  auto last = receive({{"id", o.id}});
  ASSERT_EQ(last.lines.size(), 2u);
  EXPECT_EQ(last.lines[0].quantity, d("3.5"));
  EXPECT_EQ(last.lines[1].quantity, d("60"));
  auto done = procurement().find_order(o.id);
  EXPECT_EQ(done.status, "received");
  EXPECT_TRUE(done.received_at);
  EXPECT_EQ(done.receipts.size(), 3u);
  EXPECT_EQ(inventory().on_hand(done.lines[0].product_id), d("10"));
  EXPECT_EQ(inventory().on_hand(done.lines[1].product_id), d("100"));
  EXPECT_EQ(events_named("GoodsReceived"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM goods_receipt_lines"), 5);
  EXPECT_EQ(count("SELECT count(*) FROM stock_batches"), 5);
}

TEST_P(ProcurementTest, ReceivingAnUnapprovedOrderIsRefusedAndChangesNothing) {
  auto o = order();
  const std::string before = snapshot();
  EXPECT_EQ(code_of([&] { receive({{"id", o.id}}); }), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(code_of([&] {
              receive({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}}}}});
            }),
            ErrorCode::kFailedPrecondition);
  EXPECT_EQ(snapshot(), before);
  EXPECT_EQ(procurement().find_order(o.id).status, "draft");
}

TEST_P(ProcurementTest, ReceiptClearsTheLowStockFlagTheInventoryWay) {
  make("LOW", "2.00", "5");
  InventoryService inv = inventory();
  inv.receive(inventory::Receipt::from_json({{"sku", "LOW"}, {"quantity", "6"}}));
  inv.adjust(inventory::Adjustment::from_json({{"sku", "LOW"}, {"quantity", "-3"}}));
  EXPECT_EQ(events_named("LowStockDetected"), 1);
  EXPECT_EQ(count("SELECT low_stock_flag FROM products WHERE sku = 'LOW'"), 1);
  auto o = procurement().create_order(OrderDraft::from_json(
      {{"vendor_id", vendor_}, {"lines", {{{"sku", "LOW"}, {"quantity", "10"}}}}}));
  procurement().approve(o.id);
  receive({{"id", o.id}});
  EXPECT_EQ(count("SELECT low_stock_flag FROM products WHERE sku = 'LOW'"), 0);
  EXPECT_EQ(inventory().stock("LOW").on_hand, d("13"));
}

TEST_P(ProcurementTest, AnotherTenantsVendorAndOrderAreNotFound) {
  auto o = approved();
  conn_->set_tenant(b_);
  db::create_user(*conn_, "buyer@globex.test", "Gus", "procurement");
  CatalogService(*conn_, *bus_)
      .create(ProductDraft::from_json({{"sku", "BOLT"}, {"name", "Bolt"}, {"price", "1"}}));
  const std::string before = snapshot();
  ProcurementService theirs(*conn_, *bus_);
  EXPECT_EQ(code_of([&] { theirs.find_vendor(vendor_); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { theirs.find_order(o.id); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { theirs.approve(o.id); }), ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] {
              theirs.receive(ReceiptDraft::from_json({{"id", o.id}}));
            }),
            ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] {
              theirs.create_order(OrderDraft::from_json(
                  {{"vendor_id", vendor_}, {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}}}}}));
            }),
            ErrorCode::kNotFound);
  EXPECT_EQ(snapshot(), before);
  // Tenant B may use the same vendor e-mail for its own vendor.
  auto mine = theirs.create_vendor({"Supply Co", "orders@supply.test"});
  EXPECT_NE(mine.id, vendor_);
}

TEST_P(ProcurementTest, BadInputIsRefusedAndChangesNothing) {
  auto draft = order();
  auto o = approved();
  auto dead = make("DEAD", "1");
  auto doomed = procurement().create_order(OrderDraft::from_json(
      {{"vendor_id", vendor_}, {"lines", {{{"sku", "DEAD"}, {"quantity", "1"}}}}}));
  procurement().approve(doomed.id);
  CatalogService(*conn_, *bus_).remove(dead.id);
  const std::string before = snapshot();
  auto create = [&](const nlohmann::json& lines) {
    return [&, lines] {
      procurement().create_order(OrderDraft::from_json({{"vendor_id", vendor_}, {"lines", lines}}));
    };
  };
  auto rcv = [&](const nlohmann::json& data) { return [&, data] { receive(data); }; };
  struct Case {
    std::function<void()> run;
    ErrorCode code;
  } cases[] = {
      {[&] {
         procurement().create_vendor({"", "x@y.test"});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         procurement().create_vendor({"X", "not-an-email"});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         VendorDraft::from_json({{"name", "X"}, {"email", "x@y.test"}, {"phone", "1"}});
       },
       ErrorCode::kInvalidArgument},
      {[&] {
         procurement().create_order(OrderDraft::from_json(
             {{"vendor_id", 999999}, {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}}}}}));
       },
       ErrorCode::kNotFound},
      {create({{{"sku", "NOPE"}, {"quantity", "1"}}}), ErrorCode::kNotFound},
      {create({{{"sku", "DEAD"}, {"quantity", "1"}}}), ErrorCode::kNotFound},
      {create({{{"sku", "BOLT"}, {"quantity", "0"}}}), ErrorCode::kInvalidArgument},
      {create({{{"sku", "BOLT"}, {"quantity", "-1"}}}), ErrorCode::kInvalidArgument},
      {create({{{"sku", "BOLT"}, {"quantity", "1.2.3"}}}), ErrorCode::kInvalidArgument},
      {create({{{"sku", "BOLT"}, {"quantity", 1.5}}}), ErrorCode::kInvalidArgument},
      {create({{{"sku", "BOLT"}, {"quantity", "1"}, {"unit_cost", "-0.01"}}}),
       ErrorCode::kInvalidArgument},
      {create({{{"sku", "BOLT"}, {"quantity", "1"}, {"unit_cost", "0.00001"}}}),
       ErrorCode::kInvalidArgument},
      {create({{{"sku", "BOLT"}, {"quantity", "1"}, {"price", "1"}}}), ErrorCode::kInvalidArgument},
      {create({{{"sku", "BOLT"}, {"quantity", "1"}}, {{"sku", "BOLT"}, {"quantity", "2"}}}),
       ErrorCode::kInvalidArgument},
      {create(nlohmann::json::array()), ErrorCode::kInvalidArgument},
      {create("BOLT"), ErrorCode::kInvalidArgument},
      {[&] { procurement().approve(999999); }, ErrorCode::kNotFound},
      {rcv({{"id", 999999}}), ErrorCode::kNotFound},
      {rcv({{"id", draft.id}}), ErrorCode::kFailedPrecondition},
      {rcv({{"id", o.id}, {"location", "NOWHERE"}}), ErrorCode::kNotFound},
      {rcv({{"id", o.id}, {"lines", {{{"sku", "NOPE"}, {"quantity", "1"}}}}}),
       ErrorCode::kNotFound},
      {rcv({{"id", o.id}, {"lines", {{{"sku", "DEAD"}, {"quantity", "1"}}}}}),
       ErrorCode::kNotFound},
      {rcv({{"id", doomed.id}}), ErrorCode::kNotFound},  // its product was deleted since
      {rcv({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "0"}}}}}),
       ErrorCode::kInvalidArgument},
      {rcv({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "-2"}}}}}),
       ErrorCode::kInvalidArgument},
      {rcv({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "x"}}}}}),
       ErrorCode::kInvalidArgument},
      {rcv({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}, {"unit_cost", "1"}}}}}),
       ErrorCode::kInvalidArgument},
      {rcv({{"id", o.id},
            {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}, {"expiry_date", "2027-02-30"}}}}}),
       ErrorCode::kInvalidArgument},
      {rcv({{"id", o.id}, {"lines", nlohmann::json::array()}}), ErrorCode::kInvalidArgument},
      {rcv({{"id", o.id}, {"when", "now"}}), ErrorCode::kInvalidArgument},
      {rcv({{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "11"}}}}}),
       ErrorCode::kFailedPrecondition},
      // A product of the tenant that is not on the order.
      {rcv({{"id", doomed.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "1"}}}}}),
       ErrorCode::kInvalidArgument},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    EXPECT_EQ(code_of(cases[i].run), cases[i].code) << "case " << i;
    EXPECT_EQ(snapshot(), before) << "case " << i;
  }
}

TEST_P(ProcurementTest, RedeliveredApprovalListenerChangesNothingTwice) {
  approved(seller_);
  const std::string payload =
      db_->owner()->query_one("SELECT payload FROM jobs")->get<std::string>(0);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 4);
  // The same (event, listener) delivered again, as a lost acknowledgement would.
  dispatcher_->dispatch(*conn_, a_, "listener.NotifyPurchaseOrderApproval", payload);
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 4);
  EXPECT_EQ(count("SELECT count(*) FROM listener_runs WHERE listener = "
                  "'NotifyPurchaseOrderApproval'"),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(ProcurementTest, ConcurrentReceiptsNeverExceedTheOrder) {
  auto o = approved();
  auto take = [&](db::Connection& conn) {
    ProcurementService(conn, *bus_, buyer_)
        .receive(ReceiptDraft::from_json(
            {{"id", o.id}, {"lines", {{{"sku", "BOLT"}, {"quantity", "6"}}}}}));
  };
  const auto r = race(take, take);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(procurement().find_order(o.id).lines[0].quantity_received, d("6"));
  EXPECT_EQ(inventory().stock("BOLT").on_hand, d("6"));
}

TEST_P(ProcurementTest, EveryStoredEventRebuildsThroughTheRegistry) {
  auto o = approved(seller_);
  receive({{"id", o.id}, {"lines", {{{"sku", "NUT"}, {"quantity", "1"}, {"batch", "N1"}}}}});
  events::EventStore store(*conn_);
  std::set<std::string> names;
  for (const auto& stored : store.list({})) {
    auto e = bus_->registry().read(stored.name, events::meta_of(stored),
                                   nlohmann::json::parse(stored.payload));
    nlohmann::json again;
    e->write_payload(again);
    EXPECT_EQ(again, nlohmann::json::parse(stored.payload)) << stored.name;
    names.insert(stored.name);
    if (stored.name == "PurchaseOrderApproved" || stored.name == "GoodsReceived") {
      EXPECT_EQ(stored.aggregate_type, "purchase_order");
      EXPECT_EQ(stored.aggregate_id, std::to_string(o.id));
    }
  }
  EXPECT_EQ(names, (std::set<std::string>{"ProductCreated", "PurchaseOrderApproved",
                                          "StockMovementRecorded", "GoodsReceived"}));
  auto listeners = bus_->listeners();
  EXPECT_TRUE(std::any_of(listeners.begin(), listeners.end(), [](const auto& l) {
    return l.event == "PurchaseOrderApproved" && l.listener == "NotifyPurchaseOrderApproval" &&
           l.queued && l.tries == 3 && l.timeout_s == 60;
  }));
}

// The bulk create of the import: new e-mails are created in one statement, an e-mail a vendor
// already has (in any ASCII case) is skipped with nullopt, an e-mail given twice is refused.
TEST_P(ProcurementTest, CreateMissingVendorsSkipsExistingEmailsInAnyCase) {
  std::vector<procurement::VendorDraft> drafts = {
      {"New One", "one@new.test"}, {"Again", "Orders@SUPPLY.test"}, {"New Two", "two@new.test"}};
  const auto ids = procurement().create_missing_vendors(drafts);
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_TRUE(ids[0] && ids[2]);
  EXPECT_FALSE(ids[1]);
  EXPECT_EQ(procurement().find_vendor(*ids[0]).name, "New One");
  EXPECT_EQ(procurement().find_vendor(*ids[2]).email, "two@new.test");
  EXPECT_EQ(procurement().find_vendor(vendor_).name, "Supply Co");  // untouched
  EXPECT_EQ(count("SELECT count(*) FROM vendors"), 3);
  EXPECT_EQ(code_of([&] {
              procurement().create_missing_vendors({{"X", "x@dup.test"}, {"Y", "X@Dup.test"}});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] {
              procurement().create_missing_vendors({{"Z", "no-at-sign"}});
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(count("SELECT count(*) FROM vendors"), 3);
  {  // the other tenant's e-mails are its own
    db::TenantScope scope(*conn_, b_);
    const auto other = procurement(std::nullopt).create_missing_vendors({{"B", "one@new.test"}});
    ASSERT_TRUE(other[0]);
  }
  EXPECT_EQ(count("SELECT count(*) FROM vendors"), 4);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ProcurementTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::erp
