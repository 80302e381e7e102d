#pragma once
// CRM events (the seed's CustomerCreated and LeadConverted).

#include <cstdint>
#include <string>
#include <vector>

#include "erp/data_event.h"

namespace unity::erp::crm {

struct ContactData {
  int64_t id = 0;
  std::string name;
  std::string email;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ContactData, id, name, email)

struct CustomerCreatedData {
  static constexpr std::string_view kName = "CustomerCreated";
  static constexpr std::string_view kAggregate = "customer";
  int64_t customer_id = 0;
  std::string name;
  std::string email;  // empty when none
  int64_t payment_terms_days = 30;
  std::vector<ContactData> contacts;
  int64_t lead_id = 0;  // 0 unless created by converting a lead
  int64_t aggregate_id() const { return customer_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CustomerCreatedData, customer_id, name, email,
                                   payment_terms_days, contacts, lead_id)
using CustomerCreated = DataEvent<CustomerCreatedData>;

struct LeadConvertedData {
  static constexpr std::string_view kName = "LeadConverted";
  static constexpr std::string_view kAggregate = "lead";
  int64_t lead_id = 0;
  int64_t customer_id = 0;
  std::string name;
  std::string email;
  std::string company;
  int64_t aggregate_id() const { return lead_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LeadConvertedData, lead_id, customer_id, name, email, company)
using LeadConverted = DataEvent<LeadConvertedData>;

}  // namespace unity::erp::crm
