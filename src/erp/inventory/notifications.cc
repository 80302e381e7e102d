#include "erp/inventory/notifications.h"

#include <nlohmann/json.hpp>

#include "notify/permissions.h"

namespace unity::erp::inventory {

LowStockNotification::LowStockNotification(const LowStockDetected& e)
    : product_id_(e.product_id()),
      sku_(e.sku()),
      name_(e.product_name()),
      on_hand_(e.on_hand().to_string()),
      reorder_level_(e.reorder_level().to_string()),
      location_(e.location()) {}

std::string_view LowStockNotification::permission() const { return notify::kInventoryAlerts; }

notify::DatabaseMessage LowStockNotification::to_database() const {
  nlohmann::json meta = {{"product_id", product_id_},
                         {"sku", sku_},
                         {"on_hand", on_hand_},
                         {"reorder_level", reorder_level_},
                         {"location", location_}};
  return {"Low stock: " + sku_,
          name_ + " (" + sku_ + ") is down to " + on_hand_ + ", below its reorder level of " +
              reorder_level_,
          "warning", "/products/" + std::to_string(product_id_), meta.dump()};
}

std::string_view StockExpiryNotification::permission() const { return notify::kInventoryAlerts; }

notify::DatabaseMessage StockExpiryNotification::to_database() const {
  const auto& b = batch_;
  nlohmann::json meta = {{"batch_id", b.batch_id},
                         {"product_id", b.product_id},
                         {"sku", b.sku},
                         {"batch", b.batch},
                         {"location", b.location},
                         {"quantity_remaining", b.quantity_remaining.to_string()},
                         {"expiry_date", b.expiry_date},
                         {"days_left", b.days_left}};
  const std::string when = b.days_left < 0    ? "expired on " + b.expiry_date
                           : b.days_left == 0 ? "expires today"
                                              : "expires in " + std::to_string(b.days_left) +
                                                    " days (" + b.expiry_date + ")";
  return {"Stock expiring: " + b.sku + " batch " + b.batch,
          b.quantity_remaining.to_string() + " of " + b.sku + " (batch " + b.batch + ", " +
              b.location + ") " + when,
          b.severity, "/products/" + std::to_string(b.product_id), meta.dump()};
}

}  // namespace unity::erp::inventory
