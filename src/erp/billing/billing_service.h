#pragma once
// Billing (DESIGN.md module `billing`): invoices with lines, and payments. One invoice per order,
// issued when the order is approved (GenerateInvoiceFromOrder), due after the customer's payment
// terms. Each write and its event (InvoiceGenerated, InvoicePaymentReceived, InvoiceOverdue)
// happen in one transaction.
//
// Status: issued → partially_paid → paid; the daily scan marks an unpaid invoice past its due date
// overdue (InvoiceOverdue, once: the status changes); a payment that settles an overdue invoice
// makes it paid, a partial one leaves it overdue.
//
// Concurrency: a payment first locks the invoice row, then checks the balance, so two concurrent
// payments never together exceed it.
//
// Errors: malformed input (amount not > 0, bad decimal, unknown field) → kInvalidArgument; unknown
// invoice or order, or one of another tenant → kNotFound; paying more than the balance, paying a
// paid invoice, invoicing a draft or cancelled order → kFailedPrecondition; nothing changed.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "core/decimal.h"
#include "db/connection.h"
#include "erp/billing/events.h"
#include "events/event_bus.h"

namespace unity::erp::billing {

struct Invoice {
  int64_t id = 0;
  int64_t order_id = 0;
  int64_t customer_id = 0;
  std::string status;  // issued | partially_paid | paid | overdue
  Decimal total;
  Decimal paid;
  Decimal balance() const { return total - paid; }
  std::string issued_at;
  std::string due_date;  // YYYY-MM-DD
  std::optional<std::string> paid_at;
};

// invoice:pay {invoice_id, amount}.
struct PaymentDraft {
  int64_t invoice_id = 0;
  Decimal amount;
  static PaymentDraft from_json(const nlohmann::json& data);
};

struct PaymentResult {
  int64_t payment_id = 0;
  Invoice invoice;
};

class BillingService {
 public:
  BillingService(db::Connection& conn, events::EventDispatcher& events,
                 std::optional<int64_t> user_id = std::nullopt,
                 const Clock& clock = system_clock());

  // The order's invoice, issued now if it has none (InvoiceGenerated); an existing one is returned
  // unchanged, so GenerateInvoiceFromOrder can run twice.
  Invoice issue_for_order(int64_t order_id);
  PaymentResult pay(const PaymentDraft& payment);
  Invoice find(int64_t invoice_id);

  // The daily scan as of `as_of` (YYYY-MM-DD): unpaid invoices due before it become overdue.
  // Returns the invoices marked by this call.
  std::vector<InvoiceOverdueData> check_overdue(const std::string& as_of);

 private:
  db::Connection& conn_;
  events::EventDispatcher& events_;
  std::optional<int64_t> user_id_;
  const Clock& clock_;
};

}  // namespace unity::erp::billing
