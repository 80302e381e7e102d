#include "core/thread_name.h"

#include <thread>

#include <gtest/gtest.h>

namespace unity {
namespace {

TEST(ThreadNameTest, NamesTheCallingThreadAndCutsAtFifteenBytes) {
  std::string short_name, long_name;
  std::thread([&] {
    name_this_thread("unity exec 3");
    short_name = current_thread_name();
    name_this_thread("unity a name far too long for linux");
    long_name = current_thread_name();
  }).join();
  EXPECT_EQ(short_name, "unity exec 3");
  EXPECT_EQ(long_name, "unity a name fa");
}

}  // namespace
}  // namespace unity
