#include "erp/procurement/notifications.h"

#include <nlohmann/json.hpp>

#include "notify/permissions.h"

namespace unity::erp::procurement {

PurchaseOrderApprovedNotification::PurchaseOrderApprovedNotification(const PurchaseOrderApproved& e)
    : purchase_order_id_(e.purchase_order_id()),
      vendor_id_(e.vendor_id()),
      vendor_name_(e.vendor_name()),
      total_(e.total().to_string()),
      created_by_(e.created_by()),
      approved_by_(e.approved_by()),
      lines_count_(e.lines().size()) {}

std::string_view PurchaseOrderApprovedNotification::permission() const {
  return notify::kProcurementOrders;
}

notify::DatabaseMessage PurchaseOrderApprovedNotification::to_database() const {
  const std::string po = "Purchase order #" + std::to_string(purchase_order_id_);
  nlohmann::json meta = {{"purchase_order_id", purchase_order_id_},
                         {"vendor_id", vendor_id_},
                         {"vendor_name", vendor_name_},
                         {"total", total_},
                         {"created_by", detail::opt_int(created_by_)},
                         {"approved_by", detail::opt_int(approved_by_)},
                         {"lines_count", lines_count_}};
  return {po + " approved",
          po + " to " + vendor_name_ + " for " + total_ + " (" + std::to_string(lines_count_) +
              (lines_count_ == 1 ? " line" : " lines") + ") was approved",
          "success", "/purchase-orders/" + std::to_string(purchase_order_id_), meta.dump()};
}

}  // namespace unity::erp::procurement
