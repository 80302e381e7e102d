#pragma once
// Roles → permissions (DESIGN.md "Domain rules"): admin and manager hold all; inventory holds
// inventory.alerts; sales sales.orders; billing billing.payments; procurement procurement.orders.

#include <string_view>

namespace unity::notify {

inline constexpr std::string_view kInventoryAlerts = "inventory.alerts";
inline constexpr std::string_view kSalesOrders = "sales.orders";
inline constexpr std::string_view kBillingPayments = "billing.payments";
inline constexpr std::string_view kProcurementOrders = "procurement.orders";

// An empty permission is held by every role.
bool role_has_permission(std::string_view role, std::string_view permission);

}  // namespace unity::notify
