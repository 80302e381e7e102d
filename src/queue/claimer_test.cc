// The tenant turn-taking of the claimer, without a database.
#include "queue/claimer.h"

#include <gtest/gtest.h>

#include <map>

namespace unity::queue {
namespace {

std::map<int64_t, int> tally(const std::vector<int64_t>& picks) {
  std::map<int64_t, int> out;
  for (int64_t t : picks) ++out[t];
  return out;
}

TEST(TenantRoundRobinTest, EqualWeightsAlternate) {
  TenantRoundRobin rr;
  FairnessSnapshot s;
  EXPECT_EQ(rr.pick("default", {1, 2, 3}, 6, s), (std::vector<int64_t>{1, 2, 3, 1, 2, 3}));
}

TEST(TenantRoundRobinTest, WeightsShareTheTurnsAndSpreadThem) {
  TenantRoundRobin rr;
  FairnessSnapshot s;
  s.settings[1] = {1, 3, std::nullopt};
  const auto picks = rr.pick("default", {1, 2}, 8, s);
  EXPECT_EQ(tally(picks), (std::map<int64_t, int>{{1, 6}, {2, 2}}));
  // Smooth: the light tenant is never kept waiting for all of the heavy one's turns.
  EXPECT_EQ(picks, (std::vector<int64_t>{1, 1, 2, 1, 1, 1, 2, 1}));
}

TEST(TenantRoundRobinTest, CreditCarriesAcrossOneSlotClaims) {
  TenantRoundRobin rr;
  FairnessSnapshot s;
  s.settings[2] = {2, 2, std::nullopt};
  std::vector<int64_t> picks;
  for (int i = 0; i < 9; ++i) picks.push_back(rr.pick("default", {1, 2}, 1, s).at(0));
  EXPECT_EQ(tally(picks), (std::map<int64_t, int>{{1, 3}, {2, 6}}));
}

TEST(TenantRoundRobinTest, QueuesKeepTheirOwnTurnsAndAGoneTenantLosesItsCredit) {
  TenantRoundRobin rr;
  FairnessSnapshot s;
  EXPECT_EQ(rr.pick("high", {1, 2}, 1, s), (std::vector<int64_t>{1}));
  EXPECT_EQ(rr.pick("low", {1, 2}, 1, s), (std::vector<int64_t>{1}));  // not 2: own turns
  EXPECT_EQ(rr.pick("high", {1, 2}, 1, s), (std::vector<int64_t>{2}));
  // Tenant 1 ran out of jobs; when it comes back it starts from nothing.
  EXPECT_EQ(rr.pick("high", {2}, 2, s), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(rr.pick("high", {1, 2}, 2, s), (std::vector<int64_t>{1, 2}));
}

TEST(FairnessSnapshotTest, PausesByQueueOrAllAndDefaults) {
  FairnessSnapshot s;
  s.pauses = {{1, "default"}, {2, "*"}};
  s.settings[3] = {3, 5, 2};
  EXPECT_TRUE(s.paused(1, "default"));
  EXPECT_FALSE(s.paused(1, "high"));
  EXPECT_TRUE(s.paused(2, "high"));
  EXPECT_FALSE(s.paused(3, "default"));
  EXPECT_EQ(s.weight(3), 5);
  EXPECT_EQ(s.weight(4), 1);
  EXPECT_EQ(s.max_concurrency(3), 2);
  EXPECT_EQ(s.max_concurrency(4), std::nullopt);
}

}  // namespace
}  // namespace unity::queue
