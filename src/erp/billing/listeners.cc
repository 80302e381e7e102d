#include "erp/billing/listeners.h"

#include "erp/billing/billing_service.h"
#include "erp/billing/notifications.h"
#include "erp/sales/events.h"
#include "queue/queues.h"

namespace unity::erp::billing {

namespace {

std::vector<notify::Notifiable> contacts_of(db::Connection& conn, int64_t customer_id) {
  std::vector<notify::Notifiable> out;
  conn.query_each(
      "SELECT id FROM customer_contacts WHERE tenant_id = $1 AND customer_id = $2 ORDER BY id",
      {conn.require_tenant(), customer_id},
      [&](const db::Row& r) { out.push_back(notify::Notifiable::contact(r.get<int64_t>(0))); });
  return out;
}

}  // namespace

void register_billing(events::EventBus& bus, notify::Notifier& notifier) {
  if (bus.registry().contains(InvoiceOverdue::kName)) return;
  bus.registry().add<InvoiceOverdue>();
  const events::ListenerOptions options{.tries = 3, .timeout_s = 60};
  bus.listen<sales::OrderApproved>(
      "GenerateInvoiceFromOrder",
      [&bus](const sales::OrderApproved& e, queue::JobContext& ctx) {
        BillingService(ctx.db(), bus, e.meta().user_id).issue_for_order(e.data().order_id);
      },
      options);
  bus.listen<InvoiceGenerated>(
      "SendInvoiceToCustomer",
      [&notifier](const InvoiceGenerated& e, queue::JobContext& ctx) {
        notifier.send(ctx.db(), contacts_of(ctx.db(), e.data().customer_id),
                      InvoiceGeneratedNotification(e.data()));
      },
      options);
  bus.listen<InvoicePaymentReceived>(
      "SendPaymentConfirmation",
      [&notifier](const InvoicePaymentReceived& e, queue::JobContext& ctx) {
        PaymentReceivedNotification n(e.data());
        auto to = contacts_of(ctx.db(), e.data().customer_id);
        for (const auto& u : notify::staff_recipients(ctx.db(), n)) to.push_back(u);
        notifier.send(ctx.db(), to, n);
      },
      {.queue = queue::kHighQueue, .tries = 3, .timeout_s = 60});
}

}  // namespace unity::erp::billing
