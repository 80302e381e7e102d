#include "erp/erp.h"

#include "erp/catalog/listeners.h"
#include "erp/inventory/events.h"
#include "erp/inventory/listeners.h"

namespace unity::erp {

void wire_erp(events::EventBus& bus, notify::Notifier& notifier) {
  catalog::register_catalog(bus);
  // LowStockDetected is registered together with its listener: its presence means done.
  if (!bus.registry().contains(inventory::LowStockDetected::kName)) {
    inventory::register_inventory(bus, notifier);
  }
}

}  // namespace unity::erp
