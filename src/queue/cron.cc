#include "queue/cron.h"

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <vector>

#include "core/error.h"
#include "core/text.h"

namespace unity::queue {

namespace {

using std::chrono::hours;
using std::chrono::minutes;

struct Field {
  const char* name;
  int lo, hi;                // values as written (day of week: 0-7)
  const char* const* names;  // three-letter names for lo, lo+1, …; null when none
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr Field kMinute{"minute", 0, 59, nullptr};
constexpr Field kHour{"hour", 0, 23, nullptr};
constexpr Field kDay{"day of month", 1, 31, nullptr};
constexpr Field kMonth{"month", 1, 12, kMonthNames};
constexpr Field kWeekday{"day of week", 0, 7, kDayNames};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw invalid_argument("invalid cron expression '" + std::string(text_) + "': " + why);
  }

  int value(std::string_view s, const Field& f) const {
    if (s.empty()) fail(std::string("empty value in the ") + f.name + " field");
    if (std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(uint8_t(c)) != 0; })) {
      if (s.size() > 4) fail(std::string(f.name) + " " + std::string(s) + " is out of range");
      const int v = std::stoi(std::string(s));
      if (v < f.lo || v > f.hi) {
        fail(std::string(f.name) + " " + std::to_string(v) + " is out of range " +
             std::to_string(f.lo) + "-" + std::to_string(f.hi));
      }
      return v;
    }
    if (f.names) {
      const std::string name = ascii_lower(s);
      const int count = f.hi - f.lo + 1 - (f.names == kDayNames ? 1 : 0);
      for (int i = 0; i < count; ++i) {
        if (name == f.names[i]) return f.lo + i;
      }
    }
    fail("'" + std::string(s) + "' is not a valid " + f.name);
  }

  int number(std::string_view s, const char* what) const {
    if (s.empty() || s.size() > 4 ||
        !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(uint8_t(c)) != 0; })) {
      fail(std::string(what) + " '" + std::string(s) + "' is not a number");
    }
    return std::stoi(std::string(s));
  }

  // Sets the field's bits (day of week 7 → 0); true when the field starts with '*'.
  template <size_t N>
  bool field(std::string_view text, const Field& f, std::bitset<N>& bits) const {
    for (std::string_view item : split(text, ',')) {
      if (item.empty()) fail(std::string("empty list item in the ") + f.name + " field");
      const auto slash = item.find('/');
      const std::string_view base = item.substr(0, slash);
      int step = 1;
      if (slash != std::string_view::npos) {
        step = number(item.substr(slash + 1), "step");
        if (step < 1 || step > f.hi - f.lo + 1) {
          fail(std::string(f.name) + " step " + std::to_string(step) + " is out of range 1-" +
               std::to_string(f.hi - f.lo + 1));
        }
      }
      int lo = f.lo, hi = f.hi;
      if (base != "*") {
        const auto dash = base.find('-');
        lo = value(base.substr(0, dash), f);
        hi = dash != std::string_view::npos    ? value(base.substr(dash + 1), f)
             : slash != std::string_view::npos ? f.hi
                                               : lo;
        if (hi < lo) {
          fail(std::string(f.name) + " range " + std::string(base) + " runs backwards");
        }
      }
      for (int v = lo; v <= hi; v += step) bits.set(static_cast<size_t>(v % int(N)));
    }
    return !text.empty() && text[0] == '*';
  }

 private:
  std::string_view text_;
};

std::string_view expand_macro(std::string_view text) {
  static constexpr std::pair<const char*, const char*> kMacros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  for (const auto& [name, expansion] : kMacros) {
    if (text == name) return expansion;
  }
  return text;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(uint8_t(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(uint8_t(s[j]))) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

constexpr int kMaxDays[] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

}  // namespace

CronExpression CronExpression::parse(std::string_view text) {
  const Parser p(text);
  const std::string_view expanded = expand_macro(text);
  if (!expanded.empty() && expanded[0] == '@') p.fail("unknown macro");
  const auto fields = words(expanded);
  if (fields.size() != 5) {
    p.fail("expected 5 fields (minute hour day-of-month month day-of-week), got " +
           std::to_string(fields.size()));
  }
  CronExpression e;
  e.text_ = std::string(text);
  p.field(fields[0], kMinute, e.minutes_);
  p.field(fields[1], kHour, e.hours_);
  e.days_star_ = p.field(fields[2], kDay, e.days_);
  p.field(fields[3], kMonth, e.months_);
  e.weekdays_star_ = p.field(fields[4], kWeekday, e.weekdays_);
  // With a day of week starting with '*', a day must be one of the days of month in one of the
  // months: refuse a combination no calendar has (Feb 30, Apr 31).
  if (e.weekdays_star_) {
    bool possible = false;
    for (int m = 1; m <= 12 && !possible; ++m) {
      for (int d = 1; d <= kMaxDays[m] && !possible; ++d) {
        possible = e.months_.test(size_t(m)) && e.days_.test(size_t(d));
      }
    }
    if (!possible) p.fail("no date has that day of month in those months");
  }
  return e;
}

bool CronExpression::matches_day(int month, int day, int weekday) const {
  if (!months_.test(static_cast<size_t>(month))) return false;
  const bool dom = days_.test(static_cast<size_t>(day));
  const bool dow = weekdays_.test(static_cast<size_t>(weekday));
  if (days_star_ || weekdays_star_) return dom && dow;
  return dom || dow;  // Vixie cron: both restricted, either matches
}

CronSchedule CronSchedule::parse(std::string_view expression, std::string_view timezone) {
  CronExpression e = CronExpression::parse(expression);
  const std::string tz = timezone.empty() ? "UTC" : std::string(timezone);
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(tz);
  } catch (const std::exception&) {
    throw invalid_argument("unknown time zone '" + tz + "' (an IANA name such as Europe/Paris)");
  }
  return CronSchedule(std::move(e), tz, zone);
}

namespace {

constexpr int kSearchDays = 9 * 366;  // covers Feb 29 across a century year without one

// Calls `fn` with each slot of local day `d` in order (or reverse order), each instant once,
// until it returns true; true when it did.
bool each_slot_of_day(const CronExpression& e, const date::time_zone& zone, date::local_days d,
                      bool forward, const std::function<bool(TimePoint)>& fn) {
  const date::year_month_day ymd{d};
  const int weekday = static_cast<int>(date::weekday{d}.c_encoding());
  if (!e.matches_day(static_cast<int>(unsigned(ymd.month())), static_cast<int>(unsigned(ymd.day())),
                     weekday)) {
    return false;
  }
  std::optional<TimePoint> previous;
  for (int i = 0; i < 24 * 60; ++i) {
    const int minute_of_day = forward ? i : 24 * 60 - 1 - i;
    const int h = minute_of_day / 60, m = minute_of_day % 60;
    if (!e.matches_hour(h) || !e.matches_minute(m)) continue;
    // A skipped local time maps to the end of the gap; a repeated one to its first occurrence.
    const TimePoint slot = std::chrono::time_point_cast<std::chrono::microseconds>(
        zone.to_sys(d + hours(h) + minutes(m), date::choose::earliest));
    if (previous && *previous == slot) continue;  // several skipped times: one slot
    previous = slot;
    if (fn(slot)) return true;
  }
  return false;
}

date::local_days local_day_of(const date::time_zone& zone, TimePoint t) {
  return date::floor<date::days>(zone.to_local(t));
}

}  // namespace

std::optional<TimePoint> CronSchedule::next_after(TimePoint t) const {
  // A slot of the day before t's local day can still come after t (a repeated hour).
  const date::local_days first = local_day_of(*zone_, t) - date::days(1);
  std::optional<TimePoint> found;
  for (int i = 0; i <= kSearchDays && !found; ++i) {
    each_slot_of_day(expression_, *zone_, first + date::days(i), true, [&](TimePoint s) {
      if (s > t) found = s;
      return found.has_value();
    });
  }
  return found;
}

std::optional<TimePoint> CronSchedule::latest_at_or_before(TimePoint t) const {
  const date::local_days last = local_day_of(*zone_, t) + date::days(1);
  std::optional<TimePoint> found;
  for (int i = 0; i <= kSearchDays && !found; ++i) {
    each_slot_of_day(expression_, *zone_, last - date::days(i), false, [&](TimePoint s) {
      if (s <= t) found = s;
      return found.has_value();
    });
  }
  return found;
}

}  // namespace unity::queue
