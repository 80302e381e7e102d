#include "core/uuid.h"

#include <cstring>
#include <mutex>
#include <random>

#include "core/error.h"

namespace unity {
namespace {

constexpr int64_t kMaxTimestampMs = (int64_t{1} << 48) - 1;
constexpr uint32_t kMaxCounter = 0xFFF;        // rand_a is 12 bits
constexpr uint32_t kCounterSeedLimit = 0x800;  // a new ms starts below this (RFC 9562 6.2)
constexpr char kHexDigits[] = "0123456789abcdef";

bool is_hyphen_position(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[noreturn]] void throw_bad_uuid(std::string_view text) {
  throw invalid_argument(quote_for_message(text) +
                         " is not a UUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)");
}

std::mt19937_64 seeded_engine() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device(),
                     device(), device(), device(), device()};
  return std::mt19937_64(seed);
}

// unix_ts_ms (48 bits) | version 7 | rand_a (12 bits) | variant 10 | rand_b (low 62 bits).
Uuid encode_v7(int64_t unix_ts_ms, uint32_t rand_a, uint64_t rand_b) {
  Uuid id;
  for (size_t i = 0; i < 6; ++i) id.bytes[i] = static_cast<uint8_t>(unix_ts_ms >> (40 - 8 * i));
  id.bytes[6] = static_cast<uint8_t>(0x70 | rand_a >> 8);
  id.bytes[7] = static_cast<uint8_t>(rand_a);
  id.bytes[8] = static_cast<uint8_t>(0x80 | ((rand_b >> 56) & 0x3F));
  for (size_t i = 9; i < 16; ++i) id.bytes[i] = static_cast<uint8_t>(rand_b >> (8 * (15 - i)));
  return id;
}

}  // namespace

std::string Uuid::to_string() const {
  std::string text;
  text.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += kHexDigits[bytes[i] >> 4];
    text += kHexDigits[bytes[i] & 0xF];
  }
  return text;
}

Uuid Uuid::parse(std::string_view text) {
  if (text.size() != 36) throw_bad_uuid(text);
  Uuid id;
  size_t nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_hyphen_position(i)) {
      if (text[i] != '-') throw_bad_uuid(text);
      continue;
    }
    const int value = hex_value(text[i]);
    if (value < 0) throw_bad_uuid(text);
    id.bytes[nibble / 2] = static_cast<uint8_t>(id.bytes[nibble / 2] << 4 | value);
    ++nibble;
  }
  return id;
}

int64_t Uuid::unix_ts_ms() const {
  int64_t ms = 0;
  for (size_t i = 0; i < 6; ++i) ms = ms << 8 | bytes[i];
  return ms;
}

struct UuidGenerator::State {
  std::mutex mu;                            // guards everything below
  int64_t last_ms = -1;                     // timestamp field of the last id
  uint32_t counter = 0;                     // rand_a of the last id, 0..0xFFF
  std::mt19937_64 random{seeded_engine()};  // rand_b and counter seeds
};

UuidGenerator::UuidGenerator(const Clock& clock)
    : clock_(clock), state_(std::make_unique<State>()) {}

UuidGenerator::~UuidGenerator() = default;

Uuid UuidGenerator::next() {
  const int64_t now = clock_.now_ms();
  if (now < 0 || now > kMaxTimestampMs) {
    throw failed_precondition("cannot make a UUIDv7: the clock reads " + std::to_string(now) +
                              " ms since 1970, outside 48 bits");
  }
  State& s = *state_;
  std::lock_guard lock(s.mu);
  if (now > s.last_ms) {
    s.last_ms = now;
    s.counter = static_cast<uint32_t>(s.random() % kCounterSeedLimit);
  } else if (++s.counter > kMaxCounter) {
    // Counter ran over: borrow the next millisecond, as RFC 9562 section 6.2 allows.
    ++s.last_ms;
    s.counter = static_cast<uint32_t>(s.random() % kCounterSeedLimit);
  }
  if (s.last_ms > kMaxTimestampMs) throw failed_precondition("UUIDv7 timestamp ran past 48 bits");
  return encode_v7(s.last_ms, s.counter, s.random());
}

Uuid new_uuid() {
  static UuidGenerator generator(system_clock());
  return generator.next();
}

}  // namespace unity

size_t std::hash<unity::Uuid>::operator()(const unity::Uuid& id) const noexcept {
  uint64_t high = 0;
  uint64_t low = 0;
  std::memcpy(&high, id.bytes.data(), 8);
  std::memcpy(&low, id.bytes.data() + 8, 8);
  return static_cast<size_t>(high ^ (low * 0x9E3779B97F4A7C15ULL));
}
