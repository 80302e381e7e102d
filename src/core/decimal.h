#pragma once
// Exact fixed-point decimals for money and quantities (DESIGN.md: "Money and quantities are exact
// decimals; JSON carries them as strings"). Never floating point.
//
// A Decimal is an int64_t mantissa with a fixed scale of 4: value = mantissa / 10^4, so the range
// is -922337203685477.5808 .. 922337203685477.5807 in steps of 0.0001. The default is zero.
//
// Errors: every result that does not fit throws Error(kInvalidArgument, "decimal overflow ...");
// division by zero throws kInvalidArgument; parse() throws kInvalidArgument quoting the input.
// Thread-safety: a value type; distinct objects may be used from any thread.

#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace unity {

// How a result with more digits than kept is rounded. Every operation defaults to
// kHalfAwayFromZero (commercial rounding: 0.125 -> 0.13, -0.125 -> -0.13).
enum class RoundingMode {
  kHalfAwayFromZero,  // ties go away from zero
  kHalfEven,          // ties go to the even neighbour (banker's rounding)
  kTowardZero,        // drop the extra digits (truncate)
};

class Decimal {
 public:
  static constexpr int kScale = 4;                // fraction digits kept
  static constexpr int64_t kScaleFactor = 10000;  // 10^kScale: the mantissa of 1

  constexpr Decimal() = default;  // zero

  // Parses [+|-]digits[.digits] with 1 to 4 fraction digits: "12", "-3.5", "+0.1234", "007.50".
  // A digit is required on both sides of a '.': "1." and ".5" are rejected, as are "", spaces,
  // exponents ("1e3") and thousands separators. More than 4 fraction digits (even zeros) throws
  // kInvalidArgument "\"1.23456\" has more than 4 decimal places"; out of range throws
  // kInvalidArgument "decimal overflow ...". Messages quote the input.
  static Decimal parse(std::string_view text);
  // Whole units: from_units(12) is 12.0000. Throws kInvalidArgument on overflow.
  static Decimal from_units(int64_t units);
  // The raw mantissa: from_mantissa(1250) is 0.1250. Never throws.
  static constexpr Decimal from_mantissa(int64_t mantissa) { return Decimal(mantissa); }

  constexpr int64_t mantissa() const { return mantissa_; }
  constexpr bool is_zero() const { return mantissa_ == 0; }
  constexpr bool is_negative() const { return mantissa_ < 0; }

  // "12.50", "0.1234", "-3.00": trailing fraction zeros are trimmed down to min_fraction_digits
  // (clamped to 0..4); with 0 a whole number has no '.' ("12"). The result parses back exactly.
  std::string to_string(int min_fraction_digits = 2) const;

  // Exact; throw kInvalidArgument "decimal overflow ..." when the result does not fit.
  Decimal operator-() const;
  friend Decimal operator+(Decimal a, Decimal b);
  friend Decimal operator-(Decimal a, Decimal b);
  // Rounded half away from zero to 4 places. Overflow and division by zero throw kInvalidArgument.
  friend Decimal operator*(Decimal a, Decimal b);
  friend Decimal operator/(Decimal a, Decimal b);
  Decimal& operator+=(Decimal other) { return *this = *this + other; }
  Decimal& operator-=(Decimal other) { return *this = *this - other; }
  Decimal& operator*=(Decimal other) { return *this = *this * other; }
  Decimal& operator/=(Decimal other) { return *this = *this / other; }

  // Product / quotient rounded to 4 places with `mode`. Same errors as * and /.
  Decimal mul(Decimal other, RoundingMode mode = RoundingMode::kHalfAwayFromZero) const;
  Decimal div(Decimal other, RoundingMode mode = RoundingMode::kHalfAwayFromZero) const;
  // Rounds to `places` fraction digits (0..4; else kInvalidArgument): 2.345 -> 2.35 with places 2.
  // Throws kInvalidArgument on overflow (rounding the maximum up).
  Decimal round(int places, RoundingMode mode = RoundingMode::kHalfAwayFromZero) const;
  // |value|; throws kInvalidArgument for the minimum, whose magnitude does not fit.
  Decimal abs() const;

  friend constexpr auto operator<=>(Decimal a, Decimal b) = default;
  friend constexpr bool operator==(Decimal a, Decimal b) = default;

 private:
  constexpr explicit Decimal(int64_t mantissa) : mantissa_(mantissa) {}

  int64_t mantissa_ = 0;
};

// Writes to_string() (so test failures print "12.50").
std::ostream& operator<<(std::ostream& out, Decimal value);

}  // namespace unity
