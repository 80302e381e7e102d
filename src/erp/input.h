#pragma once
// Shared checks for domain input (DESIGN.md "Domain command inputs"): every failure is
// Error(kInvalidArgument) naming the field, raised before anything is written.

#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/decimal.h"

namespace unity::erp {

// Throws when `object` has a field not in `allowed` ("unknown field \"prise\"").
void reject_unknown_fields(const nlohmann::json& object,
                           std::initializer_list<std::string_view> allowed);
// Throws unless 1..max_len characters.
void check_text(std::string_view field, const std::string& value, size_t max_len);
// Throws unless a plausible address: 3..254 characters, one '@' with text on both sides, no spaces.
void check_email(std::string_view field, const std::string& value);
// Throws unless value >= 0 (or > 0 when `positive`).
void check_non_negative(std::string_view field, Decimal value);
void check_positive(std::string_view field, Decimal value);
// A calendar date "YYYY-MM-DD"; returns it unchanged or throws.
std::string check_date(std::string_view field, const std::string& value);
// Decimals as the database stores them: 4 fraction digits ("12.5000").
inline std::string db_decimal(Decimal d) { return d.to_string(4); }
// Zero as stored: `quantity_remaining <> $n` with this finds batches with stock left on both
// drivers (SQLite compares the canonical text, PostgreSQL the NUMERIC).
inline const std::string kDbZero = "0.0000";

}  // namespace unity::erp
