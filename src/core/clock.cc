#include "core/clock.h"

#include <cstdio>
#include <string_view>

#include "core/error.h"

namespace unity {

using std::chrono::microseconds;

int64_t Clock::now_ms() const {
  return std::chrono::floor<std::chrono::milliseconds>(now()).time_since_epoch().count();
}

TimePoint SystemClock::now() const {
  return std::chrono::floor<microseconds>(std::chrono::system_clock::now());
}

Clock::Monotonic SystemClock::monotonic() const { return std::chrono::steady_clock::now(); }

Clock& system_clock() {
  static SystemClock clock;
  return clock;
}

ManualClock::ManualClock(TimePoint start)
    : us_(start.time_since_epoch().count()), start_us_(start.time_since_epoch().count()) {}

TimePoint ManualClock::now() const { return TimePoint(microseconds(us_.load())); }

Clock::Monotonic ManualClock::monotonic() const {
  return Monotonic(microseconds(us_.load() - start_us_));
}

void ManualClock::set(TimePoint t) { us_.store(t.time_since_epoch().count()); }

void ManualClock::advance(microseconds d) { us_.fetch_add(d.count()); }

std::string format_iso8601(TimePoint t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss<microseconds> time(t - day);
  char text[48];
  std::snprintf(text, sizeof text, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(time.hours().count()),
                int(time.minutes().count()), int(time.seconds().count()),
                int(time.subseconds().count()));
  return text;
}

namespace {

constexpr std::string_view kExpected = "expected YYYY-MM-DD[THH:MM[:SS[.ffffff]]][Z|+HH:MM|-HH:MM]";

// A cursor over the text; every failure throws kInvalidArgument quoting the whole text.
class TimestampParser {
 public:
  explicit TimestampParser(const std::string& text) : text_(text) {}

  TimePoint parse() {
    const std::chrono::sys_days day = date();
    if (at_end()) return TimePoint(day);
    if (!accept('T') && !accept('t') && !accept(' ')) fail(kExpected);
    const microseconds time_of_day = time();
    const std::chrono::minutes offset = zone();
    if (!at_end()) fail(kExpected);
    return TimePoint(day) + time_of_day - offset;
  }

 private:
  std::chrono::sys_days date() {
    const int y = digits(4);
    expect('-');
    const int m = digits(2);
    expect('-');
    const int d = digits(2);
    check_range("month", m, 1, 12);
    const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(unsigned(m)),
                                          std::chrono::day(unsigned(d))};
    if (!ymd.ok()) fail("day " + std::to_string(d) + " does not exist in that month");
    return std::chrono::sys_days(ymd);
  }

  microseconds time() {
    const int hour = digits(2);
    expect(':');
    const int minute = digits(2);
    int second = 0;
    int64_t micros = 0;
    if (accept(':')) {
      second = digits(2);
      if (accept('.')) micros = fraction();
    }
    check_range("hour", hour, 0, 23);
    check_range("minute", minute, 0, 59);
    check_range("second", second, 0, 59);
    return std::chrono::hours(hour) + std::chrono::minutes(minute) + std::chrono::seconds(second) +
           microseconds(micros);
  }

  // 1 to 9 digits; digits past the sixth (below a microsecond) are dropped.
  int64_t fraction() {
    int64_t micros = 0;
    size_t count = 0;
    for (; pos_ < text_.size() && is_digit(text_[pos_]); ++pos_, ++count) {
      if (count < 6) micros = micros * 10 + (text_[pos_] - '0');
    }
    if (count == 0 || count > 9) fail("expected 1 to 9 fraction digits after '.'");
    for (; count < 6; ++count) micros *= 10;
    return micros;
  }

  // Minutes east of UTC: none or "Z" is 0; "+HH", "+HH:MM", "-HH:MM".
  std::chrono::minutes zone() {
    if (at_end() || accept('Z') || accept('z')) return std::chrono::minutes(0);
    const bool east = accept('+');
    if (!east && !accept('-')) fail(kExpected);
    const int hours = digits(2);
    const int minutes = accept(':') ? digits(2) : 0;
    check_range("offset hour", hours, 0, 23);
    check_range("offset minute", minutes, 0, 59);
    const std::chrono::minutes offset = std::chrono::hours(hours) + std::chrono::minutes(minutes);
    return east ? offset : -offset;
  }

  int digits(size_t count) {
    int value = 0;
    for (size_t i = 0; i < count; ++i, ++pos_) {
      if (at_end() || !is_digit(text_[pos_])) fail(kExpected);
      value = value * 10 + (text_[pos_] - '0');
    }
    return value;
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  bool at_end() const { return pos_ == text_.size(); }
  bool accept(char c) {
    if (at_end() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(kExpected);
  }
  void check_range(std::string_view name, int value, int low, int high) const {
    if (value >= low && value <= high) return;
    fail(std::string(name) + " " + std::to_string(value) + " is out of range " +
         std::to_string(low) + ".." + std::to_string(high));
  }
  [[noreturn]] void fail(std::string_view reason) const {
    throw invalid_argument("invalid timestamp " + quote_for_message(text_) + ": " +
                           std::string(reason));
  }

  const std::string& text_;
  size_t pos_ = 0;
};

}  // namespace

TimePoint parse_iso8601(const std::string& text) { return TimestampParser(text).parse(); }

}  // namespace unity
