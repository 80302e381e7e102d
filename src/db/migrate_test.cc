#include "db/migrate.h"

#include <gtest/gtest.h>

namespace unity::db {
namespace {

TEST(ChecksumTest, IsStableAndSensitiveToEveryByte) {
  EXPECT_EQ(checksum_of(""), "cbf29ce484222325");  // FNV-1a 64 offset basis
  EXPECT_EQ(checksum_of("CREATE TABLE t (id INT);"), checksum_of("CREATE TABLE t (id INT);"));
  EXPECT_NE(checksum_of("CREATE TABLE t (id INT);"), checksum_of("CREATE TABLE t (id INT); "));
  EXPECT_EQ(checksum_of("x").size(), 16u);
}

}  // namespace
}  // namespace unity::db
