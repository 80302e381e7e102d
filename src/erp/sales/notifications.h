#pragma once
// OrderStatusNotification: an order was approved or fulfilled. For users holding sales.orders
// (sales, manager, admin) and always for the order's creator.

#include <cstdint>
#include <optional>
#include <string>

#include "core/decimal.h"
#include "notify/notification.h"

namespace unity::erp::sales {

class OrderStatusNotification final : public notify::Notification {
 public:
  OrderStatusNotification(int64_t order_id, std::string status, Decimal total, int64_t customer_id,
                          int64_t created_by)
      : order_id_(order_id),
        status_(std::move(status)),
        total_(total),
        customer_id_(customer_id),
        created_by_(created_by) {}
  std::string_view type() const override { return "OrderStatusNotification"; }
  std::string_view permission() const override;
  std::optional<int64_t> author() const override {
    return created_by_ == 0 ? std::nullopt : std::optional<int64_t>(created_by_);
  }
  notify::DatabaseMessage to_database() const override;

 private:
  int64_t order_id_;
  std::string status_;
  Decimal total_;
  int64_t customer_id_, created_by_;
};

}  // namespace unity::erp::sales
