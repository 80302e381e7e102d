#include "erp/inventory/listeners.h"

#include "erp/inventory/events.h"
#include "erp/inventory/notifications.h"
#include "notify/permissions.h"
#include "queue/queues.h"

namespace unity::erp::inventory {

void register_inventory(events::EventBus& bus, notify::Notifier& notifier) {
  if (!bus.registry().contains(StockMovementRecorded::kName)) {
    bus.registry().add<StockMovementRecorded>();
  }
  bus.listen<LowStockDetected>(
      "SendLowStockNotification",
      [&notifier](const LowStockDetected& e, queue::JobContext& ctx) {
        notifier.send(ctx.db(), notify::users_with_permission(ctx.db(), notify::kInventoryAlerts),
                      LowStockNotification(e));
      },
      {.queue = queue::kHighQueue, .tries = 3, .timeout_s = 60});
  bus.listen<StockExpiring>(
      "SendStockExpiryAlert",
      [&notifier](const StockExpiring& e, queue::JobContext& ctx) {
        notifier.send(ctx.db(), notify::users_with_permission(ctx.db(), notify::kInventoryAlerts),
                      StockExpiryNotification(e));
      },
      {.queue = queue::kHighQueue, .tries = 3, .timeout_s = 60});
}

}  // namespace unity::erp::inventory
