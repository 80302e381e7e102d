#pragma once
// Ids: UUIDv7 (RFC 9562), so ids sort by creation time and index well (DESIGN.md "core").
//
// Layout of what UuidGenerator makes (big-endian bytes):
//   48 bits unix_ts_ms | 4 bits version 7 | 12 bits rand_a | 2 bits variant 10 | 62 bits rand_b
// rand_a is a counter within one millisecond (RFC 9562 section 6.2, method 1), so the ids of one
// generator are strictly increasing, also within one millisecond and if the clock steps back.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>  // also declares std::hash, specialised below
#include <string_view>

#include "core/clock.h"

namespace unity {

// Any 128-bit UUID (version 7 when made here). A value type; thread-safe like an int.
// Ordering is bytewise, which for UUIDv7 is creation order. The default is the nil UUID.
struct Uuid {
  std::array<uint8_t, 16> bytes{};

  // Canonical lowercase text: "0190b7e4-5a2c-7d3e-8f01-23456789abcd".
  std::string to_string() const;
  // Parses the 36-character 8-4-4-4-12 hex form, either case, any version. Throws
  // Error(kInvalidArgument) quoting the text for anything else (no braces, no "urn:uuid:").
  static Uuid parse(std::string_view text);

  int version() const { return bytes[6] >> 4; }
  // The 48-bit Unix millisecond timestamp of a UUIDv7 (meaningless for other versions).
  int64_t unix_ts_ms() const;

  friend auto operator<=>(const Uuid&, const Uuid&) = default;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

// Makes UUIDv7s from an injected clock. Thread-safe: next() may be called from any thread.
// The clock must outlive the generator.
class UuidGenerator {
 public:
  // Seeds the random bits from std::random_device.
  explicit UuidGenerator(const Clock& clock);
  ~UuidGenerator();
  UuidGenerator(const UuidGenerator&) = delete;
  UuidGenerator& operator=(const UuidGenerator&) = delete;

  // The next id: timestamp = clock.now_ms(), unless an earlier id of this generator had a later
  // one (the clock stepped back or the counter ran over), in which case that timestamp is reused.
  // In a new millisecond the counter starts at a random value below 2048, leaving at least 2048
  // ids per millisecond; when the 12-bit counter overflows the timestamp field is incremented.
  // Throws Error(kFailedPrecondition) if the clock reads before 1970 or past the 48-bit range.
  Uuid next();

 private:
  struct State;  // a mutex and the counter state it guards; in uuid.cc to keep <mutex> and
                 // <random> out of this widely included header

  const Clock& clock_;
  std::unique_ptr<State> state_;
};

// An id from a process-wide UuidGenerator on system_clock(). Thread-safe. Not fork-aware: a child
// process forked after the first call continues the parent's random sequence.
Uuid new_uuid();

}  // namespace unity

// So Uuid can key std::unordered_map / unordered_set.
template <>
struct std::hash<unity::Uuid> {
  size_t operator()(const unity::Uuid& id) const noexcept;
};
