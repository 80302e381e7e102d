#pragma once
// The ERP layer's wiring: every module's event types and listeners on one bus.

#include "events/event_bus.h"
#include "notify/notifier.h"

namespace unity::erp {

// Registers the catalog and inventory event types and listeners. Idempotent: a second call on
// the same bus does nothing. `notifier` must outlive the workers that run the listeners.
void wire_erp(events::EventBus& bus, notify::Notifier& notifier);

}  // namespace unity::erp
