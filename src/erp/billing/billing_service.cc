#include "erp/billing/billing_service.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "erp/input.h"

namespace unity::erp::billing {

namespace {

std::chrono::sys_days day_of(const std::string& date) {
  return std::chrono::floor<std::chrono::days>(parse_iso8601(date));
}

std::string date_text(std::chrono::sys_days day) { return format_iso8601(day).substr(0, 10); }

Invoice invoice_from(const db::Row& r) {
  Invoice i;
  i.id = r.get<int64_t>(0);
  i.order_id = r.get<int64_t>(1);
  i.customer_id = r.get<int64_t>(2);
  i.status = r.get<std::string>(3);
  i.total = Decimal::parse(r.get<std::string>(4));
  i.paid = Decimal::parse(r.get<std::string>(5));
  i.issued_at = r.get<std::string>(6);
  i.due_date = r.get<std::string>(7).substr(0, 10);
  i.paid_at = r.get<std::optional<std::string>>(8);
  return i;
}

constexpr const char* kInvoiceColumns =
    "id, order_id, customer_id, status, total, paid, issued_at, due_date, paid_at";

}  // namespace

PaymentDraft PaymentDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"invoice_id", "amount"});
  PaymentDraft p{require_int(data, "invoice_id"), require_decimal(data, "amount")};
  check_positive("amount", p.amount);
  return p;
}

BillingService::BillingService(db::Connection& conn, events::EventDispatcher& events,
                               std::optional<int64_t> user_id, const Clock& clock)
    : conn_(conn), events_(events), user_id_(user_id), clock_(clock) {}

Invoice BillingService::find(int64_t invoice_id) {
  auto r = conn_.query_one(
      std::string("SELECT ") + kInvoiceColumns + " FROM invoices WHERE tenant_id = $1 AND id = $2",
      {conn_.require_tenant(), invoice_id});
  if (!r) throw not_found("invoice " + std::to_string(invoice_id) + " not found");
  return invoice_from(*r);
}

Invoice BillingService::issue_for_order(int64_t order_id) {
  const int64_t tenant = conn_.require_tenant();
  db::Transaction tx(conn_);
  auto order = conn_.query_one(
      "SELECT o.status, o.customer_id, o.total, c.payment_terms_days FROM orders o "
      "JOIN customers c ON c.id = o.customer_id WHERE o.tenant_id = $1 AND o.id = $2",
      {tenant, order_id});
  if (!order) throw not_found("order " + std::to_string(order_id) + " not found");
  if (auto existing = conn_.query_one("SELECT id FROM invoices WHERE tenant_id = $1 AND "
                                      "order_id = $2",
                                      {tenant, order_id})) {
    return find(existing->get<int64_t>(0));
  }
  const std::string status = order->get<std::string>(0);
  if (status != "approved" && status != "fulfilled") {
    throw failed_precondition("order " + std::to_string(order_id) + " is " + status +
                              "; only an approved order is invoiced");
  }
  const int64_t customer = order->get<int64_t>(1);
  const Decimal total = Decimal::parse(order->get<std::string>(2));
  const auto now = clock_.now();
  const std::string due = date_text(std::chrono::floor<std::chrono::days>(now) +
                                    std::chrono::days(order->get<int64_t>(3)));
  const std::string now_text = format_iso8601(now);
  const int64_t id = conn_.query_int(
      "INSERT INTO invoices (tenant_id, order_id, customer_id, status, total, paid, issued_at, "
      "due_date, created_at, updated_at) VALUES ($1, $2, $3, 'issued', $4, $5, $6, $7, $6, $6) "
      "RETURNING id",
      {tenant, order_id, customer, db_decimal(total), kDbZero, now_text, due});
  conn_.execute(
      "INSERT INTO invoice_lines (tenant_id, invoice_id, product_id, description, quantity, "
      "unit_price, line_total) SELECT ol.tenant_id, CAST($1 AS BIGINT), ol.product_id, p.sku || ' "
      "' || p.name, "
      "ol.quantity, ol.unit_price, ol.line_total FROM order_lines ol "
      "JOIN products p ON p.id = ol.product_id WHERE ol.tenant_id = $2 AND ol.order_id = $3 "
      "ORDER BY ol.id",
      {id, tenant, order_id});
  events_.dispatch(conn_, InvoiceGenerated(events::new_event_meta(tenant, user_id_, clock_),
                                           {id, order_id, customer, total, due}));
  Invoice invoice = find(id);
  tx.commit();
  return invoice;
}

PaymentResult BillingService::pay(const PaymentDraft& p) {
  const int64_t tenant = conn_.require_tenant();
  check_positive("amount", p.amount);
  db::Transaction tx(conn_);
  // A no-op update takes the row lock first (PostgreSQL): concurrent payments serialise here and
  // each sees the balance the previous one left.
  if (conn_.execute("UPDATE invoices SET paid = paid WHERE tenant_id = $1 AND id = $2",
                    {tenant, p.invoice_id}) == 0) {
    throw not_found("invoice " + std::to_string(p.invoice_id) + " not found");
  }
  Invoice before = find(p.invoice_id);
  if (before.status == "paid") {
    throw failed_precondition("invoice " + std::to_string(p.invoice_id) + " is already paid");
  }
  if (p.amount > before.balance()) {
    throw failed_precondition("payment of " + p.amount.to_string() + " is more than the balance " +
                              before.balance().to_string() + " of invoice " +
                              std::to_string(p.invoice_id));
  }
  const std::string now = format_iso8601(clock_.now());
  const Decimal paid = before.paid + p.amount;
  const bool settled = paid == before.total;
  const std::string status = settled                      ? "paid"
                             : before.status == "overdue" ? "overdue"
                                                          : "partially_paid";
  const int64_t payment_id = conn_.query_int(
      "INSERT INTO payments (tenant_id, invoice_id, amount, received_by, paid_at) "
      "VALUES ($1, $2, $3, $4, $5) RETURNING id",
      {tenant, p.invoice_id, db_decimal(p.amount), db::opt_value(user_id_), now});
  conn_.execute(
      "UPDATE invoices SET paid = $1, status = $2, paid_at = $3, updated_at = $4 "
      "WHERE tenant_id = $5 AND id = $6",
      {db_decimal(paid), status, settled ? db::Value(now) : db::kNull, now, tenant, p.invoice_id});
  events_.dispatch(conn_, InvoicePaymentReceived(events::new_event_meta(tenant, user_id_, clock_),
                                                 {p.invoice_id, payment_id, before.customer_id,
                                                  p.amount, paid, before.total - paid, status}));
  PaymentResult out{payment_id, find(p.invoice_id)};
  tx.commit();
  return out;
}

std::vector<InvoiceOverdueData> BillingService::check_overdue(const std::string& as_of) {
  const int64_t tenant = conn_.require_tenant();
  check_date("as_of", as_of);
  const auto today = day_of(as_of);
  db::Transaction tx(conn_);
  std::vector<InvoiceOverdueData> due;
  conn_.query_each(std::string("SELECT ") + kInvoiceColumns +
                       " FROM invoices WHERE tenant_id = $1 AND status IN ('issued', "
                       "'partially_paid') AND due_date < $2 ORDER BY due_date, id",
                   {tenant, as_of}, [&](const db::Row& r) {
                     Invoice i = invoice_from(r);
                     due.push_back({i.id, i.customer_id, i.balance(), i.due_date,
                                    (today - day_of(i.due_date)).count()});
                   });
  const std::string now = format_iso8601(clock_.now());
  std::vector<InvoiceOverdueData> marked;
  for (auto& d : due) {
    if (conn_.execute("UPDATE invoices SET status = 'overdue', overdue_at = $1, updated_at = $1 "
                      "WHERE tenant_id = $2 AND id = $3 AND status IN ('issued', "
                      "'partially_paid')",
                      {now, tenant, d.invoice_id}) == 0) {
      continue;
    }
    events_.dispatch(conn_,
                     InvoiceOverdue(events::new_event_meta(tenant, std::nullopt, clock_), d));
    marked.push_back(std::move(d));
  }
  tx.commit();
  return marked;
}

}  // namespace unity::erp::billing
