#pragma once
// Inventory's listeners: SendLowStockNotification (on LowStockDetected) and SendStockExpiryAlert
// (on StockExpiring), both queued, both notifying the tenant's users holding inventory.alerts.

#include "events/event_bus.h"
#include "notify/notifier.h"

namespace unity::erp::inventory {

// Registers the inventory event types and listeners. `notifier` must outlive the bus's workers.
// Call once per bus (listeners already registered throw kAlreadyExists).
void register_inventory(events::EventBus& bus, notify::Notifier& notifier);

}  // namespace unity::erp::inventory
