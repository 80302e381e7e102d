#include "erp/input.h"

#include <algorithm>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"

namespace unity::erp {

namespace {

std::string field_name(std::string_view field) { return "field \"" + std::string(field) + "\""; }

// "U+000A" for a code point.
std::string code_point_text(uint32_t cp) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "U+";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
  return out;
}

// The length of the UTF-8 sequence at text[i] and its code point; 0 when malformed (bad lead
// byte, truncated, bad continuation, overlong, surrogate or above U+10FFFF).
size_t decode_utf8(std::string_view text, size_t i, uint32_t& cp) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t len = 0;
  if (lead < 0x80) {
    cp = lead;
    return 1;
  }
  if ((lead & 0xE0) == 0xC0) {
    len = 2, cp = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3, cp = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4, cp = lead & 0x07;
  } else {
    return 0;
  }
  if (i + len > text.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMinOf[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinOf[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

}  // namespace

void reject_unknown_fields(const nlohmann::json& object,
                           std::initializer_list<std::string_view> allowed) {
  if (!object.is_object()) throw invalid_argument("expected a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      throw invalid_argument("unknown field " + quote_for_message(key));
    }
    if (value.is_string()) check_plain_text(key, value.get_ref<const std::string&>());
  }
}

void check_plain_text(std::string_view field, std::string_view value) {
  for (size_t i = 0; i < value.size();) {
    uint32_t cp = 0;
    const size_t len = decode_utf8(value, i, cp);
    if (len == 0) throw invalid_argument(field_name(field) + " must be valid UTF-8 text");
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) {
      throw invalid_argument(field_name(field) + " must not contain control characters (" +
                             code_point_text(cp) + ")");
    }
    i += len;
  }
}

void check_text(std::string_view field, const std::string& value, size_t max_len) {
  if (value.empty() || value.size() > max_len) {
    throw invalid_argument(field_name(field) + " must be 1 to " + std::to_string(max_len) +
                           " characters");
  }
  check_plain_text(field, value);
}

void check_email(std::string_view field, const std::string& value) {
  check_plain_text(field, value);
  const auto at = value.find('@');
  if (value.size() < 3 || value.size() > 254 || at == std::string::npos || at == 0 ||
      at + 1 == value.size() || value.find('@', at + 1) != std::string::npos ||
      value.find_first_of(" \t\r\n") != std::string::npos) {
    throw invalid_argument("field \"" + std::string(field) + "\" must be an email address, got " +
                           quote_for_message(value));
  }
}

void check_amount(std::string_view field, Decimal value) {
  if (value > kMaxAmount || value < -kMaxAmount) {
    throw invalid_argument(field_name(field) + " must be at most " + kMaxAmount.to_string(0) +
                           " in magnitude, got " + value.to_string());
  }
}

void check_non_negative(std::string_view field, Decimal value) {
  if (value.is_negative()) {
    throw invalid_argument(field_name(field) + " must not be negative, got " + value.to_string());
  }
  check_amount(field, value);
}

void check_positive(std::string_view field, Decimal value) {
  if (value.is_negative() || value.is_zero()) {
    throw invalid_argument(field_name(field) + " must be greater than zero, got " +
                           value.to_string());
  }
  check_amount(field, value);
}

Decimal line_total(Decimal quantity, Decimal price) {
  check_amount("quantity", quantity);
  check_amount("price", price);
  // Both at most 10^12: the product (up to 10^24) may not fit a Decimal, so compare first.
  const Decimal one = Decimal::from_units(1);
  const Decimal limit_for_price = quantity.abs() <= one
                                      ? kMaxAmount
                                      : kMaxAmount.div(quantity.abs(), RoundingMode::kTowardZero);
  if (price.abs() > limit_for_price) {
    throw invalid_argument("line total of " + quantity.to_string() + " x " + price.to_string() +
                           " is above the limit of " + kMaxAmount.to_string(0));
  }
  const Decimal total = quantity * price;
  check_amount("line total", total);
  return total;
}

Decimal add_to_total(std::string_view what, Decimal total, Decimal amount) {
  const Decimal sum = total + amount;  // both at most 10^12: cannot overflow
  if (sum > kMaxAmount || sum < -kMaxAmount) {
    throw invalid_argument("the " + std::string(what) + " would be " + sum.to_string() +
                           ", above the limit of " + kMaxAmount.to_string(0));
  }
  return sum;
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

void refuse_repeated(std::string_view what, std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  if (auto dup = std::adjacent_find(keys.begin(), keys.end()); dup != keys.end()) {
    throw invalid_argument(std::string(what) + " " + quote_for_message(*dup) + " is given twice");
  }
}

}  // namespace unity::erp
