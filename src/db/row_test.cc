#include "db/row.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace unity::db {
namespace {

Row make_row(std::vector<Value> values) {
  auto cols = std::make_shared<std::vector<std::string>>();
  for (size_t i = 0; i < values.size(); ++i) cols->push_back("c" + std::to_string(i));
  return Row(cols, std::move(values));
}

TEST(RowTest, ReadsTypedValuesByIndexAndName) {
  Row r = make_row({int64_t{42}, std::string("hi"), 0.5, kNull});
  EXPECT_EQ(r.get<int64_t>(0), 42);
  EXPECT_EQ(r.get<std::string>("c1"), "hi");
  EXPECT_DOUBLE_EQ(r.get<double>(2), 0.5);
  EXPECT_TRUE(r.is_null("c3"));
  EXPECT_EQ(r.get<std::optional<int64_t>>(3), std::nullopt);
}

TEST(RowTest, ConvertsNumericTextAndPostgresBooleans) {
  Row r = make_row({std::string("-17"), std::string("t"), std::string("f"), int64_t{7}});
  EXPECT_EQ(r.get<int64_t>(0), -17);
  EXPECT_TRUE(r.get<bool>(1));
  EXPECT_FALSE(r.get<bool>(2));
  EXPECT_EQ(r.get<std::string>(3), "7");
}

TEST(RowTest, MisuseIsAnInternalError) {
  Row r = make_row({kNull, std::string("abc")});
  auto code_of = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInvalidArgument;
  };
  EXPECT_EQ(code_of([&] { r.get<int64_t>(0); }), ErrorCode::kInternal);
  EXPECT_EQ(code_of([&] { r.get<std::string>(0); }), ErrorCode::kInternal);
  EXPECT_EQ(code_of([&] { r.get<int64_t>(1); }), ErrorCode::kInternal);
  EXPECT_EQ(code_of([&] { r.get<int64_t>(5); }), ErrorCode::kInternal);
  EXPECT_EQ(code_of([&] { r.get<int64_t>("nope"); }), ErrorCode::kInternal);
}

}  // namespace
}  // namespace unity::db
