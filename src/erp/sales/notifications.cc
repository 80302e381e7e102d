#include "erp/sales/notifications.h"

#include <nlohmann/json.hpp>

#include "notify/permissions.h"

namespace unity::erp::sales {

std::string_view OrderStatusNotification::permission() const { return notify::kSalesOrders; }

notify::DatabaseMessage OrderStatusNotification::to_database() const {
  const std::string id = std::to_string(order_id_);
  nlohmann::json meta = {{"order_id", order_id_},
                         {"status", status_},
                         {"total", total_.to_string()},
                         {"customer_id", customer_id_}};
  return {"Order " + id + " " + status_,
          "Order " + id + " (" + total_.to_string() + ") is now " + status_,
          status_ == "fulfilled" ? "success" : "info", "/orders/" + id, meta.dump()};
}

}  // namespace unity::erp::sales
