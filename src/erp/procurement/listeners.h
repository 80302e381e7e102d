#pragma once
// Procurement's listeners: NotifyPurchaseOrderApproval (queued, on PurchaseOrderApproved) sends
// PurchaseOrderApprovedNotification to the tenant's users holding procurement.orders and to the
// order's creator. GoodsReceived is registered for the audit trail; the stock it brought in was
// recorded by the inventory module in the same transaction, so it has no listener yet.

#include "events/event_bus.h"
#include "notify/notifier.h"

namespace unity::erp::procurement {

// Registers the procurement event types and listeners. `notifier` must outlive the bus's workers.
// Call once per bus (listeners already registered throw kAlreadyExists); wire_erp guards it.
void register_procurement(events::EventBus& bus, notify::Notifier& notifier);

}  // namespace unity::erp::procurement
