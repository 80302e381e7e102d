#pragma once
// The updates ProcessBulkImport needs that the CRM and procurement services do not offer: a
// customer or vendor found by its natural key (e-mail, case-insensitively) gets the imported
// name (and, for customers, payment terms). No event: neither module defines an "updated" event.
// Both run on the caller's connection and transaction, in its tenant.

#include <cstdint>
#include <optional>
#include <string>

#include "db/connection.h"

namespace unity::jobs {

// The id of the tenant's customer with this e-mail, if any.
std::optional<int64_t> find_customer_by_email(db::Connection& conn, const std::string& email);
// Sets name (and payment_terms_days when given) of that customer; returns false when none.
bool update_customer_by_email(db::Connection& conn, const std::string& email,
                              const std::string& name, std::optional<int64_t> payment_terms_days,
                              const std::string& now);

std::optional<int64_t> find_vendor_by_email(db::Connection& conn, const std::string& email);
bool update_vendor_by_email(db::Connection& conn, const std::string& email, const std::string& name,
                            const std::string& now);

}  // namespace unity::jobs
