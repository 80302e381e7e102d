#pragma once
// The billing notifications of the seed: InvoiceGeneratedNotification (to the customer's
// contacts) and PaymentReceivedNotification (to the contacts and to staff holding
// billing.payments). Both may go to customer contacts.

#include <cstdint>
#include <string>

#include "erp/billing/events.h"
#include "notify/notification.h"

namespace unity::erp::billing {

class InvoiceGeneratedNotification final : public notify::Notification {
 public:
  explicit InvoiceGeneratedNotification(const InvoiceGeneratedData& d) : d_(d) {}
  std::string_view type() const override { return "InvoiceGeneratedNotification"; }
  std::string_view permission() const override;
  bool to_contacts() const override { return true; }
  notify::DatabaseMessage to_database() const override;

 private:
  InvoiceGeneratedData d_;
};

class PaymentReceivedNotification final : public notify::Notification {
 public:
  explicit PaymentReceivedNotification(const InvoicePaymentReceivedData& d) : d_(d) {}
  std::string_view type() const override { return "PaymentReceivedNotification"; }
  std::string_view permission() const override;
  bool to_contacts() const override { return true; }
  notify::DatabaseMessage to_database() const override;

 private:
  InvoicePaymentReceivedData d_;
};

}  // namespace unity::erp::billing
