// Notifications on both drivers: recipients by permission, queued delivery, tenant isolation,
// reading and pruning; and the test fakes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "events/test_events.h"
#include "notify/inbox.h"
#include "notify/notifier.h"
#include "notify/permissions.h"
#include "queue/worker.h"
#include "support/test_db.h"
#include "testing/fakes.h"

namespace unity::notify {
namespace {

using testing::Driver;
using testing::TestDatabase;

class StockAlert final : public Notification {
 public:
  std::string_view type() const override { return "LowStockNotification"; }
  std::string_view permission() const override { return kInventoryAlerts; }
  DatabaseMessage to_database() const override {
    return {"Low stock: Widget", "Widget (W-1) is at 3, below its reorder level 10", "warning",
            "/products/1", R"({"product_id":1,"sku":"W-1","on_hand":"3"})"};
  }
};

class InvoiceNotice final : public Notification {
 public:
  std::string_view type() const override { return "InvoiceGeneratedNotification"; }
  std::string_view permission() const override { return kBillingPayments; }
  bool to_contacts() const override { return true; }
  DatabaseMessage to_database() const override {
    return {"Invoice 7", "Due in 30 days", "info", "/invoices/7", "{}"};
  }
};

TEST(PermissionsTest, RolesMapToPermissions) {
  EXPECT_TRUE(role_has_permission("admin", kInventoryAlerts));
  EXPECT_TRUE(role_has_permission("manager", kProcurementOrders));
  EXPECT_TRUE(role_has_permission("inventory", kInventoryAlerts));
  EXPECT_FALSE(role_has_permission("inventory", kSalesOrders));
  EXPECT_TRUE(role_has_permission("billing", kBillingPayments));
  EXPECT_FALSE(role_has_permission("sales", kBillingPayments));
  EXPECT_TRUE(role_has_permission("sales", ""));
}

class NotifyTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    a_ = db::create_tenant(*conn_, "Acme").id;
    b_ = db::create_tenant(*conn_, "Globex").id;
    {
      db::TenantScope s(*conn_, a_);
      admin_ = db::create_user(*conn_, "admin@a.test", "Ada", "admin").id;
      stock_ = db::create_user(*conn_, "stock@a.test", "Sam", "inventory").id;
      sales_ = db::create_user(*conn_, "sales@a.test", "Sal", "sales").id;
      const std::string now = "2026-01-01T00:00:00Z";
      int64_t customer = conn_->query_int(
          "INSERT INTO customers (tenant_id, name, created_at, updated_at) VALUES ($1,'C',$2,$2) "
          "RETURNING id",
          {a_, now});
      contact_ = conn_->query_int(
          "INSERT INTO customer_contacts (tenant_id, customer_id, name, email, created_at)"
          " VALUES ($1,$2,'Pat','pat@c.test',$3) RETURNING id",
          {a_, customer, now});
    }
    {
      db::TenantScope s(*conn_, b_);
      other_ = db::create_user(*conn_, "admin@b.test", "Bea", "admin").id;
    }
    dispatcher_ = std::make_unique<queue::Dispatcher>(db_->config(), jobs_);
    notifier_ = std::make_unique<DatabaseNotifier>(jobs_, *dispatcher_);
  }

  void drain() {
    queue::WorkerOptions o;
    o.stop_when_empty = true;
    queue::Worker(db::connection_factory(db_->config()), db_->config(), jobs_, o, nullptr).run();
  }
  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  queue::JobRegistry jobs_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  std::unique_ptr<DatabaseNotifier> notifier_;
  int64_t a_ = 0, b_ = 0, admin_ = 0, stock_ = 0, sales_ = 0, contact_ = 0, other_ = 0;
};

TEST_P(NotifyTest, RecipientsByPermissionAreTheTenantsUsersWhoHoldIt) {
  db::TenantScope s(*conn_, a_);
  auto to = users_with_permission(*conn_, kInventoryAlerts);
  EXPECT_EQ(to, (std::vector<Notifiable>{Notifiable::user(admin_), Notifiable::user(stock_)}));
  EXPECT_EQ(users_with_permission(*conn_, "").size(), 3u);
}

TEST_P(NotifyTest, DeliveryIsQueuedAndWritesOneRowPerRecipient) {
  {
    db::TenantScope s(*conn_, a_);
    notifier_->send(*conn_, users_with_permission(*conn_, kInventoryAlerts), StockAlert());
  }
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 0);  // queued, not yet delivered
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 2);
  db::TenantScope s(*conn_, a_);
  auto inbox = list_notifications(*conn_, Notifiable::user(stock_), /*unread_only=*/true);
  ASSERT_EQ(inbox.size(), 1u);
  EXPECT_EQ(inbox[0].type, "LowStockNotification");
  auto data = nlohmann::json::parse(inbox[0].data);
  EXPECT_EQ(data["title"], "Low stock: Widget");
  EXPECT_EQ(data["severity"], "warning");
  EXPECT_EQ(data["action_url"], "/products/1");
  EXPECT_EQ(data["metadata"]["sku"], "W-1");
  EXPECT_FALSE(inbox[0].read_at);
}

TEST_P(NotifyTest, RecipientOfAnotherTenantOrWithoutPermissionIsRefusedAndNothingQueued) {
  db::TenantScope s(*conn_, a_);
  auto code_of = [&](std::vector<Notifiable> to, const Notification& n) {
    try {
      notifier_->send(*conn_, to, n);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of({Notifiable::user(admin_), Notifiable::user(other_)}, StockAlert()),
            ErrorCode::kNotFound);
  EXPECT_EQ(code_of({Notifiable::user(sales_)}, StockAlert()), ErrorCode::kPermissionDenied);
  EXPECT_EQ(code_of({Notifiable::contact(contact_)}, StockAlert()), ErrorCode::kPermissionDenied);
  EXPECT_EQ(code_of({Notifiable::contact(9999)}, InvoiceNotice()), ErrorCode::kNotFound);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  notifier_->send(*conn_, {Notifiable::contact(contact_)}, InvoiceNotice());
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE notifiable_type = 'contact'"), 1);
}

TEST_P(NotifyTest, NotificationsAreReadPerRecipientAndTenant) {
  {
    db::TenantScope s(*conn_, a_);
    notifier_->send(*conn_, {Notifiable::user(admin_)}, StockAlert());
    notifier_->send(*conn_, {Notifiable::user(admin_)}, InvoiceNotice());
  }
  drain();
  db::TenantScope s(*conn_, a_);
  const auto me = Notifiable::user(admin_);
  EXPECT_EQ(unread_count(*conn_, me), 2);
  auto inbox = list_notifications(*conn_, me, false);
  EXPECT_EQ(mark_read(*conn_, me, {inbox[0].id}), 1);
  EXPECT_EQ(unread_count(*conn_, me), 1);
  EXPECT_THROW(mark_read(*conn_, Notifiable::user(stock_), {inbox[1].id}), Error);  // not theirs
  EXPECT_EQ(mark_read(*conn_, me, {}), 1);
  EXPECT_EQ(unread_count(*conn_, me), 0);
  EXPECT_THROW(list_notifications(*conn_, Notifiable::user(other_), false), Error);  // other tenant
  EXPECT_EQ(prune_read(*conn_, system_clock().now() - std::chrono::hours(1)), 0);
  EXPECT_EQ(prune_read(*conn_, system_clock().now() + std::chrono::hours(1)), 2);
}

TEST_P(NotifyTest, NotificationFakeChecksRecipientsAndRecords) {
  unity::testing::NotificationFake fake;
  db::TenantScope s(*conn_, a_);
  fake.send(*conn_, {Notifiable::user(stock_)}, StockAlert());
  EXPECT_TRUE(
      fake.assert_sent_to(Notifiable::user(stock_), "LowStockNotification",
                          [](const nlohmann::json& d) { return d["metadata"]["sku"] == "W-1"; }));
  EXPECT_TRUE(fake.assert_not_sent_to(Notifiable::user(admin_), "LowStockNotification"));
  EXPECT_FALSE(fake.assert_sent_to(Notifiable::user(admin_), "LowStockNotification"));
  EXPECT_TRUE(fake.assert_sent_times("LowStockNotification", 1));
  EXPECT_THROW(fake.send(*conn_, {Notifiable::user(other_)}, StockAlert()), Error);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, NotifyTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::notify

// The system notifications (notify/messages.h): data-driven announcements, reminders and alerts,
// and ReportGeneratedNotification to its requester.
#include "notify/messages.h"

namespace unity::notify {
namespace {

// The message of the kInvalidArgument `make` throws ("" when it throws nothing or another code).
template <typename F>
std::string invalid_message(F make) {
  try {
    make();
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kInvalidArgument) return e.what();
  }
  return "";
}

TEST(MessagesTest, GeneralNotificationsComeFromDataWithTheirDefaults) {
  auto a = AnnouncementNotification::from_json(
      {{"title", "System Maintenance"}, {"message", "Down at 22:00"}});
  EXPECT_EQ(a.type(), "AnnouncementNotification");
  EXPECT_EQ(a.permission(), "");
  auto d = nlohmann::json::parse(render_data(a));
  EXPECT_EQ(d["title"], "System Maintenance");
  EXPECT_EQ(d["message"], "Down at 22:00");
  EXPECT_EQ(d["severity"], "info");
  EXPECT_EQ(d["action_url"], "");
  EXPECT_EQ(d["metadata"], nlohmann::json::object());

  auto alert = AlertNotification::from_json({{"title", "Disk"}, {"message", "90% full"}});
  EXPECT_EQ(alert.to_database().severity, "warning");
  auto critical = AlertNotification::from_json({{"title", "Disk"},
                                                {"message", "99% full"},
                                                {"severity", "critical"},
                                                {"action_url", "/ops"}});
  EXPECT_EQ(critical.to_database().severity, "critical");
  EXPECT_EQ(critical.to_database().action_url, "/ops");

  auto r = ReminderNotification::from_json(
      {{"title", "Stock count"}, {"message", "Tomorrow"}, {"remind_at", "2026-03-02 09:00+01:00"}});
  EXPECT_EQ(r.type(), "ReminderNotification");
  EXPECT_EQ(nlohmann::json::parse(r.to_database().metadata)["remind_at"],
            "2026-03-02T08:00:00.000000Z");

  auto g = general_notification("alert", {{"title", "T"}, {"message", "M"}});
  EXPECT_EQ(g->type(), "AlertNotification");
}

TEST(MessagesTest, BadDataIsRefusedNamingTheField) {
  using J = nlohmann::json;
  auto ann = [](J j) { return invalid_message([&] { AnnouncementNotification::from_json(j); }); };
  EXPECT_NE(ann({{"message", "M"}}).find("\"title\" is required"), std::string::npos);
  EXPECT_NE(ann({{"title", "T"}}).find("\"message\""), std::string::npos);
  EXPECT_NE(ann({{"title", 7}, {"message", "M"}}).find("\"title\" must be a string"),
            std::string::npos);
  EXPECT_NE(ann({{"title", ""}, {"message", "M"}}).find("\"title\""), std::string::npos);
  EXPECT_NE(ann({{"title", std::string(201, 'x')}, {"message", "M"}}).find("\"title\""),
            std::string::npos);
  EXPECT_NE(ann({{"title", "T"}, {"message", "M"}, {"severity", "loud"}}).find("\"severity\""),
            std::string::npos);
  EXPECT_NE(ann({{"title", "T"}, {"message", "M"}, {"titel", "x"}}).find("unknown field \"titel\""),
            std::string::npos);
  EXPECT_NE(ann({{"title", "T"}, {"message", "M"}, {"remind_at", "2026-03-01"}})
                .find("unknown field \"remind_at\""),
            std::string::npos);
  EXPECT_NE(ann({{"title", "T"}, {"message", "M"}, {"action_url", "javascript:alert(1)"}})
                .find("\"action_url\""),
            std::string::npos);
  EXPECT_NE(ann(J::array()).find("JSON object"), std::string::npos);
  EXPECT_NE(invalid_message([] {
              ReminderNotification::from_json(
                  {{"title", "T"}, {"message", "M"}, {"remind_at", "tomorrow"}});
            }).find("\"remind_at\""),
            std::string::npos);
  EXPECT_NE(invalid_message([] {
              general_notification("memo", {{"title", "T"}, {"message", "M"}});
            }).find("announcement, reminder or alert"),
            std::string::npos);
  // The constructors check too.
  EXPECT_NE(invalid_message([] {
              AlertNotification(MessageData{"T", "", "", "", std::nullopt});
            }).find("\"message\""),
            std::string::npos);
}

TEST(MessagesTest, ReportGeneratedRendersTheReportAndIsForItsRequester) {
  ReportGeneratedNotification n(
      {7, "sales", "sales-2026-03.csv", "reports/1/sales-2026-03.csv", "csv", 42});
  EXPECT_EQ(n.type(), "ReportGeneratedNotification");
  EXPECT_EQ(n.author(), 42);
  auto d = nlohmann::json::parse(render_data(n));
  EXPECT_EQ(d["severity"], "success");
  EXPECT_EQ(d["action_url"], "/reports/7");
  EXPECT_EQ(d["metadata"]["report_id"], 7);
  EXPECT_EQ(d["metadata"]["report_type"], "sales");
  EXPECT_EQ(d["metadata"]["file_name"], "sales-2026-03.csv");
  EXPECT_EQ(d["metadata"]["path"], "reports/1/sales-2026-03.csv");
  EXPECT_EQ(d["metadata"]["format"], "csv");
  auto bad = [](GeneratedReport r) {
    return invalid_message([&] { ReportGeneratedNotification{r}; });
  };
  EXPECT_NE(bad({7, "weather", "f", "p", "csv", 42}).find("\"report_type\""), std::string::npos);
  EXPECT_NE(bad({7, "sales", "f", "p", "docx", 42}).find("\"format\""), std::string::npos);
  EXPECT_NE(bad({7, "sales", "", "p", "csv", 42}).find("\"file_name\""), std::string::npos);
  EXPECT_NE(bad({7, "sales", "f", "p", "csv", 0}).find("\"requester\""), std::string::npos);
  EXPECT_NE(bad({0, "sales", "f", "p", "csv", 42}).find("\"report_id\""), std::string::npos);
}

TEST_P(NotifyTest, AnnouncementsGoToAnyUserAndReportsToTheirRequester) {
  {
    db::TenantScope s(*conn_, a_);
    auto announcement =
        AnnouncementNotification::from_json({{"title", "Maintenance"}, {"message", "Tonight"}});
    notifier_->send(*conn_, users_with_permission(*conn_, announcement.permission()), announcement);
    ReportGeneratedNotification report({3, "sales", "s.csv", "reports/s.csv", "csv", sales_});
    notifier_->send(*conn_, {Notifiable::user(sales_)}, report);
    try {
      notifier_->send(*conn_, {Notifiable::user(stock_)}, report);
      ADD_FAILURE() << "a report went to someone who did not ask for it";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kPermissionDenied);
    }
    try {  // another tenant's user
      notifier_->send(*conn_, {Notifiable::user(other_)}, announcement);
      ADD_FAILURE() << "an announcement crossed tenants";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    }
  }
  drain();
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE type = 'AnnouncementNotification'"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM notifications WHERE type = 'ReportGeneratedNotification'"
                  " AND notifiable_id = " +
                  std::to_string(sales_)),
            1);
  EXPECT_EQ(count("SELECT count(*) FROM notifications"), 4);
}

}  // namespace
}  // namespace unity::notify
