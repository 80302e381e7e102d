#include <gtest/gtest.h>

#include "core/error.h"
#include "queue/job.h"

namespace unity::queue {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, ExponentialDoublesWithinJitterAndIsCapped) {
  Backoff b = Backoff::exponential(std::chrono::seconds(1), std::chrono::seconds(60));
  EXPECT_EQ(b.delay(1, 0.5), milliseconds(1000));  // jitter 0.5 is the midpoint
  EXPECT_EQ(b.delay(3, 0.5), milliseconds(4000));
  EXPECT_EQ(b.delay(2, 0.0), milliseconds(1500));  // −25%
  EXPECT_GE(b.delay(2, 0.999), milliseconds(2499));
  EXPECT_EQ(b.delay(30, 0.5), milliseconds(60000));
  EXPECT_LE(b.delay(30, 0.999), milliseconds(60000));
}

TEST(BackoffTest, DefaultIsExponentialFromOneSecondCappedAtAnHour) {
  Backoff b;
  EXPECT_EQ(b.kind, Backoff::Kind::kExponential);
  EXPECT_EQ(b.delay(1, 0.5), milliseconds(1000));
  EXPECT_EQ(b.delay(40, 0.5), milliseconds(3'600'000));
}

TEST(BackoffTest, ParsesFixedListAndExponentialSpecs) {
  EXPECT_EQ(Backoff::parse("10").delay(5, 0.3), milliseconds(10000));
  Backoff list = Backoff::parse("1,5,10");
  EXPECT_EQ(list.delay(1, 0), milliseconds(1000));
  EXPECT_EQ(list.delay(2, 0), milliseconds(5000));
  EXPECT_EQ(list.delay(9, 0), milliseconds(10000));
  EXPECT_EQ(Backoff::parse("0.5").delay(1, 0), milliseconds(500));
  Backoff e = Backoff::parse("exp:2:30");
  EXPECT_EQ(e.delay(2, 0.5), milliseconds(4000));
  EXPECT_EQ(Backoff::parse(e.to_string()).delay(2, 0.5), milliseconds(4000));
  EXPECT_EQ(Backoff::parse(list.to_string()).delay(2, 0), milliseconds(5000));
}

TEST(BackoffTest, RejectsMalformedSpecs) {
  for (const char* bad : {"", "x", "1,,2", "-1", "exp:", "1e999", "1,a"}) {
    EXPECT_THROW(Backoff::parse(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace unity::queue
