#pragma once
// The procurement notification of the seed: PurchaseOrderApprovedNotification, for users holding
// procurement.orders (procurement, manager, admin) and, whatever their role, the order's creator.

#include <optional>
#include <string>

#include "erp/procurement/events.h"
#include "notify/notification.h"

namespace unity::erp::procurement {

// Severity success; action URL /purchase-orders/<id>; metadata {purchase_order_id, vendor_id,
// vendor_name, total, created_by, approved_by, lines_count}.
class PurchaseOrderApprovedNotification final : public notify::Notification {
 public:
  explicit PurchaseOrderApprovedNotification(const PurchaseOrderApproved& e);
  std::string_view type() const override { return "PurchaseOrderApprovedNotification"; }
  std::string_view permission() const override;
  // The order's creator (none when no user created it).
  std::optional<int64_t> author() const override { return created_by_; }
  notify::DatabaseMessage to_database() const override;

 private:
  int64_t purchase_order_id_, vendor_id_;
  std::string vendor_name_, total_;
  std::optional<int64_t> created_by_, approved_by_;
  size_t lines_count_;
};

}  // namespace unity::erp::procurement
