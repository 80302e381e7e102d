#include "core/trace.h"

#include <gtest/gtest.h>

namespace unity::trace {
namespace {

constexpr const char* kValid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceParentTest, ParsesTheSpecExample) {
  auto p = parse_traceparent(kValid);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(p->parent_span_id, "00f067aa0ba902b7");
  EXPECT_EQ(p->flags, 1);
}

TEST(TraceParentTest, RefusesMalformedHeaders) {
  for (const char* bad : {
           "", "garbage",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",        // no flags
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",  // v00 is exactly 55
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",     // upper case
           "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",     // not hex
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",     // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",     // zero span id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // forbidden version
           "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // separator
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-zz",     // flags not hex
       }) {
    EXPECT_FALSE(parse_traceparent(bad)) << bad;
  }
}

TEST(TraceParentTest, ReadsAFutureVersionByItsKnownPrefix) {
  EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_FALSE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra"));
}

TEST(TraceParentTest, FormatRoundTrips) {
  const std::string t = new_trace_id(), s = new_span_id();
  EXPECT_EQ(t.size(), 32u);
  EXPECT_EQ(s.size(), 16u);
  auto p = parse_traceparent(format_traceparent(t, s));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->trace_id, t);
  EXPECT_EQ(p->parent_span_id, s);
  EXPECT_NE(new_trace_id(), t);
}

TEST(TraceParentTest, SpanIdOfUuidIsItsLastSixteenDigits) {
  EXPECT_EQ(span_id_of_uuid("0190b7e4-5a2c-7d3e-8f01-23456789abcd"), "8f0123456789abcd");
}

TEST(TraceScopeTest, NestsAndRestores) {
  EXPECT_EQ(current_trace(), nullptr);
  {
    TraceScope outer("aaaa", "1111");
    ASSERT_NE(current_trace(), nullptr);
    {
      TraceScope untraced("", "");
      EXPECT_EQ(current_trace(), nullptr);
    }
    {
      TraceScope inner("aaaa", "2222");
      EXPECT_EQ(current_trace()->span_id, "2222");
    }
    EXPECT_EQ(current_trace()->span_id, "1111");
  }
  EXPECT_EQ(current_trace(), nullptr);
}

}  // namespace
}  // namespace unity::trace
