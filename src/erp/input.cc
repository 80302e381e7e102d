#include "erp/input.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"

namespace unity::erp {

void reject_unknown_fields(const nlohmann::json& object,
                           std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) throw invalid_argument("expected a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw invalid_argument("unknown field " + quote_for_message(key));
    }
  }
}

void check_text(std::string_view field, const std::string& value, size_t max_len) {
  if (value.empty() || value.size() > max_len) {
    throw invalid_argument("field \"" + std::string(field) + "\" must be 1 to " +
                           std::to_string(max_len) + " characters");
  }
}

void check_email(std::string_view field, const std::string& value) {
  const auto at = value.find('@');
  if (value.size() < 3 || value.size() > 254 || at == std::string::npos || at == 0 ||
      at + 1 == value.size() || value.find('@', at + 1) != std::string::npos ||
      value.find_first_of(" \t\r\n") != std::string::npos) {
    throw invalid_argument("field \"" + std::string(field) + "\" must be an email address, got " +
                           quote_for_message(value));
  }
}

void check_non_negative(std::string_view field, Decimal value) {
  if (value.is_negative()) {
    throw invalid_argument("field \"" + std::string(field) + "\" must not be negative, got " +
                           value.to_string());
  }
}

void check_positive(std::string_view field, Decimal value) {
  if (value.is_negative() || value.is_zero()) {
    throw invalid_argument("field \"" + std::string(field) + "\" must be greater than zero, got " +
                           value.to_string());
  }
}

std::string check_date(std::string_view field, const std::string& value) {
  if (value.size() != 10) {
    throw invalid_argument("field \"" + std::string(field) + "\" must be a date YYYY-MM-DD, got " +
                           quote_for_message(value));
  }
  try {
    parse_iso8601(value);
  } catch (const Error& e) {
    throw invalid_argument("field \"" + std::string(field) + "\": " + e.what());
  }
  return value;
}

}  // namespace unity::erp
