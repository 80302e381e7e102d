#pragma once
// Sales listeners, all queued: UpdateInventoryOnSale and UpdateCustomerStatistics (on
// OrderFulfilled) and SendOrderStatusNotification (on OrderApproved and OrderFulfilled; ours: the
// seed has OrderStatusNotification but names no listener for it).
//
// UpdateInventoryOnSale recounts the product_sales row (quantity sold, revenue, cost of goods,
// last sale) of each product in the order from all its fulfilled lines, and
// UpdateCustomerStatistics recounts the customer's statistics (crm::CrmService): both are full
// recounts, so a redelivery changes nothing.

#include "events/event_bus.h"
#include "notify/notifier.h"

namespace unity::erp::sales {

// Registers the sales event types and listeners once per bus.
void register_sales(events::EventBus& bus, notify::Notifier& notifier);

// What UpdateInventoryOnSale does for one product (in the connection's tenant).
void recount_product_sales(db::Connection& conn, int64_t product_id);

}  // namespace unity::erp::sales
