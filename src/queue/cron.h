#pragma once
// Cron expressions for user-defined schedules (`schedule:add --cron=… --timezone=…`): the
// standard five fields of Vixie cron, evaluated in an IANA time zone.
//
//   MIN HOUR DOM MON DOW      0-59, 0-23, 1-31, 1-12 or jan-dec, 0-7 or sun-sat (0 and 7: Sunday)
//
// Each field is a comma-separated list of `*`, `N`, `N-M`, each optionally `/STEP`, and `N/STEP`
// (from N to the field's end). Names are case-insensitive and may end ranges (`mon-fri`). The
// macros @yearly (@annually), @monthly, @weekly, @daily (@midnight) and @hourly stand for their
// usual expressions. Day of month and day of week combine as in Vixie cron: when both are
// restricted (neither starts with `*`), a day matches if EITHER does; otherwise both must.
// An expression no date can ever match (`0 0 30 2 *`) is refused.
//
// Time zones (DESIGN.md: default UTC) come from the system's zoneinfo through the date library's
// tz (Debian libhowardhinnant-date-dev, the model of C++20's <chrono> zones that libstdc++ 12
// lacks); it is thread-safe, unlike localtime_r under a changed TZ variable. Daylight saving time,
// one rule for every expression: each matching local wall-clock time fires once.
//   - A local time skipped by a spring-forward gap fires at the end of the gap (02:30 in
//     Europe/Berlin on the last Sunday of March fires at 03:00 CEST); several skipped times that
//     match fire once there.
//   - A local time repeated by a fall-back fires at its first occurrence only.
//
// Thread-safety: a CronSchedule is immutable and may be shared.

#include <array>
#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace date {
class time_zone;
}

namespace unity::queue {

// A parsed five-field expression, independent of any time zone.
class CronExpression {
 public:
  // kInvalidArgument naming the field and what is wrong ("cron: hour 24 is out of range 0-23").
  static CronExpression parse(std::string_view text);

  // Whether a local date matches (month 1-12, day 1-31, weekday 0-6 with 0 Sunday).
  bool matches_day(int month, int day, int weekday) const;
  bool matches_hour(int hour) const { return hours_.test(static_cast<size_t>(hour)); }
  bool matches_minute(int minute) const { return minutes_.test(static_cast<size_t>(minute)); }
  // The expression as given (a macro stays a macro).
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1-31
  std::bitset<13> months_;  // 1-12
  std::bitset<7> weekdays_;
  bool days_star_ = false;
  bool weekdays_star_ = false;
};

// An expression in a time zone: its slots are UTC instants, whole minutes.
class CronSchedule {
 public:
  // kInvalidArgument for a bad expression or an unknown time zone ("unknown time zone
  // 'Mars/Base' (an IANA name such as Europe/Paris)").
  static CronSchedule parse(std::string_view expression, std::string_view timezone = "UTC");

  // The first slot strictly after `t`; nullopt when there is none within 9 years (never, for a
  // valid expression).
  std::optional<TimePoint> next_after(TimePoint t) const;
  // The latest slot at or before `t`; nullopt when there is none within 9 years.
  std::optional<TimePoint> latest_at_or_before(TimePoint t) const;

  const CronExpression& expression() const { return expression_; }
  const std::string& timezone() const { return timezone_; }

 private:
  CronSchedule(CronExpression e, std::string tz, const date::time_zone* zone)
      : expression_(std::move(e)), timezone_(std::move(tz)), zone_(zone) {}

  CronExpression expression_;
  std::string timezone_;
  const date::time_zone* zone_;  // owned by the date library's database; never null
};

}  // namespace unity::queue
