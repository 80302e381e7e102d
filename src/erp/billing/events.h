#pragma once
// Billing events (the seed's InvoiceGenerated, InvoicePaymentReceived, InvoiceOverdue).

#include <cstdint>
#include <string>

#include "core/decimal.h"
#include "erp/data_event.h"

namespace unity::erp::billing {

struct InvoiceGeneratedData {
  static constexpr std::string_view kName = "InvoiceGenerated";
  static constexpr std::string_view kAggregate = "invoice";
  int64_t invoice_id = 0;
  int64_t order_id = 0;
  int64_t customer_id = 0;
  Decimal total;
  std::string due_date;  // YYYY-MM-DD
  int64_t aggregate_id() const { return invoice_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InvoiceGeneratedData, invoice_id, order_id, customer_id, total,
                                   due_date)
using InvoiceGenerated = DataEvent<InvoiceGeneratedData>;

struct InvoicePaymentReceivedData {
  static constexpr std::string_view kName = "InvoicePaymentReceived";
  static constexpr std::string_view kAggregate = "invoice";
  int64_t invoice_id = 0;
  int64_t payment_id = 0;
  int64_t customer_id = 0;
  Decimal amount;
  Decimal paid;     // in total, after this payment
  Decimal balance;  // left to pay
  std::string status;
  int64_t aggregate_id() const { return invoice_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InvoicePaymentReceivedData, invoice_id, payment_id, customer_id,
                                   amount, paid, balance, status)
using InvoicePaymentReceived = DataEvent<InvoicePaymentReceivedData>;

struct InvoiceOverdueData {
  static constexpr std::string_view kName = "InvoiceOverdue";
  static constexpr std::string_view kAggregate = "invoice";
  int64_t invoice_id = 0;
  int64_t customer_id = 0;
  Decimal balance;
  std::string due_date;
  int64_t days_overdue = 0;
  int64_t aggregate_id() const { return invoice_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(InvoiceOverdueData, invoice_id, customer_id, balance, due_date,
                                   days_overdue)
using InvoiceOverdue = DataEvent<InvoiceOverdueData>;

}  // namespace unity::erp::billing
