#include "core/decimal.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace unity {
namespace {

__extension__ typedef __int128 Int128;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr auto kAway = RoundingMode::kHalfAwayFromZero;
constexpr auto kEven = RoundingMode::kHalfEven;
constexpr auto kTrunc = RoundingMode::kTowardZero;

Decimal d(std::string_view text) { return Decimal::parse(text); }

// Runs `f`, expects Error(kInvalidArgument) whose message contains `part`.
void expect_invalid(const std::function<void()>& f, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing: " << part;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Decimal, DefaultIsZero) {
  EXPECT_TRUE(Decimal().is_zero());
  EXPECT_EQ(Decimal().to_string(), "0.00");
}

TEST(Decimal, ParseReadsWholeAndFractionalForms) {
  EXPECT_EQ(d("12").mantissa(), 120000);
  EXPECT_EQ(d("12.5").mantissa(), 125000);
  EXPECT_EQ(d("12.50").mantissa(), 125000);
  EXPECT_EQ(d("0.1234").mantissa(), 1234);
  EXPECT_EQ(d("0.0001").mantissa(), 1);
  EXPECT_EQ(d("-3.5").mantissa(), -35000);
  EXPECT_EQ(d("+3.5").mantissa(), 35000);
  EXPECT_EQ(d("007.50").mantissa(), 75000);
  EXPECT_EQ(d("-0").mantissa(), 0);
}

TEST(Decimal, ParseRejectsMalformedTextQuotingIt) {
  for (const char* text : {"", " 1", "1 ", "1.", ".5", "-.5", "-", "+", "1e3", "1E3", "1,000",
                           "--1", "+-1", "1.2.3", "abc", "0x10", "1_000", "١"}) {
    SCOPED_TRACE(text);
    std::string expected = "\"";  // appended: GCC 12 -O3 warns falsely on "\"" + std::string
    expected += text;
    expect_invalid([&] { d(text); }, expected + "\" is not a decimal number");
  }
}

TEST(Decimal, ParseRejectsMoreThanFourDecimalPlaces) {
  expect_invalid([] { d("1.23456"); }, "\"1.23456\" has more than 4 decimal places");
  expect_invalid([] { d("-0.0000001"); }, "\"-0.0000001\" has more than 4 decimal places");
}

TEST(Decimal, ParseRejectsTrailingZerosBeyondScaleToo) {
  expect_invalid([] { d("1.00000"); }, "has more than 4 decimal places");
}

TEST(Decimal, ParseAcceptsTheInt64Edges) {
  EXPECT_EQ(d("922337203685477.5807").mantissa(), kMax);
  EXPECT_EQ(d("-922337203685477.5808").mantissa(), kMin);
}

TEST(Decimal, ParseRejectsOneStepPastTheInt64Edges) {
  expect_invalid([] { d("922337203685477.5808"); }, "decimal overflow: \"922337203685477.5808\"");
  expect_invalid([] { d("-922337203685477.5809"); }, "decimal overflow");
  expect_invalid([] { d("922337203685478"); }, "decimal overflow");
}

TEST(Decimal, ParseRejectsHugeInputWithoutWrappingAndCutsTheQuote) {
  const std::string huge(1000, '9');
  try {
    d(huge);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("decimal overflow"), std::string::npos);
    EXPECT_LT(message.size(), 200u) << message;
  }
}

TEST(Decimal, ToStringTrimsTrailingZerosDownToTheMinimum) {
  EXPECT_EQ(d("12.5").to_string(), "12.50");
  EXPECT_EQ(d("0.1234").to_string(), "0.1234");
  EXPECT_EQ(d("-3").to_string(), "-3.00");
  EXPECT_EQ(d("12.5").to_string(0), "12.5");
  EXPECT_EQ(d("12").to_string(0), "12");
  EXPECT_EQ(d("12").to_string(4), "12.0000");
  EXPECT_EQ(d("-0.05").to_string(), "-0.05");
  EXPECT_EQ(d("-0.0001").to_string(0), "-0.0001");
}

TEST(Decimal, ToStringClampsMinimumFractionDigits) {
  EXPECT_EQ(d("1").to_string(-3), "1");
  EXPECT_EQ(d("1").to_string(9), "1.0000");
}

TEST(Decimal, ToStringFormatsTheInt64Edges) {
  EXPECT_EQ(Decimal::from_mantissa(kMax).to_string(), "922337203685477.5807");
  EXPECT_EQ(Decimal::from_mantissa(kMin).to_string(), "-922337203685477.5808");
}

TEST(Decimal, ToStringRoundTripsThroughParseOnRandomValues) {
  std::mt19937_64 random(42);
  for (int i = 0; i < 20000; ++i) {
    const int64_t mantissa = static_cast<int64_t>(random() >> (random() % 64));
    const Decimal value = Decimal::from_mantissa(i % 2 ? -mantissa : mantissa);
    for (int digits : {0, 2, 4}) {
      ASSERT_EQ(d(value.to_string(digits)), value) << value.to_string(digits);
    }
  }
}

TEST(Decimal, FromUnitsScalesWholeUnitsAndDetectsOverflow) {
  EXPECT_EQ(Decimal::from_units(12), d("12"));
  EXPECT_EQ(Decimal::from_units(-7), d("-7"));
  EXPECT_EQ(Decimal::from_units(922337203685477), d("922337203685477"));
  expect_invalid([] { Decimal::from_units(922337203685478); }, "decimal overflow");
  expect_invalid([] { Decimal::from_units(kMin); }, "decimal overflow");
}

TEST(Decimal, AdditionAndSubtractionAreExact) {
  EXPECT_EQ(d("0.1") + d("0.2"), d("0.3"));
  EXPECT_EQ(d("10.00") - d("10.0001"), d("-0.0001"));
  Decimal total;
  for (int i = 0; i < 10; ++i) total += d("0.1");
  EXPECT_EQ(total, d("1"));
  total -= d("0.5");
  EXPECT_EQ(total, d("0.5"));
}

TEST(Decimal, AdditionPastTheMaximumThrows) {
  const Decimal max = Decimal::from_mantissa(kMax);
  EXPECT_EQ(max + d("0"), max);
  expect_invalid([&] { max + d("0.0001"); },
                 "decimal overflow: 922337203685477.5807 + 0.0001 is out of range");
}

TEST(Decimal, SubtractionPastTheMinimumThrows) {
  const Decimal min = Decimal::from_mantissa(kMin);
  expect_invalid([&] { min - d("0.0001"); }, "decimal overflow");
  expect_invalid([&] { d("0") - min; }, "decimal overflow");
}

TEST(Decimal, NegationAndAbsOfTheMinimumThrow) {
  const Decimal min = Decimal::from_mantissa(kMin);
  EXPECT_EQ(-d("1.5"), d("-1.5"));
  EXPECT_EQ(d("-1.5").abs(), d("1.5"));
  EXPECT_EQ(-Decimal::from_mantissa(kMax), Decimal::from_mantissa(kMin + 1));
  expect_invalid([&] { -min; }, "decimal overflow");
  expect_invalid([&] { min.abs(); }, "decimal overflow");
}

TEST(Decimal, MultiplicationRoundsHalfAwayFromZeroByDefault) {
  EXPECT_EQ(d("12.50") * d("3"), d("37.5"));
  EXPECT_EQ(d("0.0001") * d("0.5"), d("0.0001"));
  EXPECT_EQ(d("-0.0001") * d("0.5"), d("-0.0001"));
  EXPECT_EQ(d("0.0001") * d("0.4999"), d("0"));
  EXPECT_EQ(d("1.2345") * d("1.2345"), d("1.524"));  // 1.52399025
}

TEST(Decimal, MulRoundsTiesPerMode) {
  // 0.0003 * 0.5 = 0.00015 and 0.0001 * 0.5 = 0.00005: exact ties at the fifth place.
  EXPECT_EQ(d("0.0003").mul(d("0.5"), kAway), d("0.0002"));
  EXPECT_EQ(d("0.0003").mul(d("0.5"), kEven), d("0.0002"));
  EXPECT_EQ(d("0.0003").mul(d("0.5"), kTrunc), d("0.0001"));
  EXPECT_EQ(d("0.0001").mul(d("0.5"), kEven), d("0"));
  EXPECT_EQ(d("-0.0003").mul(d("0.5"), kAway), d("-0.0002"));
  EXPECT_EQ(d("-0.0001").mul(d("0.5"), kEven), d("0"));
  EXPECT_EQ(d("-0.0003").mul(d("0.5"), kTrunc), d("-0.0001"));
}

TEST(Decimal, DivRoundsPerModeIncludingNegatives) {
  EXPECT_EQ(d("1") / d("3"), d("0.3333"));
  EXPECT_EQ(d("2").div(d("3"), kAway), d("0.6667"));
  EXPECT_EQ(d("2").div(d("3"), kEven), d("0.6667"));
  EXPECT_EQ(d("2").div(d("3"), kTrunc), d("0.6666"));
  EXPECT_EQ(d("-2").div(d("3"), kAway), d("-0.6667"));
  EXPECT_EQ(d("2").div(d("-3"), kEven), d("-0.6667"));
  EXPECT_EQ(d("-2").div(d("-3"), kTrunc), d("0.6666"));
  EXPECT_EQ(d("2").div(d("-3"), kTrunc), d("-0.6666"));
  // Ties: 0.0001 / 2 = 0.00005, 0.0003 / 2 = 0.00015.
  EXPECT_EQ(d("0.0001").div(d("2"), kAway), d("0.0001"));
  EXPECT_EQ(d("0.0001").div(d("2"), kEven), d("0"));
  EXPECT_EQ(d("0.0003").div(d("2"), kEven), d("0.0002"));
  EXPECT_EQ(d("-0.0001").div(d("2"), kAway), d("-0.0001"));
  EXPECT_EQ(d("-0.0003").div(d("2"), kEven), d("-0.0002"));
  EXPECT_EQ(d("-0.0003").div(d("2"), kTrunc), d("-0.0001"));
}

TEST(Decimal, RoundToPlacesPerModeIncludingNegatives) {
  struct Case {
    const char* in;
    int places;
    const char* away;
    const char* even;
    const char* trunc;
  };
  for (const Case& c : std::vector<Case>{{"2.345", 2, "2.35", "2.34", "2.34"},
                                         {"2.355", 2, "2.36", "2.36", "2.35"},
                                         {"-2.345", 2, "-2.35", "-2.34", "-2.34"},
                                         {"-2.355", 2, "-2.36", "-2.36", "-2.35"},
                                         {"2.3451", 2, "2.35", "2.35", "2.34"},
                                         {"-2.3449", 2, "-2.34", "-2.34", "-2.34"},
                                         {"2.5", 0, "3", "2", "2"},
                                         {"3.5", 0, "4", "4", "3"},
                                         {"-2.5", 0, "-3", "-2", "-2"},
                                         {"0.4999", 0, "0", "0", "0"},
                                         {"1.2345", 4, "1.2345", "1.2345", "1.2345"}}) {
    SCOPED_TRACE(c.in);
    EXPECT_EQ(d(c.in).round(c.places), d(c.away));
    EXPECT_EQ(d(c.in).round(c.places, kEven), d(c.even));
    EXPECT_EQ(d(c.in).round(c.places, kTrunc), d(c.trunc));
  }
}

TEST(Decimal, RoundRejectsPlacesOutsideZeroToFour) {
  expect_invalid([] { d("1").round(-1); }, "places must be 0..4, got -1");
  expect_invalid([] { d("1").round(5); }, "places must be 0..4, got 5");
}

TEST(Decimal, RoundingTheMaximumUpOverflows) {
  expect_invalid([] { Decimal::from_mantissa(kMax).round(0); }, "decimal overflow");
  EXPECT_EQ(Decimal::from_mantissa(kMax).round(0, kTrunc), d("922337203685477"));
}

TEST(Decimal, DivisionByZeroThrows) {
  expect_invalid([] { d("1") / d("0"); }, "division by zero: 1.00 / 0");
  expect_invalid([] { d("0").div(d("0"), kTrunc); }, "division by zero");
}

TEST(Decimal, BigTimesBigOverflowIsDetected) {
  const Decimal big = d("100000000000");  // 1e11: the product 1e22 needs 80 bits
  expect_invalid([&] { big* big; }, "decimal overflow: 100000000000.0000 * 100000000000.0000");
  const Decimal max = Decimal::from_mantissa(kMax);
  EXPECT_EQ(max * d("1"), max);
  EXPECT_EQ(max * d("-1"), -max);
  expect_invalid([&] { max* d("1.0001"); }, "decimal overflow");
  expect_invalid([&] { Decimal::from_mantissa(kMin) * d("-1"); }, "decimal overflow");
}

TEST(Decimal, DivisionOverflowIsDetected) {
  expect_invalid([] { Decimal::from_mantissa(kMax) / d("0.0001"); }, "decimal overflow");
  expect_invalid([] { Decimal::from_mantissa(kMin) / d("-1"); }, "decimal overflow");
  EXPECT_EQ(Decimal::from_mantissa(kMin) / d("1"), Decimal::from_mantissa(kMin));
}

TEST(Decimal, ComparisonsOrderByValue) {
  EXPECT_LT(d("-1"), d("0"));
  EXPECT_LT(d("0.0001"), d("0.001"));
  EXPECT_GT(d("12.5"), d("12.49"));
  EXPECT_EQ(d("12.5"), d("12.5000"));
  EXPECT_NE(d("12.5"), d("-12.5"));
  EXPECT_LE(d("1"), d("1.0"));
  EXPECT_EQ(d("2") <=> d("1"), std::strong_ordering::greater);
}

TEST(Decimal, IsZeroAndIsNegative) {
  EXPECT_TRUE(d("0.0000").is_zero());
  EXPECT_FALSE(d("0.0001").is_zero());
  EXPECT_TRUE(d("-0.0001").is_negative());
  EXPECT_FALSE(d("-0").is_negative());
}

TEST(Decimal, StreamsAsToString) {
  std::ostringstream out;
  out << d("12.5");
  EXPECT_EQ(out.str(), "12.50");
}

// Reference arithmetic on __int128, written differently from decimal.cc on purpose:
// n / den rounded half away from zero via (2|n| + den) / (2 den), den > 0.
Int128 reference_round(Int128 n, Int128 den) {
  const Int128 magnitude = (2 * (n < 0 ? -n : n) + den) / (2 * den);
  return n < 0 ? -magnitude : magnitude;
}

bool fits(Int128 v) { return v >= kMin && v <= kMax; }

// Expects `actual()` to equal `expected`, or to throw overflow when it does not fit.
void expect_matches(Int128 expected, const std::function<Decimal()>& actual) {
  if (fits(expected)) {
    ASSERT_EQ(actual().mantissa(), static_cast<int64_t>(expected));
  } else {
    EXPECT_THROW(actual(), Error);
  }
}

TEST(Decimal, PropertyMatchesInt128ArithmeticOnRandomValues) {
  std::mt19937_64 random(20261128);
  const auto random_mantissa = [&] {
    const int64_t magnitude = static_cast<int64_t>(random() >> (1 + random() % 63));
    return random() % 2 ? -magnitude : magnitude;
  };
  for (int i = 0; i < 50000; ++i) {
    const int64_t a = i == 0 ? kMin : random_mantissa();
    const int64_t b = i == 1 ? kMax : random_mantissa();
    const Decimal x = Decimal::from_mantissa(a);
    const Decimal y = Decimal::from_mantissa(b);
    SCOPED_TRACE(x.to_string(4) + " op " + y.to_string(4));
    expect_matches(Int128{a} + b, [&] { return x + y; });
    expect_matches(Int128{a} - b, [&] { return x - y; });
    expect_matches(reference_round(Int128{a} * b, 10000), [&] { return x * y; });
    if (b != 0) {
      const Int128 num = Int128{a} * 10000 * (b < 0 ? -1 : 1);
      expect_matches(reference_round(num, b < 0 ? -Int128{b} : Int128{b}), [&] { return x / y; });
    }
    EXPECT_EQ(x < y, a < b);
    EXPECT_EQ(x == y, a == b);
  }
}

}  // namespace
}  // namespace unity
