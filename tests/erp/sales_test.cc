// CRM, sales and billing on both drivers: the order-to-cash workflow through the real queue down
// to the rows and notifications it leaves; bad input that changes nothing; the overdue scan;
// concurrent fulfilments and payments; redelivered listeners; a second tenant that sees nothing.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "erp/billing/billing_service.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/erp.h"
#include "erp/inventory/inventory_service.h"
#include "erp/sales/listeners.h"
#include "erp/sales/sales_service.h"
#include "events/event_bus.h"
#include "events/event_store.h"
#include "notify/inbox.h"
#include "support/erp_fixture.h"

namespace unity::erp {
namespace {

using billing::BillingService;
using billing::PaymentDraft;
using crm::CrmService;
using crm::CustomerDraft;
using sales::OrderDraft;
using sales::SalesService;
using testing::Driver;

class SalesTest : public testing::ErpFixture {
 protected:
  void set_up_fixture() override {
    seller_ = db::create_user(*conn_, "seller@acme.test", "Sid", "sales").id;
    biller_ = db::create_user(*conn_, "biller@acme.test", "Bea", "billing").id;
    keeper_ = db::create_user(*conn_, "keeper@acme.test", "Kim", "inventory").id;
    boss_ = db::create_user(*conn_, "boss@acme.test", "Max", "manager").id;
    setup_tenant(a_);
  }

  // A product SKU-1 (price 10, 12 units in two batches at 2.00 and 3.00) and a customer with one
  // contact, in `tenant`.
  void setup_tenant(int64_t tenant) {
    db::TenantScope scope(*conn_, tenant);
    catalog::CatalogService(*conn_, *bus_)
        .create(catalog::ProductDraft::from_json(
            {{"sku", "SKU-1"}, {"name", "Widget"}, {"price", "10.00"}, {"reorder_level", "3"}}));
    inventory::InventoryService stock(*conn_, *bus_);
    stock.receive(inventory::Receipt::from_json(
        {{"sku", "SKU-1"}, {"quantity", "5"}, {"unit_cost", "2.00"}, {"batch", "B1"}}));
    stock.receive(inventory::Receipt::from_json(
        {{"sku", "SKU-1"}, {"quantity", "7"}, {"unit_cost", "3.00"}, {"batch", "B2"}}));
    customer_ = CrmService(*conn_, *bus_)
                    .create_customer(CustomerDraft::from_json(
                        {{"name", "Initech"},
                         {"email", "ap@initech.test"},
                         {"payment_terms_days", 14},
                         {"contacts", {{{"name", "Peter"}, {"email", "peter@initech.test"}}}}}))
                    .id;
  }

  SalesService sales(std::optional<int64_t> user) { return SalesService(*conn_, *bus_, user); }
  BillingService billing(std::optional<int64_t> user) {
    return BillingService(*conn_, *bus_, user);
  }
  CrmService crm() { return CrmService(*conn_, *bus_, seller_); }

  sales::Order order(const char* quantity, const char* price = "10.00") {
    return sales(seller_).create(OrderDraft::from_json(
        {{"customer_id", customer_},
         {"lines", {{{"sku", "SKU-1"}, {"quantity", quantity}, {"unit_price", price}}}}}));
  }

  // The base's drain(); no job of the workflow may fail.
  void drain() {
    ErpFixture::drain();
    EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
  }

  // Notification types a user (or contact) holds, sorted.
  std::multiset<std::string> inbox(const notify::Notifiable& who, int64_t tenant) {
    db::TenantScope scope(*conn_, tenant);
    std::multiset<std::string> out;
    for (const auto& n : notify::list_notifications(*conn_, who, false, 1000)) out.insert(n.type);
    return out;
  }
  int64_t contact_id() {
    return count("SELECT id FROM customer_contacts WHERE customer_id = $1", {customer_});
  }

  // Everything a refused operation must leave as it was.
  std::string snapshot() {
    std::string s = row_counts({"customers", "customer_contacts", "leads", "orders", "order_lines",
                                "invoices", "invoice_lines", "payments", "stock_batches",
                                "stock_movements", "domain_events", "jobs", "notifications"});
    auto owner = db_->owner();
    owner->query_each("SELECT status, total, paid FROM invoices ORDER BY id", {},
                      [&](const db::Row& r) {
                        s += r.get<std::string>(0) + ":" + r.get<std::string>(1) + ":" +
                             r.get<std::string>(2) + ";";
                      });
    owner->query_each("SELECT status FROM orders ORDER BY id", {},
                      [&](const db::Row& r) { s += r.get<std::string>(0) + ";"; });
    owner->query_each("SELECT quantity_remaining FROM stock_batches ORDER BY id", {},
                      [&](const db::Row& r) { s += r.get<std::string>(0) + ","; });
    return s;
  }

  int64_t seller_ = 0, biller_ = 0, keeper_ = 0, boss_ = 0, customer_ = 0;
};

TEST_P(SalesTest, CustomerWithContactsAndLeadConversion) {
  EXPECT_EQ(events_named("CustomerCreated"), 1);
  auto c = crm().find_customer(customer_);
  EXPECT_EQ(c.payment_terms_days, 14);
  ASSERT_EQ(c.contacts.size(), 1u);
  EXPECT_EQ(c.contacts[0].email, "peter@initech.test");
  EXPECT_EQ(code_of([&] {
              crm().create_customer(
                  CustomerDraft::from_json({{"name", "Dup"}, {"email", "AP@initech.test"}}));
            }),
            ErrorCode::kAlreadyExists);

  auto lead = crm().create_lead(crm::LeadDraft::from_json(
      {{"name", "Hooli"}, {"email", "gavin@hooli.test"}, {"company", "Hooli"}}));
  auto converted = crm().convert_lead(lead.id);
  EXPECT_EQ(converted.lead_id, lead.id);
  EXPECT_EQ(converted.email, "gavin@hooli.test");
  EXPECT_EQ(crm().find_lead(lead.id).status, "converted");
  EXPECT_EQ(events_named("LeadConverted"), 1);
  EXPECT_EQ(events_named("CustomerCreated"), 2);
  const std::string before = snapshot();
  EXPECT_EQ(code_of([&] { crm().convert_lead(lead.id); }), ErrorCode::kFailedPrecondition);
  EXPECT_EQ(code_of([&] { crm().convert_lead(lead.id + 100); }), ErrorCode::kNotFound);
  EXPECT_EQ(snapshot(), before);
}

TEST_P(SalesTest, OrderToCashThroughTheQueue) {
  auto o = order("6");  // 5 @ 2.00 then 1 @ 3.00
  EXPECT_EQ(o.status, "draft");
  EXPECT_EQ(o.total, d("60"));
  EXPECT_EQ(events_named("OrderCreated"), 1);

  o = sales(boss_).approve(o.id);
  EXPECT_EQ(o.status, "approved");
  EXPECT_FALSE(o.invoice_id);  // the listener issues it
  drain();
  o = sales(boss_).find(o.id);
  ASSERT_TRUE(o.invoice_id);
  auto inv = billing(biller_).find(*o.invoice_id);
  EXPECT_EQ(inv.status, "issued");
  EXPECT_EQ(inv.total, d("60"));
  EXPECT_EQ(inv.balance(), d("60"));
  EXPECT_EQ(inv.due_date.size(), 10u);
  EXPECT_EQ(count("SELECT count(*) FROM invoice_lines WHERE invoice_id = $1", {inv.id}), 1);
  EXPECT_EQ(events_named("InvoiceGenerated"), 1);
  const auto contact = notify::Notifiable::contact(contact_id());
  EXPECT_EQ(inbox(contact, a_), (std::multiset<std::string>{"InvoiceGeneratedNotification"}));
  // OrderStatusNotification: sales.orders holders (seller, manager); the keeper holds none.
  EXPECT_EQ(inbox(notify::Notifiable::user(seller_), a_).count("OrderStatusNotification"), 1u);
  EXPECT_EQ(inbox(notify::Notifiable::user(boss_), a_).count("OrderStatusNotification"), 1u);
  EXPECT_TRUE(inbox(notify::Notifiable::user(keeper_), a_).empty());

  o = sales(seller_).fulfill(o.id, "MAIN");
  EXPECT_EQ(o.status, "fulfilled");
  EXPECT_EQ(o.cost_of_goods, d("13"));  // 5 × 2.00 + 1 × 3.00
  ASSERT_EQ(o.lines.size(), 1u);
  EXPECT_EQ(o.lines[0].cost, d("13"));
  EXPECT_EQ(inventory::InventoryService(*conn_, *bus_).on_hand(o.lines[0].product_id), d("6"));
  EXPECT_EQ(count("SELECT count(*) FROM stock_movements WHERE reference_type = 'order' AND "
                  "reference_id = $1",
                  {std::to_string(o.id)}),
            2);
  EXPECT_EQ(events_named("OrderFulfilled"), 1);
  drain();
  auto c = crm().find_customer(customer_);
  EXPECT_EQ(c.orders_count, 1);
  EXPECT_EQ(c.total_spent, d("60"));
  EXPECT_EQ(c.average_order_value, d("60"));
  EXPECT_TRUE(c.last_order_at);
  EXPECT_EQ(c.outstanding_balance, d("60"));
  auto sold = db_->owner()->query_one(
      "SELECT quantity_sold, revenue, cost_of_goods FROM product_sales WHERE product_id = $1",
      {o.lines[0].product_id});
  ASSERT_TRUE(sold);
  EXPECT_EQ(Decimal::parse(sold->get<std::string>(0)), d("6"));
  EXPECT_EQ(Decimal::parse(sold->get<std::string>(1)), d("60"));
  EXPECT_EQ(Decimal::parse(sold->get<std::string>(2)), d("13"));

  auto part =
      billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", inv.id}, {"amount", "25.50"}}));
  EXPECT_EQ(part.invoice.status, "partially_paid");
  EXPECT_EQ(part.invoice.balance(), d("34.50"));
  auto rest =
      billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", inv.id}, {"amount", "34.5"}}));
  EXPECT_EQ(rest.invoice.status, "paid");
  EXPECT_TRUE(rest.invoice.paid_at);
  EXPECT_EQ(events_named("InvoicePaymentReceived"), 2);
  drain();
  EXPECT_EQ(inbox(contact, a_).count("PaymentReceivedNotification"), 2u);
  EXPECT_EQ(inbox(notify::Notifiable::user(biller_), a_).count("PaymentReceivedNotification"), 2u);
  EXPECT_EQ(inbox(notify::Notifiable::user(seller_), a_).count("PaymentReceivedNotification"), 0u);
  EXPECT_EQ(crm().find_customer(customer_).outstanding_balance, d("0"));
}

TEST_P(SalesTest, OrderStatusAlwaysReachesTheCreatorEvenWithoutThePermission) {
  auto o = sales(keeper_).create(OrderDraft::from_json(
      {{"customer_id", customer_}, {"lines", {{{"sku", "SKU-1"}, {"quantity", "1"}}}}}));
  EXPECT_EQ(o.total, d("10"));  // the product's price by default
  sales(boss_).approve(o.id);
  drain();
  EXPECT_EQ(inbox(notify::Notifiable::user(keeper_), a_).count("OrderStatusNotification"), 1u);
  EXPECT_EQ(inbox(notify::Notifiable::user(biller_), a_).count("OrderStatusNotification"), 0u);
}

TEST_P(SalesTest, BadInputIsRefusedAndChangesNothing) {
  auto approved = order("2");
  sales(boss_).approve(approved.id);
  auto big = order("13");  // 12 on hand
  sales(boss_).approve(big.id);
  drain();
  auto draft = order("1");
  const int64_t invoice = *sales(boss_).find(approved.id).invoice_id;
  const std::string with_big = snapshot();
  auto bad2 = [&](ErrorCode code, const std::function<void()>& f) {
    EXPECT_EQ(code_of(f), code);
    EXPECT_EQ(snapshot(), with_big);
  };
  bad2(ErrorCode::kFailedPrecondition, [&] { sales(boss_).fulfill(big.id, "MAIN"); });
  bad2(ErrorCode::kFailedPrecondition, [&] { sales(boss_).fulfill(draft.id, "MAIN"); });
  bad2(ErrorCode::kFailedPrecondition, [&] { sales(boss_).approve(approved.id); });
  bad2(ErrorCode::kNotFound, [&] { sales(boss_).fulfill(approved.id, "NOWHERE"); });
  bad2(ErrorCode::kNotFound, [&] { sales(boss_).approve(999999); });
  bad2(ErrorCode::kFailedPrecondition, [&] {
    billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", invoice}, {"amount", "20.01"}}));
  });
  bad2(ErrorCode::kInvalidArgument, [&] {
    billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", invoice}, {"amount", "-1"}}));
  });
  bad2(ErrorCode::kInvalidArgument, [&] {
    billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", invoice}, {"amount", "1.2.3"}}));
  });
  bad2(ErrorCode::kNotFound, [&] {
    billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", 999999}, {"amount", "1"}}));
  });
  bad2(ErrorCode::kNotFound, [&] {
    sales(seller_).create(OrderDraft::from_json(
        {{"customer_id", customer_}, {"lines", {{{"sku", "NOPE"}, {"quantity", "1"}}}}}));
  });
  bad2(ErrorCode::kInvalidArgument, [&] {
    sales(seller_).create(OrderDraft::from_json(
        {{"customer_id", customer_}, {"lines", {{{"sku", "SKU-1"}, {"quantity", "-1"}}}}}));
  });
  bad2(ErrorCode::kInvalidArgument, [&] {
    sales(seller_).create(
        OrderDraft::from_json({{"customer_id", customer_}, {"lines", nlohmann::json::array()}}));
  });
  bad2(ErrorCode::kInvalidArgument, [&] {
    sales(seller_).create(OrderDraft::from_json(
        {{"customer_id", customer_},
         {"lines", {{{"sku", "SKU-1"}, {"quantity", "1"}, {"price", "1"}}}}}));
  });
  bad2(ErrorCode::kInvalidArgument, [&] {
    crm().create_customer(CustomerDraft::from_json({{"name", "X"}, {"email", "not-an-email"}}));
  });
  bad2(ErrorCode::kInvalidArgument, [&] {
    crm().create_customer(CustomerDraft::from_json({{"name", "X"}, {"payment_terms_days", -1}}));
  });
  // Another tenant's customer is not found from here.
  int64_t other_customer = 0;
  {
    db::TenantScope scope(*conn_, b_);
    other_customer =
        CrmService(*conn_, *bus_).create_customer(CustomerDraft::from_json({{"name", "B"}})).id;
  }
  const std::string with_other = snapshot();
  EXPECT_EQ(
      code_of([&] {
        sales(seller_).create(OrderDraft::from_json(
            {{"customer_id", other_customer}, {"lines", {{{"sku", "SKU-1"}, {"quantity", "1"}}}}}));
      }),
      ErrorCode::kNotFound);
  EXPECT_EQ(code_of([&] { crm().find_customer(other_customer); }), ErrorCode::kNotFound);
  EXPECT_EQ(snapshot(), with_other);
  // A deleted SKU is not found.
  catalog::CatalogService(*conn_, *bus_).remove(draft.lines[0].product_id);
  EXPECT_EQ(code_of([&] { order("1"); }), ErrorCode::kNotFound);
}

TEST_P(SalesTest, OverdueScanMarksOnceAndReplaysByDate) {
  auto o = order("1");
  sales(boss_).approve(o.id);
  drain();
  auto inv = billing(biller_).find(*sales(boss_).find(o.id).invoice_id);
  // Due 14 days after issue.
  EXPECT_TRUE(billing(biller_).check_overdue(inv.due_date).empty());
  const auto day_after = format_iso8601(parse_iso8601(inv.due_date) + std::chrono::days(1));
  auto marked = billing(biller_).check_overdue(day_after.substr(0, 10));
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_EQ(marked[0].invoice_id, inv.id);
  EXPECT_EQ(marked[0].days_overdue, 1);
  EXPECT_EQ(marked[0].balance, d("10"));
  EXPECT_TRUE(billing(biller_).check_overdue("2099-01-01").empty());
  EXPECT_EQ(events_named("InvoiceOverdue"), 1);
  EXPECT_EQ(billing(biller_).find(inv.id).status, "overdue");
  billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", inv.id}, {"amount", "4"}}));
  EXPECT_EQ(billing(biller_).find(inv.id).status, "overdue");
  billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", inv.id}, {"amount", "6"}}));
  EXPECT_EQ(billing(biller_).find(inv.id).status, "paid");
  EXPECT_EQ(
      code_of([&] {
        billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", inv.id}, {"amount", "1"}}));
      }),
      ErrorCode::kFailedPrecondition);
  EXPECT_EQ(code_of([&] { billing(biller_).check_overdue("2026-13-01"); }),
            ErrorCode::kInvalidArgument);
}

TEST_P(SalesTest, ConcurrentFulfilmentsNeverOversell) {
  // 12 on hand; two approved orders of 7 each: exactly one can be fulfilled.
  auto o1 = order("7"), o2 = order("7");
  sales(boss_).approve(o1.id);
  sales(boss_).approve(o2.id);
  auto fulfil = [&](int64_t id) {
    return
        [&, id](db::Connection& conn) { SalesService(conn, *bus_, seller_).fulfill(id, "MAIN"); };
  };
  auto r = race(fulfil(o1.id), fulfil(o2.id));
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(inventory::InventoryService(*conn_, *bus_).on_hand(o1.lines[0].product_id), d("5"));
  EXPECT_EQ(count("SELECT count(*) FROM orders WHERE status = 'fulfilled'"), 1);
  // The same order fulfilled twice at once: one wins.
  auto o3 = order("2");
  sales(boss_).approve(o3.id);
  r = race(fulfil(o3.id), fulfil(o3.id));
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(r.refused, 1);
  EXPECT_EQ(inventory::InventoryService(*conn_, *bus_).on_hand(o1.lines[0].product_id), d("3"));
}

TEST_P(SalesTest, ConcurrentPaymentsNeverOverpay) {
  auto o = order("10");  // 100.00
  sales(boss_).approve(o.id);
  drain();
  const int64_t invoice = *sales(boss_).find(o.id).invoice_id;
  auto pay = [&](db::Connection& conn) {
    BillingService(conn, *bus_, biller_)
        .pay(PaymentDraft::from_json({{"invoice_id", invoice}, {"amount", "60"}}));
  };
  const auto r = race(pay, pay);
  EXPECT_EQ(r.done, 1);
  EXPECT_EQ(r.refused, 1);
  auto inv = billing(biller_).find(invoice);
  EXPECT_EQ(inv.paid, d("60"));
  EXPECT_EQ(count("SELECT count(*) FROM payments"), 1);
}

TEST_P(SalesTest, RedeliveredListenersChangeNothingTwice) {
  auto o = order("3");
  sales(boss_).approve(o.id);
  drain();
  sales(seller_).fulfill(o.id, "MAIN");
  const int64_t invoice = *sales(boss_).find(o.id).invoice_id;
  billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", invoice}, {"amount", "10"}}));
  drain();
  drain();
  const std::string before = snapshot();
  const auto stats = db_->owner()->query_one(
      "SELECT orders_count, total_spent FROM customers WHERE id = $1", {customer_});
  // Every (event, listener) pair of the whole workflow is delivered a second time.
  std::vector<std::tuple<int64_t, std::string, std::string>> pairs;
  db_->owner()->query_each(
      "SELECT tenant_id, uuid, name FROM domain_events ORDER BY id", {}, [&](const db::Row& r) {
        for (const auto& l : bus_->listeners()) {
          if (l.event != r.get<std::string>(2) || !l.queued) continue;
          pairs.emplace_back(
              r.get<int64_t>(0), "listener." + l.listener,
              nlohmann::json{{"event_id", r.get<std::string>(1)}, {"event", l.event}}.dump());
        }
      });
  int listeners = 0;
  for (const auto& [tenant, type, payload] : pairs) {
    ++listeners;
    db::TenantScope scope(*conn_, tenant);
    dispatcher_->dispatch(*conn_, tenant, type, payload);
  }
  EXPECT_EQ(listeners, 7);
  drain();
  drain();
  EXPECT_EQ(snapshot(), before);
  auto after = db_->owner()->query_one(
      "SELECT orders_count, total_spent FROM customers WHERE id = $1", {customer_});
  EXPECT_EQ(after->get<int64_t>(0), stats->get<int64_t>(0));
  // The listeners' own work is idempotent too, without the run record.
  EXPECT_EQ(billing(biller_).issue_for_order(o.id).id, invoice);
  crm().recalculate_statistics(customer_);
  sales::recount_product_sales(*conn_, o.lines[0].product_id);
  EXPECT_EQ(crm().find_customer(customer_).orders_count, 1);
  EXPECT_EQ(snapshot(), before);
}

TEST_P(SalesTest, SecondTenantRunsTheSameWorkflowAndSeesNothingOfTheFirst) {
  int64_t b_seller = 0, b_customer = 0;
  {
    db::TenantScope scope(*conn_, b_);
    b_seller = db::create_user(*conn_, "seller@globex.test", "Gus", "sales").id;
  }
  const int64_t a_customer = customer_;
  setup_tenant(b_);
  b_customer = customer_;
  customer_ = a_customer;
  auto run = [&](int64_t tenant, int64_t user, int64_t customer) {
    auto conn = db_->app();
    db::TenantScope scope(*conn, tenant);
    SalesService s(*conn, *bus_, user);
    auto o = s.create(OrderDraft::from_json(
        {{"customer_id", customer}, {"lines", {{{"sku", "SKU-1"}, {"quantity", "4"}}}}}));
    s.approve(o.id);
    s.fulfill(o.id, "MAIN");
  };
  std::thread ta(run, a_, seller_, a_customer), tb(run, b_, b_seller, b_customer);
  ta.join();
  tb.join();
  drain();
  // Each tenant sees its own order, invoice and notifications only.
  for (auto [tenant, user, customer] :
       {std::tuple{a_, seller_, a_customer}, std::tuple{b_, b_seller, b_customer}}) {
    db::TenantScope scope(*conn_, tenant);
    EXPECT_EQ(conn_->query_int("SELECT count(*) FROM orders WHERE tenant_id = $1", {tenant}), 1);
    EXPECT_EQ(conn_->query_int("SELECT count(*) FROM invoices WHERE tenant_id = $1", {tenant}), 1);
    EXPECT_EQ(CrmService(*conn_, *bus_).find_customer(customer).orders_count, 1);
    EXPECT_EQ(inbox(notify::Notifiable::user(user), tenant).count("OrderStatusNotification"), 2u);
  }
  {
    db::TenantScope scope(*conn_, b_);
    EXPECT_EQ(code_of([&] { CrmService(*conn_, *bus_).find_customer(a_customer); }),
              ErrorCode::kNotFound);
    const int64_t a_order =
        db_->owner()->query_int("SELECT id FROM orders WHERE tenant_id = $1", {a_});
    EXPECT_EQ(code_of([&] { SalesService(*conn_, *bus_).find(a_order); }), ErrorCode::kNotFound);
  }
  EXPECT_EQ(count("SELECT count(*) FROM notifications n JOIN users u ON u.id = n.notifiable_id "
                  "WHERE n.notifiable_type = 'user' AND u.tenant_id <> n.tenant_id"),
            0);
}

TEST_P(SalesTest, EveryStoredEventRebuildsThroughTheRegistry) {
  auto o = order("2");
  sales(boss_).approve(o.id);
  drain();
  sales(seller_).fulfill(o.id, "MAIN");
  const int64_t invoice = *sales(boss_).find(o.id).invoice_id;
  billing(biller_).pay(PaymentDraft::from_json({{"invoice_id", invoice}, {"amount", "5"}}));
  billing(biller_).check_overdue("2099-01-01");
  auto lead = crm().create_lead(crm::LeadDraft::from_json({{"name", "L"}}));
  crm().convert_lead(lead.id);
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
  for (const char* n :
       {"CustomerCreated", "LeadConverted", "OrderCreated", "OrderApproved", "OrderFulfilled",
        "InvoiceGenerated", "InvoicePaymentReceived", "InvoiceOverdue"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
}

// The bulk create of the import: new e-mails in one statement with a CustomerCreated each (the
// payload create_customer writes), existing ones (any ASCII case) skipped, duplicates refused.
TEST_P(SalesTest, CreateMissingCustomersSkipsExistingEmailsAndStoresTheirEvents) {
  const int64_t before = events_named("CustomerCreated");
  std::vector<CustomerDraft> drafts(3);
  drafts[0].name = "Hooli";
  drafts[0].email = "ap@hooli.test";
  drafts[0].payment_terms_days = 45;
  drafts[1].name = "Initech again";
  drafts[1].email = "AP@Initech.TEST";
  drafts[2].name = "Pied Piper";
  drafts[2].email = "pp@piper.test";
  const auto ids = crm().create_missing_customers(drafts);
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_TRUE(ids[0] && ids[2]);
  EXPECT_FALSE(ids[1]);
  EXPECT_EQ(crm().find_customer(customer_).name, "Initech");  // untouched
  const auto hooli = crm().find_customer(*ids[0]);
  EXPECT_EQ(hooli.name, "Hooli");
  EXPECT_EQ(hooli.payment_terms_days, 45);
  EXPECT_EQ(crm().find_customer(*ids[2]).payment_terms_days, 30);
  EXPECT_EQ(events_named("CustomerCreated"), before + 2);
  const auto last = last_payload("CustomerCreated");
  EXPECT_EQ(last, (nlohmann::json{{"customer_id", *ids[2]},
                                  {"name", "Pied Piper"},
                                  {"email", "pp@piper.test"},
                                  {"payment_terms_days", 30},
                                  {"contacts", nlohmann::json::array()},
                                  {"lead_id", 0}}));
  auto refused = [&](std::vector<CustomerDraft> d) {
    return code_of([&] { crm().create_missing_customers(d); });
  };
  std::vector<CustomerDraft> dup(2);
  dup[0].name = dup[1].name = "Dup";
  dup[0].email = "d@dup.test";
  dup[1].email = "D@DUP.test";
  EXPECT_EQ(refused(dup), ErrorCode::kInvalidArgument);
  std::vector<CustomerDraft> no_email(1);
  no_email[0].name = "Nobody";
  EXPECT_EQ(refused(no_email), ErrorCode::kInvalidArgument);
  std::vector<CustomerDraft> bad_terms(1);
  bad_terms[0].name = "Late";
  bad_terms[0].email = "late@x.test";
  bad_terms[0].payment_terms_days = 400;
  EXPECT_EQ(refused(bad_terms), ErrorCode::kInvalidArgument);
  EXPECT_EQ(events_named("CustomerCreated"), before + 2);
  EXPECT_EQ(count("SELECT count(*) FROM customers WHERE tenant_id = $1", {a_}), 3);
}

INSTANTIATE_TEST_SUITE_P(Drivers, SalesTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::erp
