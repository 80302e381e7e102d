#include "erp/procurement/listeners.h"

#include "erp/procurement/events.h"
#include "erp/procurement/notifications.h"

namespace unity::erp::procurement {

void register_procurement(events::EventBus& bus, notify::Notifier& notifier) {
  if (!bus.registry().contains(GoodsReceived::kName)) bus.registry().add<GoodsReceived>();
  bus.listen<PurchaseOrderApproved>(
      "NotifyPurchaseOrderApproval",
      [&notifier](const PurchaseOrderApproved& e, queue::JobContext& ctx) {
        const PurchaseOrderApprovedNotification n(e);
        notifier.send(ctx.db(), notify::staff_recipients(ctx.db(), n), n);
      },
      {.tries = 3, .timeout_s = 60});
}

}  // namespace unity::erp::procurement
