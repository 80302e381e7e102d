#include "erp/catalog/listeners.h"

#include "erp/catalog/events.h"

namespace unity::erp::catalog {

namespace {
template <typename E>
void add_once(events::EventBus& bus) {
  if (!bus.registry().contains(E::kName)) bus.registry().add<E>();
}
}  // namespace

void register_catalog(events::EventBus& bus) {
  add_once<ProductCreated>(bus);
  add_once<ProductUpdated>(bus);
  add_once<ProductDeleted>(bus);
}

}  // namespace unity::erp::catalog
