#pragma once
// CRM (DESIGN.md module `crm`): customers with their contacts and statistics, and leads. Each
// write and its event (CustomerCreated, LeadConverted) happen in one transaction.
//
// Statistics (orders_count, total_spent, average_order_value, last_order_at) are kept on the
// customer by recalculate_statistics(), which UpdateCustomerStatistics runs after a fulfilment:
// a full recount from the customer's fulfilled orders, so running it twice changes nothing.
//
// Errors: malformed input → kInvalidArgument (naming the field; nothing written); an unknown
// customer or lead, or one of another tenant → kNotFound; an email already used by another
// customer of the tenant → kAlreadyExists; converting a lead twice → kFailedPrecondition; no
// tenant context → kFailedPrecondition. Not thread-safe (like the connection).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "core/decimal.h"
#include "db/connection.h"
#include "events/event_bus.h"

namespace unity::erp::crm {

struct Contact {
  int64_t id = 0;
  std::string name;
  std::string email;
};

struct Customer {
  int64_t id = 0;
  std::string name;
  std::optional<std::string> email;
  int64_t payment_terms_days = 30;
  std::optional<int64_t> lead_id;
  std::vector<Contact> contacts;
  int64_t orders_count = 0;
  Decimal total_spent;
  Decimal average_order_value;
  std::optional<std::string> last_order_at;
  Decimal outstanding_balance;  // unpaid invoice balances, computed when read
  std::string created_at;
};

// customer:create {name, email?, payment_terms_days? (0..365, default 30), contacts?:[{name,
// email}]}.
struct CustomerDraft {
  std::string name;
  std::optional<std::string> email;
  int64_t payment_terms_days = 30;
  std::vector<Contact> contacts;
  static CustomerDraft from_json(const nlohmann::json& data);
};

struct Lead {
  int64_t id = 0;
  std::string name;
  std::optional<std::string> email;
  std::optional<std::string> company;
  std::string status;  // new | converted
  std::optional<int64_t> customer_id;
  std::string created_at;
};

// lead:create {name, email?, company?}.
struct LeadDraft {
  std::string name;
  std::optional<std::string> email;
  std::optional<std::string> company;
  static LeadDraft from_json(const nlohmann::json& data);
};

inline constexpr size_t kCustomerBatch = 500;  // rows per INSERT of create_missing_customers

class CrmService {
 public:
  CrmService(db::Connection& conn, events::EventDispatcher& events,
             std::optional<int64_t> user_id = std::nullopt, const Clock& clock = system_clock());

  Customer create_customer(const CustomerDraft& draft);
  // The bulk form of create_customer, for imports: creates the drafts whose e-mail no customer of
  // the tenant has (case-insensitively, as the unique index on lower(email) compares), all or
  // none, with one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per kCustomerBatch drafts
  // and their CustomerCreated events (the same payloads as create_customer's) appended in bulk.
  // Every draft must have an e-mail and no contacts, and the e-mails must be distinct ignoring
  // ASCII case (kInvalidArgument; the checks of create_customer otherwise). Returns, in the
  // drafts' order, the new id, or nullopt where a customer already had the e-mail (nothing
  // written for it: the caller updates it if it wants).
  std::vector<std::optional<int64_t>> create_missing_customers(
      const std::vector<CustomerDraft>& drafts);
  // With contacts, statistics and the outstanding balance.
  Customer find_customer(int64_t id);

  Lead create_lead(const LeadDraft& draft);
  Lead find_lead(int64_t id);
  // Creates the customer (CustomerCreated) and marks the lead converted (LeadConverted).
  Customer convert_lead(int64_t lead_id);

  // Recounts the customer's statistics from its fulfilled orders.
  void recalculate_statistics(int64_t customer_id);

 private:
  Customer insert_customer(const CustomerDraft& draft, std::optional<int64_t> lead_id);

  db::Connection& conn_;
  events::EventDispatcher& events_;
  std::optional<int64_t> user_id_;
  const Clock& clock_;
};

}  // namespace unity::erp::crm
