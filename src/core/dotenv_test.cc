// parse_dotenv (config.h, dotenv.cc).

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "core/config.h"
#include "core/error.h"

namespace unity {
namespace {

using Vars = std::map<std::string, std::string>;

void expect_malformed(const std::string& text, const std::string& expected_message) {
  SCOPED_TRACE(text);
  try {
    parse_dotenv(text, "app/.env");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()), expected_message);
  }
}

TEST(Dotenv, ReadsPlainAssignments) {
  EXPECT_EQ(parse_dotenv("A=1\nB=two words\nC=\n"),
            (Vars{{"A", "1"}, {"B", "two words"}, {"C", ""}}));
}

TEST(Dotenv, SkipsBlankLinesAndComments) {
  EXPECT_EQ(parse_dotenv("\n# a comment\n   \n  # indented comment\nA=1\n\n"), (Vars{{"A", "1"}}));
}

TEST(Dotenv, AcceptsExportPrefixAndBlanksAroundEquals) {
  EXPECT_EQ(parse_dotenv("export A=1\nexport\tB = 2\n  C =3"),
            (Vars{{"A", "1"}, {"B", "2"}, {"C", "3"}}));
  EXPECT_EQ(parse_dotenv("export=x"), (Vars{{"export", "x"}}));
}

TEST(Dotenv, InlineCommentNeedsABlankBeforeTheHash) {
  EXPECT_EQ(parse_dotenv("A=value # note\nB=abc#123\nC=#all comment\nD=trailing   \n"),
            (Vars{{"A", "value"}, {"B", "abc#123"}, {"C", ""}, {"D", "trailing"}}));
}

TEST(Dotenv, SingleQuotesAreLiteral) {
  EXPECT_EQ(parse_dotenv("A='  ${B} \\n # not a comment '  # comment\n"),
            (Vars{{"A", "  ${B} \\n # not a comment "}}));
}

TEST(Dotenv, DoubleQuotesUnescapeAndMaySpanLines) {
  EXPECT_EQ(parse_dotenv("A=\"tab\\there \\\"q\\\" back\\\\slash \\$ \\q\"\n"),
            (Vars{{"A", "tab\there \"q\" back\\slash $ \\q"}}));
  EXPECT_EQ(parse_dotenv("KEY=\"-----BEGIN-----\nline two\n-----END-----\"\nNEXT=1\n"),
            (Vars{{"KEY", "-----BEGIN-----\nline two\n-----END-----"}, {"NEXT", "1"}}));
  EXPECT_EQ(parse_dotenv("A=\"one\\ntwo\" # comment"), (Vars{{"A", "one\ntwo"}}));
}

TEST(Dotenv, LineNumbersCountLinesInsideMultiLineValues) {
  expect_malformed("A=\"x\ny\"\nB=1\nNOEQUALS\n", "app/.env:4: expected \"=\" after \"NOEQUALS\"");
}

TEST(Dotenv, ExpandsEarlierKeysThenTheEnvironment) {
  ::setenv("UNITY_DOTENV_TEST_HOME", "/home/unity", 1);
  const Vars vars = parse_dotenv(
      "HOST=db\nURL=postgres://${HOST}/x\nQ=\"${HOST}:${UNITY_DOTENV_TEST_HOME}\"\n"
      "S='${HOST}'\nMISSING=[${UNITY_DOTENV_TEST_UNSET}]\nDOLLAR=$HOST\n");
  ::unsetenv("UNITY_DOTENV_TEST_HOME");
  EXPECT_EQ(vars.at("URL"), "postgres://db/x");
  EXPECT_EQ(vars.at("Q"), "db:/home/unity");
  EXPECT_EQ(vars.at("S"), "${HOST}");
  EXPECT_EQ(vars.at("MISSING"), "[]");
  EXPECT_EQ(vars.at("DOLLAR"), "$HOST");
}

TEST(Dotenv, FileKeysWinOverTheEnvironmentInExpansion) {
  ::setenv("UNITY_DOTENV_TEST_X", "from-env", 1);
  const Vars vars = parse_dotenv("UNITY_DOTENV_TEST_X=from-file\nY=${UNITY_DOTENV_TEST_X}\n");
  ::unsetenv("UNITY_DOTENV_TEST_X");
  EXPECT_EQ(vars.at("Y"), "from-file");
}

TEST(Dotenv, LaterKeysWin) { EXPECT_EQ(parse_dotenv("A=1\nA=2\n"), (Vars{{"A", "2"}})); }

TEST(Dotenv, AcceptsCrlfAndAByteOrderMark) {
  EXPECT_EQ(parse_dotenv("\xEF\xBB\xBF"
                         "A=1\r\nB=\"x\r\ny\"\r\n# c\r\nC='z'\r\n"),
            (Vars{{"A", "1"}, {"B", "x\ny"}, {"C", "z"}}));
}

TEST(Dotenv, MalformedLinesNameTheSourceAndLine) {
  expect_malformed("A=1\nNOEQUALS\n", "app/.env:2: expected \"=\" after \"NOEQUALS\"");
  expect_malformed("\n\n1BAD=x\n", "app/.env:3: invalid variable name \"1BAD\"");
  expect_malformed("=x\n", "app/.env:1: invalid variable name \"\"");
  expect_malformed("BAD-NAME=x\n", "app/.env:1: invalid variable name \"BAD-NAME\"");
  expect_malformed("TWO WORDS=x\n", "app/.env:1: expected \"=\" after \"TWO\"");
}

TEST(Dotenv, UnterminatedQuotesNameTheLineTheyOpen) {
  expect_malformed("A=1\nB=\"never closed\nC=2\n", "app/.env:2: unterminated \"");
  expect_malformed("A='open\nB='x'\n", "app/.env:1: unterminated '");
  expect_malformed("A=\"ends in backslash\\", "app/.env:1: unterminated \"");
}

TEST(Dotenv, TextAfterAClosingQuoteIsAnError) {
  expect_malformed("A='x' y\n", "app/.env:1: unexpected text after the closing quote");
  expect_malformed("A=\"x\ny\"z\n", "app/.env:2: unexpected text after the closing quote");
}

TEST(Dotenv, BadExpansionsAreErrors) {
  expect_malformed("A=${B\n", "app/.env:1: unterminated ${");
  expect_malformed("A=\"${B-C}\"\n", "app/.env:1: invalid variable name \"B-C\" in ${...}");
}

}  // namespace
}  // namespace unity
