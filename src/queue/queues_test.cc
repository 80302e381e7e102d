#include "queue/queues.h"

#include <gtest/gtest.h>

namespace unity::queue {
namespace {

TEST(DefaultWorkerQueuesTest, AreHighThenDbQueueThenLow) {
  Config config;
  config.queue_default = "default";
  EXPECT_EQ(default_worker_queues(config), (std::vector<std::string>{"high", "default", "low"}));
  config.queue_default = "emails";
  EXPECT_EQ(default_worker_queues(config), (std::vector<std::string>{"high", "emails", "low"}));
}

TEST(DefaultWorkerQueuesTest, NameADbQueueOfHighOrLowOnce) {
  Config config;
  config.queue_default = "low";
  EXPECT_EQ(default_worker_queues(config), (std::vector<std::string>{"high", "low"}));
  config.queue_default = "high";
  EXPECT_EQ(default_worker_queues(config), (std::vector<std::string>{"high", "low"}));
}

}  // namespace
}  // namespace unity::queue
