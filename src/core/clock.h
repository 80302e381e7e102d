#pragma once
// Time comes from an injected Clock, never from now() deep in logic (STYLE.md), so tests control
// it instead of sleeping.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace unity {

using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

class Clock {
 public:
  using Monotonic = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
  // For intervals (heartbeats, timeouts, refreshes): never jumps with the wall clock.
  virtual Monotonic monotonic() const = 0;
  int64_t now_ms() const;  // milliseconds since the Unix epoch
};

// The wall clock. Thread-safe. system_clock() returns a process-wide instance.
class SystemClock final : public Clock {
 public:
  TimePoint now() const override;
  Monotonic monotonic() const override;
};
Clock& system_clock();

// A clock tests set and advance by hand. Thread-safe. Its monotonic time moves with every
// advance() (and set() forward); it starts at the steady clock's epoch.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start);
  TimePoint now() const override;
  Monotonic monotonic() const override;
  void set(TimePoint t);
  void advance(std::chrono::microseconds d);

 private:
  std::atomic<int64_t> us_;  // microseconds since the epoch
  int64_t start_us_;
};

// "2026-11-28T02:27:32.123456Z" (UTC, microseconds). The format stored in every timestamp column.
// Years 0000..9999 round-trip through parse_iso8601; the fraction always has 6 digits, so the text
// sorts like the time.
std::string format_iso8601(TimePoint t);
// Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]]" with optional "Z" or "+HH:MM"/"-HH:MM"
// offset (a space may replace "T"). Throws Error(kInvalidArgument) naming the text otherwise.
// Details: a date alone is midnight UTC; no offset means UTC; "t"/"z" are accepted like "T"/"Z";
// "+HH" (PostgreSQL's output) is accepted like "+HH:00"; the fraction has 1 to 9 digits, digits
// past microseconds are dropped. Out-of-range fields are rejected with the field named (month
// 01..12, a day that exists in that month, hour 00..23, minute and second 00..59, no leap second).
TimePoint parse_iso8601(const std::string& text);

}  // namespace unity
