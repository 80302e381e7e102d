// The hand-off between the claimer and the executors, without a database.
#include "queue/local_jobs.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace unity::queue {
namespace {

ClaimedJob job(int64_t id, const std::string& queue) {
  ClaimedJob j;
  j.id = id;
  j.queue = queue;
  j.lease_token = 100 + id;
  return j;
}

class LocalJobsTest : public ::testing::Test {
 protected:
  AttemptDefaults defaults_{std::nullopt, 30, std::nullopt};
  ManualClock clock_{TimePoint(std::chrono::seconds(1'800'000'000))};
  LocalJobs jobs_{{"high", "default", "low"}, 4, defaults_, clock_};
  std::stop_source stop_;
};

TEST_F(LocalJobsTest, AHigherQueueOvertakesClaimedAheadJobs) {
  jobs_.add({job(1, "low"), job(2, "default")});
  jobs_.add({job(3, "high"), job(4, "low")});
  std::vector<int64_t> order;
  while (jobs_.waiting() > 0) order.push_back(jobs_.take(stop_.get_token())->job.id);
  EXPECT_EQ(order, (std::vector<int64_t>{3, 2, 1, 4}));
}

TEST_F(LocalJobsTest, SlotsCountWaitingAndRunningJobs) {
  EXPECT_EQ(jobs_.free_slots(), 4);
  jobs_.add({job(1, "default"), job(2, "default")});
  EXPECT_EQ(jobs_.free_slots(), 2);
  auto f = jobs_.take(stop_.get_token());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->timeout, std::chrono::seconds(30));
  EXPECT_EQ(jobs_.free_slots(), 2);
  EXPECT_EQ(jobs_.held().size(), 2u);
  EXPECT_EQ(jobs_.started_or_waiting(), 2);
  jobs_.finish(f->job, Outcome::kDone);
  EXPECT_EQ(jobs_.free_slots(), 3);
  EXPECT_EQ(jobs_.finished(), 1);
  EXPECT_EQ(jobs_.stats().completed, 1);
  EXPECT_EQ(jobs_.take_waiting().size(), 1u);
  EXPECT_TRUE(jobs_.idle());
}

TEST_F(LocalJobsTest, OutcomesAreCountedPerQueueUntilTaken) {
  jobs_.add({job(1, "default"), job(2, "default"), job(3, "low"), job(4, "low")});
  const Outcome outcomes[] = {Outcome::kDone, Outcome::kFailed, Outcome::kRetry, Outcome::kFenced};
  for (Outcome o : outcomes) jobs_.finish(jobs_.take(stop_.get_token())->job, o);
  const auto counts = jobs_.take_counts();
  EXPECT_EQ(counts.at("default"), std::make_pair(int64_t{1}, int64_t{1}));
  EXPECT_EQ(counts.count("low"), 0u);
  EXPECT_TRUE(jobs_.take_counts().empty());
  const WorkerStats s = jobs_.stats();
  EXPECT_EQ(s.processed, 4);
  EXPECT_EQ(s.retried, 1);
  EXPECT_EQ(s.failed, 1);
}

TEST_F(LocalJobsTest, TakeReturnsNothingOnceStoppedAndEmpty) {
  std::thread t([&] { EXPECT_FALSE(jobs_.take(stop_.get_token())); });
  stop_.request_stop();
  t.join();
}

TEST_F(LocalJobsTest, AFinishedJobWakesTheClaimerWaitingForSlots) {
  jobs_.add({job(1, "default"), job(2, "default"), job(3, "default"), job(4, "default")});
  std::vector<InFlight> running;
  for (int i = 0; i < 4; ++i) running.push_back(*jobs_.take(stop_.get_token()));
  std::thread t([&] {
    for (auto& f : running) jobs_.finish(f.job, Outcome::kDone);
  });
  // Without the wake-up this waits the whole hour.
  const auto t0 = std::chrono::steady_clock::now();
  jobs_.wait_for_slots(2, std::chrono::hours(1), stop_.get_token());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::minutes(1));
  t.join();
}

TEST_F(LocalJobsTest, TwoReservationsNeverExceedTheRoom) {
  // Two claim loops each ask for the whole room: what they get together is the room.
  EXPECT_EQ(jobs_.room(), 4);
  const int first = jobs_.reserve(4);
  const int second = jobs_.reserve(4);
  EXPECT_EQ(first, 4);
  EXPECT_EQ(second, 0);
  EXPECT_EQ(jobs_.room(), 0);
  EXPECT_FALSE(jobs_.idle()) << "a claim in flight: not idle (--stop-when-empty)";
  // The first claim returned one job: the rest of its reservation is free again.
  jobs_.add({job(1, "default")}, first);
  EXPECT_EQ(jobs_.room(), 3);
  EXPECT_EQ(jobs_.reserve(2), 2);
  EXPECT_EQ(jobs_.reserve(2), 1);
  EXPECT_EQ(jobs_.room(), 0);
  jobs_.unreserve(2);  // a claim failed
  jobs_.unreserve(1);
  EXPECT_EQ(jobs_.room(), 3);
  EXPECT_EQ(jobs_.take_waiting().size(), 1u);
  EXPECT_TRUE(jobs_.idle());
}

TEST_F(LocalJobsTest, ReservationsStopAtTheMostJobsHeld) {
  // --max-jobs=4 with 4 slots: one job started and finished, one waiting, then two claims.
  jobs_.add({job(1, "default")});
  jobs_.finish(jobs_.take(stop_.get_token())->job, Outcome::kDone);
  jobs_.add({job(2, "default")});
  EXPECT_EQ(jobs_.room(), 3);
  const int first = jobs_.reserve(3, 4);
  const int second = jobs_.reserve(3, 4);
  EXPECT_EQ(first, 2);
  EXPECT_EQ(second, 0);
  EXPECT_EQ(jobs_.started_or_waiting(), 4);
  jobs_.unreserve(first);
  EXPECT_EQ(jobs_.started_or_waiting(), 2);
}

TEST_F(LocalJobsTest, ConcurrentReservationsNeverExceedTheRoom) {
  std::atomic<int> held{0}, most{0};
  std::atomic<bool> over{false};
  std::vector<std::thread> loops;
  for (int l = 0; l < 2; ++l) {
    loops.emplace_back([&, l] {
      for (int i = 0; i < 20000; ++i) {
        const int got = jobs_.reserve(1 + (i + l) % 4);
        const int now = held += got;
        if (now > 4) over = true;
        int m = most.load();
        while (now > m && !most.compare_exchange_weak(m, now)) {
        }
        held -= got;
        jobs_.unreserve(got);
      }
    });
  }
  for (auto& t : loops) t.join();
  EXPECT_FALSE(over.load());
  EXPECT_LE(most.load(), 4);
  EXPECT_EQ(jobs_.room(), 4);
}

TEST_F(LocalJobsTest, EachClaimLoopHasItsOwnWakeUp) {
  jobs_.wake_claimer(1);
  const auto t0 = std::chrono::steady_clock::now();
  // Loop 0 was not woken and the room (4) is short of 5: it waits its timeout.
  jobs_.wait_for_slots(5, std::chrono::milliseconds(50), stop_.get_token(), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
  // Loop 1's wake-up came before its wait and still counts.
  const auto t1 = std::chrono::steady_clock::now();
  jobs_.wait_for_slots(5, std::chrono::hours(1), stop_.get_token(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::minutes(1));
}

// Runs `n` jobs of `run_us` each through `jobs`.
void run_jobs(LocalJobs& jobs, std::stop_token stop, int64_t first_id, int n, int64_t run_us) {
  for (int i = 0; i < n; ++i) {
    jobs.add({job(first_id + i, "default")});
    jobs.finish(jobs.take(stop)->job, Outcome::kDone, run_us);
  }
}

TEST_F(LocalJobsTest, ShortJobsLetTheWorkerHoldJobsAheadLongOnesDoNot) {
  LocalJobs ahead({"default"}, 4, defaults_, clock_, /*claim_ahead=*/true);
  EXPECT_EQ(ahead.ahead(), 0);  // nothing known yet
  run_jobs(ahead, stop_.get_token(), 1, LocalJobs::kAheadAfterJobs - 1, 100);
  EXPECT_EQ(ahead.ahead(), 0);                        // too few attempts to judge
  run_jobs(ahead, stop_.get_token(), 100, 200, 500);  // the average converges from below
  EXPECT_EQ(ahead.ahead(), 16);                       // 4 slots × 2 ms / 0.5 ms
  EXPECT_EQ(ahead.room(), 4 + 16);
  EXPECT_EQ(ahead.free_slots(), 4);
  run_jobs(ahead, stop_.get_token(), 300, 200, 10);
  EXPECT_EQ(ahead.ahead(), 4 * LocalJobs::kAheadPerSlot);  // 4 × 2 ms / 0.01 ms = 800, capped
  run_jobs(ahead, stop_.get_token(), 500, 64, 1'000'000);  // jobs of a second
  EXPECT_EQ(ahead.ahead(), 0);
  EXPECT_EQ(ahead.room(), 4);
  // Without claim_ahead (--batch given) short jobs change nothing.
  run_jobs(jobs_, stop_.get_token(), 1, 32, 100);
  EXPECT_EQ(jobs_.ahead(), 0);
  EXPECT_EQ(jobs_.room(), jobs_.free_slots());
}

TEST_F(LocalJobsTest, AJobClaimedAgainBeforeItsFirstAttemptFinishedIsHeldTwice) {
  // Retried at once, a job can be claimed again (new lease token) while the executor of its
  // first attempt has not called finish() yet: each attempt keeps its own entry.
  jobs_.add({job(1, "default")});
  const InFlight* first = jobs_.take(stop_.get_token());
  ClaimedJob again = job(1, "default");
  again.lease_token = 999;
  jobs_.add({again});
  const InFlight* second = jobs_.take(stop_.get_token());
  ASSERT_NE(first, second);
  EXPECT_EQ(jobs_.held().size(), 2u);
  jobs_.finish(first->job, Outcome::kRetry);
  EXPECT_EQ(second->job.lease_token, 999);  // still there (ASan: no use after free)
  EXPECT_EQ(jobs_.held().size(), 1u);
  jobs_.finish(second->job, Outcome::kDone);
  EXPECT_TRUE(jobs_.idle());
}

TEST_F(LocalJobsTest, JobsThatBlockRunSideBySideThoughOneAddWakesOneExecutor) {
  // Four executors asleep; each job waits until all four run. Without the cascade of wake-ups
  // (one add(), one notify) three jobs would wait for executors that never wake.
  std::atomic<int> running{0};
  std::atomic<bool> gave_up{false};
  std::vector<std::thread> executors;
  for (int i = 0; i < 4; ++i) {
    executors.emplace_back([&] {
      const InFlight* f = jobs_.take(stop_.get_token());
      if (!f) return;
      ++running;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (running.load() < 4 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (running.load() < 4) gave_up = true;
      jobs_.finish(f->job, Outcome::kDone);
    });
  }
  while (jobs_.idle_executors() < 4) std::this_thread::yield();
  jobs_.add({job(1, "default"), job(2, "default"), job(3, "default"), job(4, "default")});
  while (jobs_.finished() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop_.request_stop();  // frees executors that never woke, so the test ends either way
  for (auto& t : executors) t.join();
  EXPECT_FALSE(gave_up.load()) << "a job waited 20 s for executors that were never woken";
}

}  // namespace
}  // namespace unity::queue
