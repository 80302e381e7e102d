#pragma once
// The inventory notifications of the seed: LowStockNotification and StockExpiryNotification, for
// users holding inventory.alerts (inventory, manager, admin).

#include <string>

#include "erp/inventory/events.h"
#include "notify/notification.h"

namespace unity::erp::inventory {

// Severity warning; metadata {product_id, sku, on_hand, reorder_level, location}.
class LowStockNotification final : public notify::Notification {
 public:
  explicit LowStockNotification(const LowStockDetected& e);
  std::string_view type() const override { return "LowStockNotification"; }
  std::string_view permission() const override;
  notify::DatabaseMessage to_database() const override;

 private:
  int64_t product_id_;
  std::string sku_, name_, on_hand_, reorder_level_, location_;
};

// Severity by days left (the event's: critical, warning, info); metadata {batch_id, product_id,
// sku, batch, location, quantity_remaining, expiry_date, days_left}.
class StockExpiryNotification final : public notify::Notification {
 public:
  explicit StockExpiryNotification(const StockExpiring& e) : batch_(e.batch()) {}
  std::string_view type() const override { return "StockExpiryNotification"; }
  std::string_view permission() const override;
  notify::DatabaseMessage to_database() const override;

 private:
  ExpiringBatch batch_;
};

}  // namespace unity::erp::inventory
