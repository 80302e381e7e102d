#include "core/clock.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/error.h"

namespace unity {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

TimePoint at(year_month_day date, microseconds time_of_day = 0us) {
  return TimePoint(sys_days(date)) + time_of_day;
}

const TimePoint kExample = at(2026y / 11 / 28, 2h + 27min + 32s + 123456us);

void expect_rejected(const std::string& text, const std::string& part) {
  SCOPED_TRACE(text);
  try {
    parse_iso8601(text);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    const std::string message = e.what();
    EXPECT_NE(message.find("invalid timestamp \"" + text + "\""), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(Clock, FormatPrintsUtcWithMicroseconds) {
  EXPECT_EQ(format_iso8601(kExample), "2026-11-28T02:27:32.123456Z");
  EXPECT_EQ(format_iso8601(at(2026y / 1 / 2)), "2026-01-02T00:00:00.000000Z");
  EXPECT_EQ(format_iso8601(TimePoint{}), "1970-01-01T00:00:00.000000Z");
}

TEST(Clock, FormatFloorsTimesBeforeTheEpoch) {
  EXPECT_EQ(format_iso8601(TimePoint(-1us)), "1969-12-31T23:59:59.999999Z");
}

TEST(Clock, ParseReadsWhatFormatWrites) {
  EXPECT_EQ(parse_iso8601("2026-11-28T02:27:32.123456Z"), kExample);
  std::mt19937_64 random(7);
  std::uniform_int_distribution<int64_t> micros(0, 4102444800000000);  // 1970..2100
  for (int i = 0; i < 10000; ++i) {
    const TimePoint t{microseconds(micros(random))};
    ASSERT_EQ(parse_iso8601(format_iso8601(t)), t) << format_iso8601(t);
  }
}

TEST(Clock, ParseDateAloneIsMidnightUtc) {
  EXPECT_EQ(parse_iso8601("2026-11-28"), at(2026y / 11 / 28));
}

TEST(Clock, ParseAcceptsShorterTimesSpaceAndLowercase) {
  EXPECT_EQ(parse_iso8601("2026-11-28T02:27"), at(2026y / 11 / 28, 2h + 27min));
  EXPECT_EQ(parse_iso8601("2026-11-28 02:27:32"), at(2026y / 11 / 28, 2h + 27min + 32s));
  EXPECT_EQ(parse_iso8601("2026-11-28t02:27:32.123456z"), kExample);
}

TEST(Clock, ParseWithoutOffsetMeansUtc) {
  EXPECT_EQ(parse_iso8601("2026-11-28T02:27:32.123456"), kExample);
}

TEST(Clock, ParseAppliesOffsets) {
  EXPECT_EQ(parse_iso8601("2026-11-28T03:27:32.123456+01:00"), kExample);
  EXPECT_EQ(parse_iso8601("2026-11-27T21:57:32.123456-04:30"), kExample);
  EXPECT_EQ(parse_iso8601("2026-11-28 02:27:32.123456+00"), kExample);
  EXPECT_EQ(parse_iso8601("2026-11-28T02:27:32.123456-00:00"), kExample);
}

TEST(Clock, ParseFractionOfOneToNineDigits) {
  EXPECT_EQ(parse_iso8601("2026-11-28T00:00:00.5Z"), at(2026y / 11 / 28, 500000us));
  EXPECT_EQ(parse_iso8601("2026-11-28T00:00:00.123Z"), at(2026y / 11 / 28, 123000us));
  EXPECT_EQ(parse_iso8601("2026-11-28T00:00:00.123456789Z"), at(2026y / 11 / 28, 123456us));
}

TEST(Clock, ParseRejectsMalformedText) {
  for (const char* text :
       {"", "2026", "2026-11", "26-11-28", "2026-1-28", "2026/11/28", "2026-11-28T",
        "2026-11-28T02", "2026-11-28T2:27", "2026-11-28X02:27", "2026-11-28T02:27Zjunk",
        "2026-11-28T02:27:32.", "2026-11-28T02:27:32.1234567890Z", "2026-11-28T02:27+1",
        "2026-11-28T02:27 +01:00", "2026-11-28Z", " 2026-11-28", "2026-11-28 "}) {
    expect_rejected(text, "expected");
  }
}

TEST(Clock, ParseRejectsOutOfRangeFieldsNamingThem) {
  expect_rejected("2026-13-01", "month 13 is out of range 1..12");
  expect_rejected("2026-00-01", "month 0 is out of range");
  expect_rejected("2026-02-29", "day 29 does not exist");
  expect_rejected("2026-04-31", "day 31 does not exist");
  expect_rejected("2026-01-00", "day 0 does not exist");
  expect_rejected("2026-11-28T24:00", "hour 24 is out of range 0..23");
  expect_rejected("2026-11-28T02:60", "minute 60 is out of range");
  expect_rejected("2026-11-28T02:27:60", "second 60 is out of range");
  expect_rejected("2026-11-28T02:27+24:00", "offset hour 24 is out of range");
  expect_rejected("2026-11-28T02:27+01:60", "offset minute 60 is out of range");
}

TEST(Clock, ParseAcceptsLeapDays) {
  EXPECT_EQ(parse_iso8601("2024-02-29"), at(2024y / 2 / 29));
  EXPECT_EQ(parse_iso8601("2000-02-29"), at(2000y / 2 / 29));
  expect_rejected("1900-02-29", "day 29 does not exist");
}

TEST(Clock, ManualClockIsSetAndAdvancedByHand) {
  ManualClock clock(kExample);
  EXPECT_EQ(clock.now(), kExample);
  clock.advance(1500us);
  EXPECT_EQ(clock.now(), kExample + 1500us);
  clock.set(TimePoint{});
  EXPECT_EQ(clock.now(), TimePoint{});
}

TEST(Clock, NowMsFloorsToMilliseconds) {
  ManualClock clock(kExample);
  EXPECT_EQ(clock.now_ms(), 1795832852123);
  clock.set(TimePoint(-1us));
  EXPECT_EQ(clock.now_ms(), -1);
}

TEST(Clock, SystemClockFollowsTheWallClock) {
  const auto before = floor<microseconds>(std::chrono::system_clock::now());
  const TimePoint now = unity::system_clock().now();
  const auto after = floor<microseconds>(std::chrono::system_clock::now());
  EXPECT_LE(before, now);
  EXPECT_LE(now, after);
  EXPECT_EQ(&unity::system_clock(), &unity::system_clock());
}

}  // namespace
}  // namespace unity
