// An example of testing your own service with Unity's fakes, as the seed's Testing section does
// with Event::fake(), Queue::fake() and Notification::fake().
//
// The service writes a row, dispatches an event, queues a job and notifies the tenant's stock
// keepers, all in one transaction. The test hands it the fakes instead of the real EventBus,
// Dispatcher and DatabaseNotifier, and asserts on what it did.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/json.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "notify/notifier.h"
#include "notify/permissions.h"
#include "support/test_db.h"
#include "testing/fakes.h"

namespace example {

using namespace unity;

// --- the user's code ----------------------------------------------------------------------------

class WidgetCreated final : public events::Event {
 public:
  static constexpr std::string_view kName = "WidgetCreated";
  WidgetCreated(events::EventMeta meta, int64_t widget_id, std::string sku)
      : Event(std::move(meta)), widget_id_(widget_id), sku_(std::move(sku)) {}
  int64_t widget_id() const { return widget_id_; }
  const std::string& sku() const { return sku_; }
  std::string_view name() const override { return kName; }
  void write_payload(nlohmann::json& out) const override {
    out = {{"widget_id", widget_id_}, {"sku", sku_}};
  }
  static std::unique_ptr<events::Event> read(events::EventMeta meta, const nlohmann::json& p) {
    return std::make_unique<WidgetCreated>(std::move(meta), require_int(p, "widget_id"),
                                           require_string(p, "sku"));
  }

 private:
  const int64_t widget_id_;
  const std::string sku_;
};

class WidgetAdded final : public notify::Notification {
 public:
  explicit WidgetAdded(std::string sku) : sku_(std::move(sku)) {}
  std::string_view type() const override { return "AnnouncementNotification"; }
  std::string_view permission() const override { return notify::kInventoryAlerts; }
  notify::DatabaseMessage to_database() const override {
    return {"New widget " + sku_, "Widget " + sku_ + " was added", "info", "/widgets", "{}"};
  }

 private:
  std::string sku_;
};

class WidgetService {
 public:
  WidgetService(db::Connection& conn, events::EventDispatcher& events, queue::JobDispatcher& jobs,
                notify::Notifier& notifier)
      : conn_(conn), events_(events), jobs_(jobs), notifier_(notifier) {}

  int64_t create(int64_t user_id, const std::string& sku) {
    const int64_t tenant = conn_.require_tenant();
    db::Transaction tx(conn_);
    const int64_t id = conn_.query_int(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1, $2, 0, 0) RETURNING "
        "id",
        {tenant, sku});
    events_.dispatch(conn_, WidgetCreated(events::new_event_meta(tenant, user_id), id, sku));
    jobs_.dispatch(conn_, tenant, "widgets.index", nlohmann::json{{"widget_id", id}}.dump(),
                   {.queue = "low"});
    notifier_.send(conn_, notify::users_with_permission(conn_, notify::kInventoryAlerts),
                   WidgetAdded(sku));
    tx.commit();
    return id;
  }

 private:
  db::Connection& conn_;
  events::EventDispatcher& events_;
  queue::JobDispatcher& jobs_;
  notify::Notifier& notifier_;
};

// --- the user's test ----------------------------------------------------------------------------

TEST(WidgetServiceTest, CreatingAWidgetDispatchesQueuesAndNotifies) {
  auto db = unity::testing::TestDatabase::create(unity::testing::Driver::kSqlite);
  auto conn = db->app();
  const int64_t tenant = db::create_tenant(*conn, "Acme").id;
  db::TenantScope scope(*conn, tenant);
  const int64_t keeper = db::create_user(*conn, "keeper@acme.test", "Kim", "inventory").id;
  const int64_t seller = db::create_user(*conn, "seller@acme.test", "Sid", "sales").id;

  unity::testing::EventFake events;
  events.registry().add<WidgetCreated>();
  unity::testing::QueueFake jobs;
  unity::testing::NotificationFake notifications;

  WidgetService service(*conn, events, jobs, notifications);
  const int64_t id = service.create(keeper, "W-1");

  EXPECT_TRUE(events.assert_dispatched<WidgetCreated>(
      [&](const WidgetCreated& e) { return e.widget_id() == id && e.sku() == "W-1"; }));
  EXPECT_TRUE(events.assert_dispatched_times<WidgetCreated>(1));
  EXPECT_TRUE(jobs.assert_pushed_on("low", "widgets.index"));
  EXPECT_TRUE(jobs.assert_pushed("widgets.index", [&](const unity::testing::PushedJob& j) {
    return j.payload["widget_id"] == id;
  }));
  EXPECT_TRUE(
      notifications.assert_sent_to(notify::Notifiable::user(keeper), "AnnouncementNotification"));
  EXPECT_TRUE(notifications.assert_not_sent_to(notify::Notifiable::user(seller),
                                               "AnnouncementNotification"));
}

}  // namespace example
