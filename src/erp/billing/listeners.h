#pragma once
// Billing listeners, all queued: GenerateInvoiceFromOrder (on OrderApproved: issues the invoice,
// which dispatches InvoiceGenerated), SendInvoiceToCustomer (on InvoiceGenerated: the customer's
// contacts) and SendPaymentConfirmation (on InvoicePaymentReceived: the contacts and staff with
// billing.payments). InvoiceOverdue is recorded with no listener, as in the seed.

#include "events/event_bus.h"
#include "notify/notifier.h"

namespace unity::erp::billing {

// Registers the billing event types and listeners once per bus (after the sales ones).
void register_billing(events::EventBus& bus, notify::Notifier& notifier);

}  // namespace unity::erp::billing
