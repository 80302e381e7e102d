#include "notify/permissions.h"

namespace unity::notify {

bool role_has_permission(std::string_view role, std::string_view permission) {
  if (permission.empty() || role == "admin" || role == "manager") return true;
  if (role == "inventory") return permission == kInventoryAlerts;
  if (role == "sales") return permission == kSalesOrders;
  if (role == "billing") return permission == kBillingPayments;
  if (role == "procurement") return permission == kProcurementOrders;
  return false;
}

}  // namespace unity::notify
