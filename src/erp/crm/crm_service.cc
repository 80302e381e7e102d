#include "erp/crm/crm_service.h"

#include <algorithm>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "core/text.h"
#include "db/transaction.h"
#include "db/values_sql.h"
#include "erp/crm/events.h"
#include "erp/input.h"

namespace unity::erp::crm {

namespace {

constexpr const char* kCustomerColumns =
    "id, name, email, payment_terms_days, lead_id, orders_count, total_spent, "
    "average_order_value, last_order_at, created_at";

void check_draft(const CustomerDraft& d) {
  check_text("name", d.name, 200);
  if (d.email) check_email("email", *d.email);
  if (d.payment_terms_days < 0 || d.payment_terms_days > 365) {
    throw invalid_argument("field \"payment_terms_days\" must be 0 to 365, got " +
                           std::to_string(d.payment_terms_days));
  }
  for (const auto& c : d.contacts) {
    check_text("contacts.name", c.name, 200);
    check_email("contacts.email", c.email);
  }
}

Lead lead_from(const db::Row& r) {
  return {r.get<int64_t>(0),
          r.get<std::string>(1),
          r.get<std::optional<std::string>>(2),
          r.get<std::optional<std::string>>(3),
          r.get<std::string>(4),
          r.get<std::optional<int64_t>>(5),
          r.get<std::string>(6)};
}

}  // namespace

CustomerDraft CustomerDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"name", "email", "payment_terms_days", "contacts"});
  CustomerDraft d;
  d.name = require_string(data, "name");
  d.email = optional_string(data, "email");
  d.payment_terms_days = optional_int(data, "payment_terms_days").value_or(30);
  if (data.contains("contacts")) {
    if (!data["contacts"].is_array()) throw invalid_argument("field \"contacts\" must be an array");
    for (const auto& c : data["contacts"]) {
      reject_unknown_fields(c, {"name", "email"});
      d.contacts.push_back({0, require_string(c, "name"), require_string(c, "email")});
    }
  }
  check_draft(d);
  return d;
}

LeadDraft LeadDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"name", "email", "company"});
  LeadDraft d{require_string(data, "name"), optional_string(data, "email"),
              optional_string(data, "company")};
  check_text("name", d.name, 200);
  if (d.email) check_email("email", *d.email);
  if (d.company) check_text("company", *d.company, 200);
  return d;
}

CrmService::CrmService(db::Connection& conn, events::EventDispatcher& events,
                       std::optional<int64_t> user_id, const Clock& clock)
    : conn_(conn), events_(events), user_id_(user_id), clock_(clock) {}

Customer CrmService::insert_customer(const CustomerDraft& d, std::optional<int64_t> lead_id) {
  const int64_t tenant = conn_.require_tenant();
  if (d.email && conn_.query_one("SELECT id FROM customers WHERE tenant_id = $1 AND "
                                 "lower(email) = lower($2)",
                                 {tenant, *d.email})) {
    throw already_exists("a customer with email " + quote_for_message(*d.email) +
                         " already exists");
  }
  const std::string now = format_iso8601(clock_.now());
  const int64_t id = conn_.query_int(
      "INSERT INTO customers (tenant_id, name, email, payment_terms_days, lead_id, created_at, "
      "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
      {tenant, d.name, db::opt_value(d.email), d.payment_terms_days, db::opt_value(lead_id), now});
  CustomerCreatedData data{
      id, d.name, d.email.value_or(""), d.payment_terms_days, {}, lead_id.value_or(0)};
  for (const auto& c : d.contacts) {
    const int64_t contact_id = conn_.query_int(
        "INSERT INTO customer_contacts (tenant_id, customer_id, name, email, created_at) "
        "VALUES ($1, $2, $3, $4, $5) RETURNING id",
        {tenant, id, c.name, c.email, now});
    data.contacts.push_back({contact_id, c.name, c.email});
  }
  events_.dispatch(conn_, CustomerCreated(events::new_event_meta(tenant, user_id_, clock_), data));
  return find_customer(id);
}

Customer CrmService::create_customer(const CustomerDraft& d) {
  conn_.require_tenant();
  check_draft(d);
  db::Transaction tx(conn_);
  Customer c = insert_customer(d, std::nullopt);
  tx.commit();
  return c;
}

std::vector<std::optional<int64_t>> CrmService::create_missing_customers(
    const std::vector<CustomerDraft>& drafts) {
  const int64_t tenant = conn_.require_tenant();
  {
    std::vector<std::string> keys;
    keys.reserve(drafts.size());
    for (const auto& d : drafts) {
      check_draft(d);
      if (!d.email) throw invalid_argument("field \"email\" is required");
      if (!d.contacts.empty()) throw invalid_argument("field \"contacts\" is not taken in bulk");
      keys.push_back(ascii_lower(*d.email));
    }
    refuse_repeated("email", std::move(keys));
  }
  db::Transaction tx(conn_);
  const std::string now = format_iso8601(clock_.now());
  // RETURNING's order is not guaranteed: match by the e-mail, returned as it was given.
  std::map<std::string, int64_t> id_of;
  for (size_t start = 0; start < drafts.size(); start += kCustomerBatch) {
    const size_t n = std::min(kCustomerBatch, drafts.size() - start);
    db::Params p{tenant, now};  // $1, $2: shared by every row
    for (size_t i = start; i < start + n; ++i) {
      p.add(drafts[i].name).add(*drafts[i].email).add(drafts[i].payment_terms_days);
    }
    conn_.query_each(
        "INSERT INTO customers (tenant_id, name, email, payment_terms_days, lead_id, created_at, "
        "updated_at) VALUES " +
            db::values_sql(n, 3, 3, "$1, ", ", NULL, $2, $2") +
            " ON CONFLICT (tenant_id, lower(email)) WHERE email IS NOT NULL DO NOTHING "
            "RETURNING id, email",
        p, [&id_of](const db::Row& r) { id_of.emplace(r.get<std::string>(1), r.get<int64_t>(0)); });
  }
  std::vector<std::optional<int64_t>> ids;
  ids.reserve(drafts.size());
  std::vector<std::unique_ptr<CustomerCreated>> created;
  created.reserve(id_of.size());
  std::vector<const events::Event*> list;
  list.reserve(id_of.size());
  for (const auto& d : drafts) {
    auto it = id_of.find(*d.email);
    if (it == id_of.end()) {
      ids.emplace_back(std::nullopt);
      continue;
    }
    ids.emplace_back(it->second);
    created.push_back(std::make_unique<CustomerCreated>(
        events::new_event_meta(tenant, user_id_, clock_),
        CustomerCreatedData{it->second, d.name, *d.email, d.payment_terms_days, {}, 0}));
    list.push_back(created.back().get());
  }
  events_.dispatch_all(conn_, list);
  tx.commit();
  return ids;
}

Customer CrmService::find_customer(int64_t id) {
  const int64_t tenant = conn_.require_tenant();
  auto r = conn_.query_one(std::string("SELECT ") + kCustomerColumns +
                               " FROM customers WHERE tenant_id = $1 AND id = $2",
                           {tenant, id});
  if (!r) throw not_found("customer " + std::to_string(id) + " not found");
  Customer c;
  c.id = r->get<int64_t>(0);
  c.name = r->get<std::string>(1);
  c.email = r->get<std::optional<std::string>>(2);
  c.payment_terms_days = r->get<int64_t>(3);
  c.lead_id = r->get<std::optional<int64_t>>(4);
  c.orders_count = r->get<int64_t>(5);
  c.total_spent = Decimal::parse(r->get<std::string>(6));
  c.average_order_value = Decimal::parse(r->get<std::string>(7));
  c.last_order_at = r->get<std::optional<std::string>>(8);
  c.created_at = r->get<std::string>(9);
  conn_.query_each(
      "SELECT id, name, email FROM customer_contacts WHERE tenant_id = $1 AND customer_id = $2 "
      "ORDER BY id",
      {tenant, id}, [&](const db::Row& row) {
        c.contacts.push_back(
            {row.get<int64_t>(0), row.get<std::string>(1), row.get<std::string>(2)});
      });
  conn_.query_each(
      "SELECT total, paid FROM invoices WHERE tenant_id = $1 AND customer_id = $2 AND "
      "status <> 'paid'",
      {tenant, id}, [&](const db::Row& row) {
        c.outstanding_balance +=
            Decimal::parse(row.get<std::string>(0)) - Decimal::parse(row.get<std::string>(1));
      });
  return c;
}

Lead CrmService::create_lead(const LeadDraft& d) {
  const int64_t tenant = conn_.require_tenant();
  check_text("name", d.name, 200);
  const std::string now = format_iso8601(clock_.now());
  const int64_t id = conn_.query_int(
      "INSERT INTO leads (tenant_id, name, email, company, status, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, 'new', $5, $5) RETURNING id",
      {tenant, d.name, db::opt_value(d.email), db::opt_value(d.company), now});
  return find_lead(id);
}

Lead CrmService::find_lead(int64_t id) {
  auto r = conn_.query_one(
      "SELECT id, name, email, company, status, customer_id, created_at FROM leads "
      "WHERE tenant_id = $1 AND id = $2",
      {conn_.require_tenant(), id});
  if (!r) throw not_found("lead " + std::to_string(id) + " not found");
  return lead_from(*r);
}

Customer CrmService::convert_lead(int64_t lead_id) {
  const int64_t tenant = conn_.require_tenant();
  db::Transaction tx(conn_);
  Lead lead = find_lead(lead_id);
  const std::string now = format_iso8601(clock_.now());
  // The conditional update is the guard: of two concurrent conversions one changes the row.
  if (conn_.execute("UPDATE leads SET status = 'converted', converted_at = $1, updated_at = $1 "
                    "WHERE tenant_id = $2 AND id = $3 AND status = 'new'",
                    {now, tenant, lead_id}) == 0) {
    throw failed_precondition("lead " + std::to_string(lead_id) + " is already converted");
  }
  CustomerDraft draft{lead.name, lead.email, 30, {}};
  Customer c = insert_customer(draft, lead_id);
  conn_.execute("UPDATE leads SET customer_id = $1 WHERE tenant_id = $2 AND id = $3",
                {c.id, tenant, lead_id});
  events_.dispatch(conn_, LeadConverted(events::new_event_meta(tenant, user_id_, clock_),
                                        {lead_id, c.id, lead.name, lead.email.value_or(""),
                                         lead.company.value_or("")}));
  tx.commit();
  return c;
}

void CrmService::recalculate_statistics(int64_t customer_id) {
  const int64_t tenant = conn_.require_tenant();
  int64_t count = 0;
  Decimal spent;
  std::optional<std::string> last;
  conn_.query_each(
      "SELECT total, fulfilled_at FROM orders WHERE tenant_id = $1 AND customer_id = $2 AND "
      "status = 'fulfilled' ORDER BY fulfilled_at",
      {tenant, customer_id}, [&](const db::Row& r) {
        ++count;
        spent += Decimal::parse(r.get<std::string>(0));
        last = r.get<std::string>(1);
      });
  const Decimal average = count == 0 ? Decimal() : spent / Decimal::from_units(count);
  conn_.execute(
      "UPDATE customers SET orders_count = $1, total_spent = $2, average_order_value = $3, "
      "last_order_at = $4, statistics_updated_at = $5 WHERE tenant_id = $6 AND id = $7",
      {count, db_decimal(spent), db_decimal(average), db::opt_value(last),
       format_iso8601(clock_.now()), tenant, customer_id});
}

}  // namespace unity::erp::crm
