#include "core/text.h"

#include <gtest/gtest.h>

namespace unity {
namespace {

TEST(TextTest, AsciiLowerTurnsOnlyTheLettersAToZ) {
  EXPECT_EQ(ascii_lower("Ada.Lovelace@Example.COM"), "ada.lovelace@example.com");
  EXPECT_EQ(ascii_lower("AZaz09@[]_`{~"), "azaz09@[]_`{~");
  EXPECT_EQ(ascii_lower(""), "");
}

TEST(TextTest, AsciiLowerKeepsBytesOutsideAsciiAsTheyAre) {
  // UTF-8 "ÄÖÜ İ" and a lone Latin-1 'Ä' (0xC4): a locale-aware lower-casing could change them.
  EXPECT_EQ(ascii_lower("\xC3\x84\xC3\x96\xC3\x9C \xC4\xB0"), "\xC3\x84\xC3\x96\xC3\x9C \xC4\xB0");
  EXPECT_EQ(ascii_lower("\xC4X"), "\xC4x");
  const std::string with_nul("A\0B", 3);
  EXPECT_EQ(ascii_lower(with_nul), std::string("a\0b", 3));
}

}  // namespace
}  // namespace unity
