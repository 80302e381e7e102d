#include "queue/cron.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace unity::queue {
namespace {

TimePoint at(const std::string& iso) { return parse_iso8601(iso); }

std::string next(const std::string& expr, const std::string& from, const std::string& tz = "UTC") {
  auto s = CronSchedule::parse(expr, tz).next_after(at(from));
  return s ? format_iso8601(*s) : "never";
}

std::string latest(const std::string& expr, const std::string& from,
                   const std::string& tz = "UTC") {
  auto s = CronSchedule::parse(expr, tz).latest_at_or_before(at(from));
  return s ? format_iso8601(*s) : "never";
}

// The error message of parsing `expr` in `tz`; empty when it parses.
std::string error_of(const std::string& expr, const std::string& tz = "UTC") {
  try {
    CronSchedule::parse(expr, tz);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << expr;
    return e.what();
  }
  return "";
}

TEST(CronTest, EveryMinuteIsTheNextWholeMinute) {
  EXPECT_EQ(next("* * * * *", "2026-12-06T10:07:30Z"), "2026-12-06T10:08:00.000000Z");
  EXPECT_EQ(next("* * * * *", "2026-12-06T10:08:00Z"), "2026-12-06T10:09:00.000000Z");
}

TEST(CronTest, NextIsStrictlyAfterAndLatestIsAtOrBefore) {
  EXPECT_EQ(next("*/15 * * * *", "2026-12-06T10:07:00Z"), "2026-12-06T10:15:00.000000Z");
  EXPECT_EQ(next("*/15 * * * *", "2026-12-06T10:15:00Z"), "2026-12-06T10:30:00.000000Z");
  EXPECT_EQ(latest("*/15 * * * *", "2026-12-06T10:15:00Z"), "2026-12-06T10:15:00.000000Z");
  EXPECT_EQ(latest("*/15 * * * *", "2026-12-06T10:14:59Z"), "2026-12-06T10:00:00.000000Z");
  EXPECT_EQ(latest("0 0 * * *", "2026-12-06T13:00:00Z"), "2026-12-06T00:00:00.000000Z");
  EXPECT_EQ(latest("0 0 1 1 *", "2026-12-06T13:00:00Z"), "2026-01-01T00:00:00.000000Z");
}

TEST(CronTest, ListsRangesAndSteps) {
  EXPECT_EQ(next("5,10-12,40-50/5 * * * *", "2026-12-06T10:05:00Z"), "2026-12-06T10:10:00.000000Z");
  EXPECT_EQ(next("5,10-12,40-50/5 * * * *", "2026-12-06T10:12:00Z"), "2026-12-06T10:40:00.000000Z");
  EXPECT_EQ(next("5,10-12,40-50/5 * * * *", "2026-12-06T10:50:00Z"), "2026-12-06T11:05:00.000000Z");
  EXPECT_EQ(next("30/10 9-17/4 * * *", "2026-12-06T09:50:00Z"), "2026-12-06T13:30:00.000000Z");
  EXPECT_EQ(next("0 0 * * *", "2026-12-31T23:59:00Z"), "2027-01-01T00:00:00.000000Z");
}

TEST(CronTest, NamesOfMonthsAndDaysAndSevenIsSunday) {
  // 2026-12-06 is a Sunday.
  EXPECT_EQ(next("0 9 * * mon-fri", "2026-12-05T12:00:00Z"), "2026-12-07T09:00:00.000000Z");
  EXPECT_EQ(next("0 9 * * 7", "2026-12-01T00:00:00Z"), "2026-12-06T09:00:00.000000Z");
  EXPECT_EQ(next("0 9 * * 0", "2026-12-01T00:00:00Z"), "2026-12-06T09:00:00.000000Z");
  EXPECT_EQ(next("0 9 * * 5-7", "2026-12-01T00:00:00Z"), "2026-12-04T09:00:00.000000Z");
  EXPECT_EQ(next("0 0 1 JAN,Jul *", "2026-02-01T00:00:00Z"), "2026-07-01T00:00:00.000000Z");
}

TEST(CronTest, MacrosStandForTheirExpressions) {
  EXPECT_EQ(next("@hourly", "2026-12-06T10:07:00Z"), "2026-12-06T11:00:00.000000Z");
  EXPECT_EQ(next("@daily", "2026-12-06T10:07:00Z"), "2026-12-07T00:00:00.000000Z");
  EXPECT_EQ(next("@weekly", "2026-12-06T10:07:00Z"), "2026-12-13T00:00:00.000000Z");
  EXPECT_EQ(next("@monthly", "2026-12-06T10:07:00Z"), "2027-01-01T00:00:00.000000Z");
  EXPECT_EQ(next("@yearly", "2026-12-06T10:07:00Z"), "2027-01-01T00:00:00.000000Z");
  EXPECT_EQ(CronExpression::parse("@daily").text(), "@daily");
}

TEST(CronTest, DayOfMonthAndDayOfWeekBothRestrictedMatchEither) {
  // The 13th OR a Friday: Friday the 11th comes first, then Sunday the 13th.
  EXPECT_EQ(next("0 0 13 * 5", "2026-12-06T00:00:00Z"), "2026-12-11T00:00:00.000000Z");
  EXPECT_EQ(next("0 0 13 * 5", "2026-12-11T00:00:00Z"), "2026-12-13T00:00:00.000000Z");
  // A star in either field: both must match (a Friday in days 1-7 of the month).
  EXPECT_EQ(next("0 0 1-7 * */1", "2026-12-06T00:00:00Z"), "2026-12-07T00:00:00.000000Z");
  EXPECT_EQ(next("0 0 * * 5", "2026-12-06T00:00:00Z"), "2026-12-11T00:00:00.000000Z");
}

TEST(CronTest, MonthEndsSkipMonthsWithoutTheDay) {
  EXPECT_EQ(next("0 0 31 * *", "2026-04-01T00:00:00Z"), "2026-05-31T00:00:00.000000Z");
  EXPECT_EQ(next("0 0 30 * *", "2026-01-30T00:00:00Z"), "2026-03-30T00:00:00.000000Z");
  EXPECT_EQ(latest("0 0 31 * *", "2026-07-15T00:00:00Z"), "2026-05-31T00:00:00.000000Z");
}

TEST(CronTest, LeapDaysIncludingCenturies) {
  EXPECT_EQ(next("0 12 29 2 *", "2025-03-01T00:00:00Z"), "2028-02-29T12:00:00.000000Z");
  // 2100 is not a leap year: 2096 then 2104.
  EXPECT_EQ(next("0 12 29 2 *", "2096-03-01T00:00:00Z"), "2104-02-29T12:00:00.000000Z");
  EXPECT_EQ(latest("0 12 29 2 *", "2103-01-01T00:00:00Z"), "2096-02-29T12:00:00.000000Z");
}

TEST(CronTest, TimeZonesShiftTheSlotsWithTheirOffsets) {
  EXPECT_EQ(next("0 9 * * *", "2026-12-06T00:00:00Z", "Europe/Paris"),
            "2026-12-06T08:00:00.000000Z");  // CET, UTC+1
  EXPECT_EQ(next("0 9 * * *", "2026-07-06T00:00:00Z", "Europe/Paris"),
            "2026-07-06T07:00:00.000000Z");  // CEST, UTC+2
  EXPECT_EQ(next("0 0 * * *", "2026-12-06T00:00:00Z", "Asia/Kolkata"),
            "2026-12-06T18:30:00.000000Z");
}

TEST(CronTest, ATimeSkippedBySpringForwardRunsAtTheEndOfTheGap) {
  // Europe/Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST (01:00 UTC).
  EXPECT_EQ(next("30 2 * * *", "2026-03-28T00:00:00Z", "Europe/Berlin"),
            "2026-03-28T01:30:00.000000Z");
  EXPECT_EQ(next("30 2 * * *", "2026-03-28T01:30:00Z", "Europe/Berlin"),
            "2026-03-29T01:00:00.000000Z");
  EXPECT_EQ(next("30 2 * * *", "2026-03-29T01:00:00Z", "Europe/Berlin"),
            "2026-03-30T00:30:00.000000Z");
  // Every quarter of the skipped hour: one run at 03:00 CEST, then the next day.
  EXPECT_EQ(next("*/15 2 * * *", "2026-03-28T23:00:00Z", "Europe/Berlin"),
            "2026-03-29T01:00:00.000000Z");
  EXPECT_EQ(next("*/15 2 * * *", "2026-03-29T01:00:00Z", "Europe/Berlin"),
            "2026-03-30T00:00:00.000000Z");
  // Times around the gap are untouched (New York, 2026-03-08, 02:00 EST → 03:00 EDT).
  EXPECT_EQ(next("0 3 * * *", "2026-03-08T00:00:00Z", "America/New_York"),
            "2026-03-08T07:00:00.000000Z");
}

TEST(CronTest, ATimeRepeatedByFallBackRunsOnce) {
  // Europe/Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.
  EXPECT_EQ(next("30 2 * * *", "2026-10-24T12:00:00Z", "Europe/Berlin"),
            "2026-10-25T00:30:00.000000Z");
  EXPECT_EQ(next("30 2 * * *", "2026-10-25T00:30:00Z", "Europe/Berlin"),
            "2026-10-26T01:30:00.000000Z");
  EXPECT_EQ(latest("30 2 * * *", "2026-10-25T01:45:00Z", "Europe/Berlin"),
            "2026-10-25T00:30:00.000000Z");
  // Hourly: the repeated hour's 02:00 is not run again; 03:00 CET follows.
  EXPECT_EQ(next("0 * * * *", "2026-10-25T00:00:00Z", "Europe/Berlin"),
            "2026-10-25T02:00:00.000000Z");
}

TEST(CronTest, BadExpressionsAreInvalidInputNamingTheProblem) {
  EXPECT_NE(error_of("* * * *").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(error_of("* * * * * *").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(error_of("").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(error_of("60 * * * *").find("minute 60 is out of range 0-59"), std::string::npos);
  EXPECT_NE(error_of("0 24 * * *").find("hour 24 is out of range 0-23"), std::string::npos);
  EXPECT_NE(error_of("0 0 0 * *").find("day of month 0"), std::string::npos);
  EXPECT_NE(error_of("0 0 * 13 *").find("month 13"), std::string::npos);
  EXPECT_NE(error_of("0 0 * * 8").find("day of week 8"), std::string::npos);
  EXPECT_NE(error_of("*/0 * * * *").find("step 0"), std::string::npos);
  EXPECT_NE(error_of("*/x * * * *").find("step 'x' is not a number"), std::string::npos);
  EXPECT_NE(error_of("0 5-2 * * *").find("runs backwards"), std::string::npos);
  EXPECT_NE(error_of("0 0 * foo *").find("'foo' is not a valid month"), std::string::npos);
  EXPECT_NE(error_of("0 0 * * sunday").find("not a valid day of week"), std::string::npos);
  EXPECT_NE(error_of("1,,2 * * * *").find("empty list item"), std::string::npos);
  EXPECT_NE(error_of("-5 * * * *").find("empty value"), std::string::npos);
  EXPECT_NE(error_of("99999 * * * *").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("@reboot").find("unknown macro"), std::string::npos);
  EXPECT_NE(error_of("0 0 30 2 *").find("no date"), std::string::npos);
  EXPECT_NE(error_of("0 0 31 4,6 *").find("no date"), std::string::npos);
  EXPECT_EQ(error_of("0 0 29 2 *"), "");
  EXPECT_EQ(error_of("0 0 30 2 1"), "");  // either rule: every Monday
}

TEST(CronTest, UnknownTimeZoneIsInvalidInput) {
  EXPECT_NE(
      error_of("* * * * *", "Mars/Olympus_Mons").find("unknown time zone 'Mars/Olympus_Mons'"),
      std::string::npos);
  EXPECT_EQ(error_of("* * * * *", "America/Argentina/Buenos_Aires"), "");
  EXPECT_EQ(CronSchedule::parse("* * * * *", "").timezone(), "UTC");
}

}  // namespace
}  // namespace unity::queue
