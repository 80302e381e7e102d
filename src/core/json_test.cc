#include "core/json.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "core/error.h"

namespace unity {
namespace {

using nlohmann::json;

void expect_invalid(const std::function<void()>& f, const std::string& expected_message) {
  try {
    f();
    ADD_FAILURE() << "no error; expected: " << expected_message;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), expected_message);
  }
}

// Like expect_invalid, but only the start of the message is fixed (nlohmann words the rest).
void expect_invalid_prefix(const std::function<void()>& f, const std::string& prefix) {
  try {
    f();
    ADD_FAILURE() << "no error; expected: " << prefix;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()).substr(0, prefix.size()), prefix) << e.what();
  }
}

const json kProduct = json::parse(R"({
  "sku": "A-1", "name": "Widget", "price": "12.50", "reorder_level": 5, "big": 18446744073709551615,
  "cost": 12.5, "unit": null, "tags": ["x"], "negative": -3, "huge": 1000000000000000
})");

TEST(Json, ParseJsonReadsAnyValue) {
  EXPECT_EQ(parse_json(R"({"a":[1,"b",null]})", "payload"),
            json({{"a", json::array({1, "b", nullptr})}}));
  EXPECT_EQ(parse_json("42", "payload"), json(42));
}

TEST(Json, ParseJsonErrorNamesWhatAndWhere) {
  expect_invalid_prefix([] { parse_json("{\"a\":", "job payload"); },
                        "job payload is not valid JSON: parse error at line 1, column 6");
  expect_invalid_prefix([] { parse_json("", "stdin"); }, "stdin is not valid JSON: ");
  expect_invalid_prefix([] { parse_json("{} trailing", "stdin"); }, "stdin is not valid JSON: ");
  expect_invalid_prefix([] { parse_json("{/*c*/}", "stdin"); }, "stdin is not valid JSON: ");
}

std::string nested(int levels, const std::string& open, const std::string& close) {
  std::string text;
  for (int i = 0; i < levels; ++i) text += open;
  text += "1";
  for (int i = 0; i < levels; ++i) text += close;
  return text;
}

// Regression: {"a":{"a":…100,000 levels…}} parsed (nlohmann's parser is iterative) and the first
// copy of the value overflowed the stack: a sync page killed every worker that ran it.
TEST(Json, DeepJsonIsRefusedAtTheDepthLimitInsteadOfCrashingLater) {
  const std::string limit = " is nested too deeply: more than 128 levels of arrays and objects";
  const std::string deep = nested(100000, R"({"a":)", "}");
  expect_invalid([&] { parse_json(deep, "the response"); }, "the response" + limit);
  expect_invalid([&] { parse_json_object(deep, "--data"); }, "--data" + limit);
  expect_invalid([&] { require_json_object(deep, "the job payload"); }, "the job payload" + limit);
  expect_invalid([&] { parse_json(nested(100000, "[", "]"), "x"); }, "x" + limit);
  // Exactly at the limit is fine, and copies like any value; one more level is not.
  const json at_limit = parse_json(nested(kMaxJsonDepth, "[", "]"), "x");
  EXPECT_EQ(json(at_limit), at_limit);
  expect_invalid([] { parse_json(nested(kMaxJsonDepth + 1, "[", "]"), "x"); }, "x" + limit);
  expect_invalid([] { parse_json(nested(3, "[", "]"), "x", {.max_depth = 2}); },
                 "x is nested too deeply: more than 2 levels of arrays and objects");
  // Brackets inside strings (escaped quotes included) are text, not nesting.
  const std::string text = "[\"" + std::string(1000, '[') + "\\\"" + std::string(1000, '{') + "\"]";
  EXPECT_EQ(parse_json(text, "x")[0].get<std::string>().size(), 2001u);
}

TEST(Json, ParseErrorsQuoteAtMost32BytesOfTheInputAndNoneWhenAsked) {
  const std::string long_token = "[\"" + std::string(100000, 'x') + "\x01\"]";
  try {
    parse_json(long_token, "x");
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_LT(m.size(), 300u) << m;
    EXPECT_NE(m.find("last read: '\"xxxxxxxx"), std::string::npos) << m;
  }
  try {
    parse_json(R"({"token":"s3cret", oops})", "the response", {.quote_input = false});
    FAIL();
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find("last read"), std::string::npos) << m;
    EXPECT_EQ(m.find("oops"), std::string::npos) << m;
    EXPECT_EQ(m.rfind("the response is not valid JSON: parse error at line 1, column", 0), 0u) << m;
  }
}

TEST(Json, ParseJsonObjectRequiresAnObject) {
  EXPECT_EQ(parse_json_object(R"({"a":1})", "payload"), json({{"a", 1}}));
  expect_invalid([] { parse_json_object("[1]", "payload"); },
                 "payload must be a JSON object, got array");
  expect_invalid([] { parse_json_object("\"s\"", "payload"); },
                 "payload must be a JSON object, got string");
}

TEST(Json, RequireStringNamesTheField) {
  EXPECT_EQ(require_string(kProduct, "sku"), "A-1");
  expect_invalid([] { require_string(kProduct, "email"); }, "field \"email\" is missing");
  expect_invalid([] { require_string(kProduct, "reorder_level"); },
                 "field \"reorder_level\" must be a string, got number");
  expect_invalid([] { require_string(kProduct, "unit"); },
                 "field \"unit\" must be a string, got null");
}

TEST(Json, FieldAccessOnANonObjectSaysSo) {
  expect_invalid([] { require_string(json::array(), "sku"); }, "expected a JSON object, got array");
  expect_invalid([] { optional_int(json(3), "n"); }, "expected a JSON object, got number");
}

TEST(Json, OptionalStringTreatsMissingAndNullAsAbsent) {
  EXPECT_EQ(optional_string(kProduct, "name"), "Widget");
  EXPECT_EQ(optional_string(kProduct, "email"), std::nullopt);
  EXPECT_EQ(optional_string(kProduct, "unit"), std::nullopt);
  expect_invalid([] { optional_string(kProduct, "tags"); },
                 "field \"tags\" must be a string, got array");
}

TEST(Json, RequireIntAcceptsIntegersOnly) {
  EXPECT_EQ(require_int(kProduct, "reorder_level"), 5);
  EXPECT_EQ(require_int(kProduct, "negative"), -3);
  EXPECT_EQ(require_int(json({{"n", INT64_MAX}}), "n"), INT64_MAX);
  EXPECT_EQ(require_int(json({{"n", INT64_MIN}}), "n"), INT64_MIN);
  expect_invalid([] { require_int(kProduct, "cost"); },
                 "field \"cost\" must be an integer, got number");
  expect_invalid([] { require_int(kProduct, "sku"); },
                 "field \"sku\" must be an integer, got string");
  expect_invalid([] { require_int(kProduct, "big"); },
                 "field \"big\" is out of range: 18446744073709551615");
  expect_invalid([] { require_int(kProduct, "missing"); }, "field \"missing\" is missing");
}

TEST(Json, OptionalIntTreatsMissingAndNullAsAbsent) {
  EXPECT_EQ(optional_int(kProduct, "reorder_level"), 5);
  EXPECT_EQ(optional_int(kProduct, "unit"), std::nullopt);
  EXPECT_EQ(optional_int(kProduct, "missing"), std::nullopt);
}

TEST(Json, RequireDecimalAcceptsStringsAndIntegers) {
  EXPECT_EQ(require_decimal(kProduct, "price"), Decimal::parse("12.50"));
  EXPECT_EQ(require_decimal(kProduct, "reorder_level"), Decimal::from_units(5));
  EXPECT_EQ(require_decimal(kProduct, "negative"), Decimal::from_units(-3));
}

TEST(Json, RequireDecimalRejectsFloatsSayingDecimalsAreStrings) {
  expect_invalid([] { require_decimal(kProduct, "cost"); },
                 "field \"cost\" must be a decimal string like \"12.50\", got 12.5 (decimals are "
                 "strings, never floating point)");
}

TEST(Json, RequireDecimalPrefixesParseErrorsWithTheField) {
  expect_invalid(
      [] {
        require_decimal(json({{"price", "12.34567"}}), "price");
      },
      "field \"price\": \"12.34567\" has more than 4 decimal places");
  expect_invalid(
      [] {
        require_decimal(json({{"price", "12,50"}}), "price");
      },
      "field \"price\": \"12,50\" is not a decimal number (expected [+|-]digits[.digits], "
      "e.g. \"12.50\")");
  expect_invalid([] { require_decimal(kProduct, "tags"); },
                 "field \"tags\" must be a decimal string like \"12.50\", got array");
  expect_invalid_prefix([] { require_decimal(kProduct, "huge"); },
                        "field \"huge\": decimal overflow: 1000000000000000 whole units");
  expect_invalid([] { require_decimal(kProduct, "big"); },
                 "field \"big\" is out of range: 18446744073709551615");
}

TEST(Json, OptionalDecimalTreatsMissingAndNullAsAbsent) {
  EXPECT_EQ(optional_decimal(kProduct, "price"), Decimal::parse("12.5"));
  EXPECT_EQ(optional_decimal(kProduct, "unit"), std::nullopt);
  EXPECT_EQ(optional_decimal(kProduct, "missing"), std::nullopt);
}

TEST(Json, DumpJsonIsCompact) {
  EXPECT_EQ(dump_json(json({{"a", 1}, {"b", json::array({"x", nullptr})}})),
            R"({"a":1,"b":["x",null]})");
}

TEST(Json, DumpJsonReplacesInvalidUtf8InsteadOfThrowing) {
  EXPECT_EQ(dump_json(json("bad \xFF byte")), "\"bad \xEF\xBF\xBD byte\"");
}

TEST(Json, DecimalsConvertToAndFromJsonStrings) {
  const json j = {{"price", Decimal::parse("12.5")}};
  EXPECT_EQ(dump_json(j), R"({"price":"12.50"})");
  EXPECT_EQ(j.at("price").get<Decimal>(), Decimal::parse("12.5"));
  expect_invalid([] { json(1.5).get<Decimal>(); },
                 "JSON decimal must be a decimal string like \"12.50\", got 1.5 (decimals are "
                 "strings, never floating point)");
}

}  // namespace
}  // namespace unity

namespace unity {
namespace {

TEST(RequireJsonObjectTest, AcceptsObjectsAndRejectsEverythingElse) {
  EXPECT_NO_THROW(require_json_object(R"( {"a":1,"b":[1,2]} )", "payload"));
  for (const char* bad : {"", "[1]", "1", "\"x\"", "{", "{\"a\":}", "{} {}", "null"}) {
    try {
      require_json_object(bad, "the payload");
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument) << bad;
      EXPECT_NE(std::string(e.what()).find("the payload"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace unity

TEST(Json, AppendJsonStringEscapesLikeNlohmannDump) {
  const std::vector<std::string> samples = {
      "",
      "plain",
      "quote \" and backslash \\",
      "controls \b\f\n\r\t and \x01\x1f, DEL \x7f",
      std::string("NUL \0 inside", 12),
      "UTF-8: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
      "=SUM(A1) ,\"\" 'x'",
  };
  for (const auto& s : samples) {
    std::string out = "prefix:";
    unity::append_json_string(out, s);
    EXPECT_EQ(out, "prefix:" + nlohmann::json(s).dump()) << s;
  }
}
