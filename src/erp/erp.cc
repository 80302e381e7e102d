#include "erp/erp.h"

#include "erp/billing/listeners.h"
#include "erp/catalog/listeners.h"
#include "erp/crm/events.h"
#include "erp/inventory/events.h"
#include "erp/inventory/listeners.h"
#include "erp/procurement/events.h"
#include "erp/procurement/listeners.h"
#include "erp/sales/listeners.h"

namespace unity::erp {

void wire_erp(events::EventBus& bus, notify::Notifier& notifier) {
  catalog::register_catalog(bus);
  // LowStockDetected is registered together with its listener: its presence means done.
  if (!bus.registry().contains(inventory::LowStockDetected::kName)) {
    inventory::register_inventory(bus, notifier);
  }
  if (!bus.registry().contains(crm::CustomerCreated::kName)) {
    bus.registry().add<crm::CustomerCreated>();
    bus.registry().add<crm::LeadConverted>();
  }
  sales::register_sales(bus, notifier);
  billing::register_billing(bus, notifier);
  // PurchaseOrderApproved is registered together with its listener: its presence means done.
  if (!bus.registry().contains(procurement::PurchaseOrderApproved::kName)) {
    procurement::register_procurement(bus, notifier);
  }
}

}  // namespace unity::erp
