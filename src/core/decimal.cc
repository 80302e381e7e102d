#include "core/decimal.h"

#include <algorithm>
#include <limits>
#include <ostream>

#include "core/error.h"

namespace unity {
namespace {

// Intermediates of * and / need up to 127 bits. __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 Int128;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

[[noreturn]] void throw_overflow(const std::string& what) {
  throw invalid_argument("decimal overflow: " + what + " is out of range " +
                         Decimal::from_mantissa(kMin).to_string(4) + ".." +
                         Decimal::from_mantissa(kMax).to_string(4));
}

// Narrows an intermediate to a mantissa; `what` describes the operation for the message.
template <typename Describe>
int64_t narrow(Int128 value, Describe describe) {
  if (value < kMin || value > kMax) throw_overflow(describe());
  return static_cast<int64_t>(value);
}

// num / den rounded to an integer with `mode`. den != 0.
Int128 divide_rounded(Int128 num, Int128 den, RoundingMode mode) {
  const Int128 quotient = num / den;
  const Int128 remainder = num % den;  // carries num's sign
  if (remainder == 0 || mode == RoundingMode::kTowardZero) return quotient;
  const Int128 twice = (remainder < 0 ? -remainder : remainder) * 2;
  const Int128 abs_den = den < 0 ? -den : den;
  const bool tie = twice == abs_den;
  const bool away = twice > abs_den || (tie && mode == RoundingMode::kHalfAwayFromZero) ||
                    (tie && mode == RoundingMode::kHalfEven && quotient % 2 != 0);
  if (!away) return quotient;
  return (num < 0) != (den < 0) ? quotient - 1 : quotient + 1;
}

std::string_view take_digits(std::string_view text, size_t& pos) {
  const size_t start = pos;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
  return text.substr(start, pos - start);
}

[[noreturn]] void throw_not_decimal(std::string_view text) {
  throw invalid_argument(
      quote_for_message(text) +
      " is not a decimal number (expected [+|-]digits[.digits], e.g. \"12.50\")");
}

// The magnitude of whole.fraction scaled by 10^4; throws overflow once it passes 2^63.
Int128 scaled_magnitude(std::string_view text, std::string_view whole, std::string_view fraction) {
  const Int128 limit = Int128{kMax} + 1;
  Int128 units = 0;
  for (char c : whole) {
    units = units * 10 + (c - '0');
    if (units * Decimal::kScaleFactor > limit) throw_overflow(quote_for_message(text));
  }
  Int128 fraction_value = 0;
  for (size_t i = 0; i < Decimal::kScale; ++i) {
    fraction_value = fraction_value * 10 + (i < fraction.size() ? fraction[i] - '0' : 0);
  }
  return units * Decimal::kScaleFactor + fraction_value;
}

}  // namespace

Decimal Decimal::parse(std::string_view text) {
  size_t pos = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) ++pos;
  const std::string_view whole = take_digits(text, pos);
  std::string_view fraction;
  const bool has_point = pos < text.size() && text[pos] == '.';
  if (has_point) fraction = take_digits(text, ++pos);
  if (whole.empty() || (has_point && fraction.empty()) || pos != text.size()) {
    throw_not_decimal(text);
  }
  if (fraction.size() > static_cast<size_t>(kScale)) {
    throw invalid_argument(quote_for_message(text) + " has more than 4 decimal places");
  }
  const Int128 magnitude = scaled_magnitude(text, whole, fraction);
  return Decimal(
      narrow(negative ? -magnitude : magnitude, [&] { return quote_for_message(text); }));
}

Decimal Decimal::from_units(int64_t units) {
  return Decimal(
      narrow(Int128{units} * kScaleFactor, [&] { return std::to_string(units) + " whole units"; }));
}

std::string Decimal::to_string(int min_fraction_digits) const {
  const int min_digits = min_fraction_digits < 0 ? 0 : std::min(min_fraction_digits, kScale);
  // Unsigned magnitude so that the minimum (-2^63) has one too.
  const uint64_t magnitude =
      mantissa_ < 0 ? 0 - static_cast<uint64_t>(mantissa_) : static_cast<uint64_t>(mantissa_);
  std::string fraction = std::to_string(magnitude % kScaleFactor);
  fraction.insert(0, static_cast<size_t>(kScale) - fraction.size(), '0');
  while (fraction.size() > static_cast<size_t>(min_digits) && fraction.back() == '0') {
    fraction.pop_back();
  }
  std::string out = mantissa_ < 0 ? "-" : "";
  out += std::to_string(magnitude / kScaleFactor);
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

Decimal Decimal::operator-() const {
  return Decimal(narrow(-Int128{mantissa_}, [&] { return "-(" + to_string(4) + ")"; }));
}

Decimal operator+(Decimal a, Decimal b) {
  return Decimal(narrow(Int128{a.mantissa_} + b.mantissa_,
                        [&] { return a.to_string(4) + " + " + b.to_string(4); }));
}

Decimal operator-(Decimal a, Decimal b) {
  return Decimal(narrow(Int128{a.mantissa_} - b.mantissa_,
                        [&] { return a.to_string(4) + " - " + b.to_string(4); }));
}

Decimal operator*(Decimal a, Decimal b) { return a.mul(b); }

Decimal operator/(Decimal a, Decimal b) { return a.div(b); }

Decimal Decimal::mul(Decimal other, RoundingMode mode) const {
  const Int128 product = Int128{mantissa_} * other.mantissa_;  // |product| < 2^126
  return Decimal(narrow(divide_rounded(product, kScaleFactor, mode),
                        [&] { return to_string(4) + " * " + other.to_string(4); }));
}

Decimal Decimal::div(Decimal other, RoundingMode mode) const {
  if (other.is_zero()) throw invalid_argument("division by zero: " + to_string() + " / 0");
  const Int128 numerator = Int128{mantissa_} * kScaleFactor;
  return Decimal(narrow(divide_rounded(numerator, other.mantissa_, mode),
                        [&] { return to_string(4) + " / " + other.to_string(4); }));
}

Decimal Decimal::round(int places, RoundingMode mode) const {
  if (places < 0 || places > kScale) {
    throw invalid_argument("Decimal::round: places must be 0..4, got " + std::to_string(places));
  }
  Int128 step = 1;
  for (int i = places; i < kScale; ++i) step *= 10;
  const Int128 rounded = divide_rounded(mantissa_, step, mode) * step;
  return Decimal(narrow(rounded, [&] {
    return "rounding " + to_string(4) + " to " + std::to_string(places) + " places";
  }));
}

Decimal Decimal::abs() const { return is_negative() ? -*this : *this; }

std::ostream& operator<<(std::ostream& out, Decimal value) { return out << value.to_string(); }

}  // namespace unity
