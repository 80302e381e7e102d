#pragma once
// Catalog event types (ProductCreated, ProductUpdated, ProductDeleted): registered so the audit
// trail and later listeners can rebuild them. No listeners yet.

#include "events/event_bus.h"

namespace unity::erp::catalog {

// Registers the catalog event types that are not registered yet.
void register_catalog(events::EventBus& bus);

}  // namespace unity::erp::catalog
