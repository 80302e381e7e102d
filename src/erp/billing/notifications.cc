#include "erp/billing/notifications.h"

#include <nlohmann/json.hpp>

#include "notify/permissions.h"

namespace unity::erp::billing {

std::string_view InvoiceGeneratedNotification::permission() const {
  return notify::kBillingPayments;
}

notify::DatabaseMessage InvoiceGeneratedNotification::to_database() const {
  const std::string id = std::to_string(d_.invoice_id);
  nlohmann::json meta = {{"invoice_id", d_.invoice_id},
                         {"order_id", d_.order_id},
                         {"customer_id", d_.customer_id},
                         {"total", d_.total.to_string()},
                         {"due_date", d_.due_date}};
  return {"Invoice " + id,
          "Invoice " + id + " for " + d_.total.to_string() + " is due on " + d_.due_date, "info",
          "/invoices/" + id, meta.dump()};
}

std::string_view PaymentReceivedNotification::permission() const {
  return notify::kBillingPayments;
}

notify::DatabaseMessage PaymentReceivedNotification::to_database() const {
  const std::string id = std::to_string(d_.invoice_id);
  nlohmann::json meta = {{"invoice_id", d_.invoice_id},
                         {"payment_id", d_.payment_id},
                         {"customer_id", d_.customer_id},
                         {"amount", d_.amount.to_string()},
                         {"paid", d_.paid.to_string()},
                         {"balance", d_.balance.to_string()},
                         {"status", d_.status}};
  return {"Payment received for invoice " + id,
          "Payment of " + d_.amount.to_string() + " received for invoice " + id + "; balance " +
              d_.balance.to_string(),
          "success", "/invoices/" + id, meta.dump()};
}

}  // namespace unity::erp::billing
