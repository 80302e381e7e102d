#include "core/uuid.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/error.h"

namespace unity {
namespace {

using std::chrono::milliseconds;

// 2026-11-28T02:27:32.123456Z
const TimePoint kStart{std::chrono::microseconds(1795832852123456)};

TEST(Uuid, DefaultIsNil) { EXPECT_EQ(Uuid().to_string(), "00000000-0000-0000-0000-000000000000"); }

TEST(Uuid, GeneratedIdHasVersion7AndVariant10) {
  ManualClock clock(kStart);
  UuidGenerator generator(clock);
  for (int i = 0; i < 1000; ++i) {
    const Uuid id = generator.next();
    EXPECT_EQ(id.version(), 7);
    EXPECT_EQ(id.bytes[6] >> 4, 7);
    EXPECT_EQ(id.bytes[8] >> 6, 0b10);
    EXPECT_EQ(id.to_string()[14], '7');
  }
}

TEST(Uuid, TimestampBitsEqualTheManualClockMilliseconds) {
  ManualClock clock(kStart);
  UuidGenerator generator(clock);
  EXPECT_EQ(generator.next().unix_ts_ms(), 1795832852123);
  EXPECT_EQ(generator.next().to_string().substr(0, 13), "01a21ffa-ae9b");  // the same 48 bits
  clock.advance(std::chrono::seconds(1));
  const Uuid later = generator.next();
  EXPECT_EQ(later.unix_ts_ms(), 1795832853123);
  EXPECT_EQ(later.unix_ts_ms(), clock.now_ms());
}

TEST(Uuid, IdsAreStrictlyIncreasingOverHundredThousandInOneMillisecond) {
  ManualClock clock(kStart);
  UuidGenerator generator(clock);
  Uuid previous = generator.next();
  for (int i = 0; i < 100000; ++i) {
    const Uuid id = generator.next();
    ASSERT_LT(previous, id) << "at " << i << ": " << previous.to_string() << " !< "
                            << id.to_string();
    previous = id;
  }
  // At least 2048 ids fit in each millisecond, so the counter borrowed at most ~49 milliseconds.
  EXPECT_GT(previous.unix_ts_ms(), clock.now_ms());
  EXPECT_LE(previous.unix_ts_ms(), clock.now_ms() + 100000 / 2048 + 1);
}

TEST(Uuid, IdsStayIncreasingWhenTheClockStepsBack) {
  ManualClock clock(kStart);
  UuidGenerator generator(clock);
  const Uuid before = generator.next();
  clock.advance(-std::chrono::seconds(5));
  const Uuid after = generator.next();
  EXPECT_LT(before, after);
  EXPECT_EQ(after.unix_ts_ms(), before.unix_ts_ms());
}

TEST(Uuid, GeneratorRejectsAClockBeforeTheEpoch) {
  ManualClock clock(TimePoint(std::chrono::microseconds(-1000)));
  UuidGenerator generator(clock);
  try {
    generator.next();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
}

TEST(Uuid, TwoGeneratorsDrawDifferentRandomBits) {
  ManualClock clock(kStart);
  UuidGenerator first(clock);
  UuidGenerator second(clock);
  EXPECT_NE(first.next(), second.next());
}

TEST(Uuid, ToStringIsCanonicalLowercase) {
  Uuid id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(i * 17);
  EXPECT_EQ(id.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
}

TEST(Uuid, ParseRoundTripsToString) {
  ManualClock clock(kStart);
  UuidGenerator generator(clock);
  for (int i = 0; i < 1000; ++i) {
    const Uuid id = generator.next();
    ASSERT_EQ(Uuid::parse(id.to_string()), id);
  }
}

TEST(Uuid, ParseAcceptsUppercaseAndAnyVersion) {
  const Uuid id = Uuid::parse("550E8400-E29B-41D4-A716-446655440000");
  EXPECT_EQ(id.to_string(), "550e8400-e29b-41d4-a716-446655440000");
  EXPECT_EQ(id.version(), 4);
}

TEST(Uuid, ParseRejectsBadTextQuotingIt) {
  for (const char* text :
       {"", "not-a-uuid", "550e8400-e29b-41d4-a716-44665544000",
        "550e8400-e29b-41d4-a716-4466554400000", "550e8400e29b41d4a716446655440000",
        "550e8400-e29b-41d4-a716_446655440000", "550e840-0e29b-41d4-a716-446655440000",
        "550e8400-e29b-41d4-a716-44665544000g", "{550e8400-e29b-41d4-a716-446655440000}",
        " 550e8400-e29b-41d4-a716-44665544000"}) {
    SCOPED_TRACE(text);
    try {
      Uuid::parse(text);
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("\"" + std::string(text) + "\" is not a UUID"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Uuid, OrderingFollowsTheBytes) {
  const Uuid low = Uuid::parse("01000000-0000-7000-8000-000000000000");
  const Uuid high = Uuid::parse("01000000-0000-7001-8000-000000000000");
  EXPECT_LT(low, high);
  EXPECT_NE(low, high);
  EXPECT_EQ(low, Uuid::parse(low.to_string()));
}

TEST(Uuid, IdsAreUniqueAndPerThreadIncreasingAcrossFourThreads) {
  UuidGenerator generator(system_clock());
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25000;
  std::vector<std::vector<Uuid>> made(kThreads);
  {
    std::vector<std::jthread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          made[t].push_back(i % 2 ? generator.next() : new_uuid());
        }
      });
    }
  }
  std::unordered_set<Uuid> all;
  for (const auto& ids : made) {
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_TRUE(all.insert(ids[i]).second) << "duplicate " << ids[i].to_string();
      if (i >= 2) {
        ASSERT_LT(ids[i - 2], ids[i]);  // same generator two steps back
      }
    }
  }
  EXPECT_EQ(all.size(), size_t{kThreads * kPerThread});
}

TEST(Uuid, NewUuidIsVersion7AndNearTheSystemClock) {
  const int64_t before = system_clock().now_ms();
  const Uuid id = new_uuid();
  const int64_t after = system_clock().now_ms();
  EXPECT_EQ(id.version(), 7);
  EXPECT_GE(id.unix_ts_ms(), before);
  EXPECT_LE(id.unix_ts_ms(), after + 1);
}

}  // namespace
}  // namespace unity
