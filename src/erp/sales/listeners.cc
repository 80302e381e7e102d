#include "erp/sales/listeners.h"

#include <set>

#include "core/clock.h"
#include "erp/crm/crm_service.h"
#include "erp/input.h"
#include "erp/sales/events.h"
#include "erp/sales/notifications.h"

namespace unity::erp::sales {

void recount_product_sales(db::Connection& conn, int64_t product_id) {
  const int64_t tenant = conn.require_tenant();
  Decimal quantity, revenue, cost;
  std::optional<std::string> last;
  conn.query_each(
      "SELECT ol.quantity, ol.line_total, ol.cost, o.fulfilled_at FROM order_lines ol "
      "JOIN orders o ON o.id = ol.order_id "
      "WHERE ol.tenant_id = $1 AND ol.product_id = $2 AND o.status = 'fulfilled' "
      "ORDER BY o.fulfilled_at",
      {tenant, product_id}, [&](const db::Row& r) {
        quantity += Decimal::parse(r.get<std::string>(0));
        revenue += Decimal::parse(r.get<std::string>(1));
        if (auto c = r.get<std::optional<std::string>>(2)) cost += Decimal::parse(*c);
        last = r.get<std::string>(3);
      });
  conn.execute(
      "INSERT INTO product_sales (tenant_id, product_id, quantity_sold, revenue, cost_of_goods, "
      "last_sold_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) "
      "ON CONFLICT (tenant_id, product_id) DO UPDATE SET quantity_sold = excluded.quantity_sold, "
      "revenue = excluded.revenue, cost_of_goods = excluded.cost_of_goods, "
      "last_sold_at = excluded.last_sold_at, updated_at = excluded.updated_at",
      {tenant, product_id, db_decimal(quantity), db_decimal(revenue), db_decimal(cost),
       db::opt_value(last), format_iso8601(system_clock().now())});
}

namespace {

void notify_status(notify::Notifier& notifier, queue::JobContext& ctx, int64_t order_id,
                   const std::string& status, Decimal total, int64_t customer_id,
                   int64_t created_by) {
  OrderStatusNotification n(order_id, status, total, customer_id, created_by);
  notifier.send(ctx.db(), notify::staff_recipients(ctx.db(), n), n);
}

}  // namespace

void register_sales(events::EventBus& bus, notify::Notifier& notifier) {
  if (bus.registry().contains(OrderCreated::kName)) return;
  bus.registry().add<OrderCreated>();
  const events::ListenerOptions options{.tries = 3, .timeout_s = 60};
  bus.listen<OrderFulfilled>(
      "UpdateInventoryOnSale",
      [](const OrderFulfilled& e, queue::JobContext& ctx) {
        std::set<int64_t> products;
        for (const auto& l : e.data().lines) products.insert(l.product_id);
        for (int64_t p : products) recount_product_sales(ctx.db(), p);
      },
      options);
  bus.listen<OrderFulfilled>(
      "UpdateCustomerStatistics",
      [&bus](const OrderFulfilled& e, queue::JobContext& ctx) {
        crm::CrmService(ctx.db(), bus).recalculate_statistics(e.data().customer_id);
      },
      options);
  bus.listen<OrderApproved>(
      "SendOrderStatusNotification",
      [&notifier](const OrderApproved& e, queue::JobContext& ctx) {
        const auto& d = e.data();
        notify_status(notifier, ctx, d.order_id, "approved", d.total, d.customer_id, d.created_by);
      },
      options);
  bus.listen<OrderFulfilled>(
      "SendOrderStatusNotification",
      [&notifier](const OrderFulfilled& e, queue::JobContext& ctx) {
        const auto& d = e.data();
        notify_status(notifier, ctx, d.order_id, "fulfilled", d.total, d.customer_id, d.created_by);
      },
      options);
}

}  // namespace unity::erp::sales
