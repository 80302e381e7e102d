#pragma once
// Shared checks for domain input (DESIGN.md "Domain command inputs"): every failure is
// Error(kInvalidArgument) naming the field, raised before anything is written. They run in the
// domain layer, so both drivers refuse the same input (PostgreSQL would refuse a NUL where SQLite
// stores it) and imports, sync and the commands share them.
//
// Text: valid UTF-8 without control characters (U+0000-U+001F, U+007F-U+009F: NUL, tab, newline,
// escape ...). Money and quantities: at most kMaxAmount in magnitude, and so is every line total
// (quantity x price or cost) and document total the domain stores (orders, purchase orders, a
// receipt's value, a product's on-hand). With every stored amount at most 10^12, a sum of up to
// 922 of them fits a Decimal (+-922,337,203,685,477.5807); a sum past that fails with
// kInvalidArgument "decimal overflow ..." (never a wrong number).

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/decimal.h"

namespace unity::erp {

// The bound on every amount and quantity: 1,000,000,000,000 (10^12), 4 decimal places.
inline constexpr Decimal kMaxAmount = Decimal::from_mantissa(1'000'000'000'000 * 10'000);

// Throws when `object` has a field not in `allowed` ("unknown field \"prise\""), or when one of
// its string values breaks check_plain_text (so a SKU or code used only to look a row up is
// checked too).
void reject_unknown_fields(const nlohmann::json& object,
                           std::initializer_list<std::string_view> allowed);
// Throws unless valid UTF-8 without control characters ("field \"name\" must not contain control
// characters (U+0000)").
void check_plain_text(std::string_view field, std::string_view value);
// Throws unless 1..max_len bytes of plain text (check_plain_text).
void check_text(std::string_view field, const std::string& value, size_t max_len);
// Throws unless a plausible address: 3..254 characters, one '@' with text on both sides, no spaces
// or control characters.
void check_email(std::string_view field, const std::string& value);
// Throws when two of `keys` are equal ("SKU 'A-1' is given twice"): the keys a bulk insert
// matches its RETURNING rows by must be distinct. Takes the keys by value (sorts them).
void refuse_repeated(std::string_view what, std::vector<std::string> keys);
// Throws unless |value| <= kMaxAmount.
void check_amount(std::string_view field, Decimal value);
// Throws unless 0 <= value <= kMaxAmount (or 0 < value when `positive`).
void check_non_negative(std::string_view field, Decimal value);
void check_positive(std::string_view field, Decimal value);
// quantity x price rounded to 4 places; throws unless |result| <= kMaxAmount ("line total of 2 x
// 900000000000 is above the limit ...").
Decimal line_total(Decimal quantity, Decimal price);
// total + amount; throws unless |result| <= kMaxAmount, naming `what` ("order total").
Decimal add_to_total(std::string_view what, Decimal total, Decimal amount);
// A calendar date "YYYY-MM-DD"; returns it unchanged or throws.
std::string check_date(std::string_view field, const std::string& value);
// Decimals as the database stores them: 4 fraction digits ("12.5000").
inline std::string db_decimal(Decimal d) { return d.to_string(4); }
// Zero as stored: `quantity_remaining <> $n` with this finds batches with stock left on both
// drivers (SQLite compares the canonical text, PostgreSQL the NUMERIC).
inline const std::string kDbZero = "0.0000";

}  // namespace unity::erp
