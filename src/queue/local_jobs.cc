#include "queue/local_jobs.h"

#include <algorithm>
#include <iterator>

namespace unity::queue {

LocalJobs::LocalJobs(const std::vector<std::string>& queues, int slots,
                     const AttemptDefaults& defaults, const Clock& clock, bool claim_ahead)
    : defaults_(defaults), clock_(clock), slots_(slots), claim_ahead_(claim_ahead) {
  for (size_t i = 0; i < queues.size(); ++i) rank_.emplace(queues[i], i);
}

size_t LocalJobs::rank(const std::string& queue) const {
  auto it = rank_.find(queue);
  return it == rank_.end() ? rank_.size() : it->second;
}

void LocalJobs::add(std::vector<ClaimedJob> jobs, int reserved) {
  if (reserved > static_cast<int>(jobs.size())) {
    unreserve(reserved - static_cast<int>(jobs.size()));
    reserved = static_cast<int>(jobs.size());
  }
  if (jobs.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    reserved_ -= reserved;
    for (auto& j : jobs) {
      // After the last waiting job of its queue or a higher one; searched from the back, where
      // it usually is at once (jobs of one queue are appended in order).
      const size_t r = rank(j.queue);
      auto pos = waiting_.end();
      while (pos != waiting_.begin() && rank(std::prev(pos)->queue) > r) --pos;
      waiting_.insert(pos, std::move(j));
    }
    wake = wake_one_locked();
  }
  if (wake) work_cv_.notify_one();
}

bool LocalJobs::wake_one_locked() {
  if (waiting_.empty() || idle_executors_ == 0 || wakes_ > 0) return false;
  ++wakes_;
  return true;
}

const InFlight* LocalJobs::take(std::stop_token stop) {
  std::unique_lock lock(mu_);
  while (waiting_.empty()) {
    if (stop.stop_requested()) return nullptr;
    ++idle_executors_;
    work_cv_.wait(lock, stop, [&] { return wakes_ > 0; });
    --idle_executors_;
    if (wakes_ > 0) --wakes_;
  }
  return start_front(lock);
}

const InFlight* LocalJobs::try_take(const std::function<bool(const ClaimedJob&)>& wanted) {
  std::unique_lock lock(mu_);
  if (waiting_.empty() || !wanted(waiting_.front())) return nullptr;
  return start_front(lock);
}

const InFlight* LocalJobs::start_front(std::unique_lock<std::mutex>& lock) {
  const std::pair<int64_t, int64_t> key{waiting_.front().id, waiting_.front().lease_token};
  auto [it, inserted] =
      running_.try_emplace(key, InFlight{std::move(waiting_.front()),
                                         clock_.monotonic(),
                                         {},
                                         std::make_shared<std::atomic<bool>>(false)});
  waiting_.pop_front();
  InFlight& f = it->second;
  f.timeout = defaults_.timeout_for(f.job);
  ++started_;
  // More waiting and nobody on the way: wake the next executor (it may find the jobs taken by
  // executors that were awake already, and sleep again).
  const bool wake = wake_one_locked();
  lock.unlock();
  if (wake) work_cv_.notify_one();
  return &f;
}

void LocalJobs::finish(const ClaimedJob& job, Outcome outcome, int64_t run_us) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    type_metrics_.record(job.type, job.queue, outcome_name(outcome), run_us,
                         job.claimed_at_us - job.available_at_us);
    ++stats_.processed;
    switch (outcome) {
      case Outcome::kDone:
        ++stats_.completed;
        ++counts_[job.queue].first;
        break;
      case Outcome::kRetry:
      case Outcome::kReleased:
        ++stats_.retried;
        break;
      case Outcome::kFailed:
        ++stats_.failed;
        ++counts_[job.queue].second;
        break;
      case Outcome::kDeferred:
        ++stats_.deferred;
        break;
      case Outcome::kFenced:
      case Outcome::kError:
      case Outcome::kCancelled:
        break;
    }
    if (claim_ahead_) {
      const double run = static_cast<double>(std::max<int64_t>(run_us, 1));
      avg_run_us_ = stats_.processed == 1 ? run : avg_run_us_ + (run - avg_run_us_) / 16;
      const double fits =
          static_cast<double>(slots_) * static_cast<double>(kAheadWindow.count()) / avg_run_us_;
      ahead_ = stats_.processed < kAheadAfterJobs
                   ? 0
                   : static_cast<int>(
                         std::min(fits, double{kAheadPerSlot} * static_cast<double>(slots_)));
    }
    running_.erase({job.id, job.lease_token});  // last: `job` may live in it
    wake = wake_claimers_locked();
  }
  if (wake) slots_cv_.notify_all();
}

bool LocalJobs::wake_claimers_locked() {
  // A claim loop also wants to hear when the worker falls idle (stop-when-empty, max-jobs).
  const bool idle = running_.empty() && waiting_.empty() && reserved_ == 0;
  bool wake = false;
  for (auto& l : claim_loops_) {
    if (idle || room_locked() >= l.wanted_slots) l.woken = wake = true;
  }
  return wake;
}

int LocalJobs::reserve(int wanted, int64_t most_held) {
  std::lock_guard lock(mu_);
  int64_t n = std::min(wanted, room_locked());
  if (most_held > 0) {
    n = std::min(n, most_held - started_ - static_cast<int64_t>(waiting_.size()) - reserved_);
  }
  const int granted = static_cast<int>(std::max<int64_t>(n, 0));
  reserved_ += granted;
  return granted;
}

void LocalJobs::unreserve(int reserved) {
  if (reserved <= 0) return;
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    reserved_ -= reserved;
    wake = wake_claimers_locked();
  }
  if (wake) slots_cv_.notify_all();
}

std::vector<ClaimedJob> LocalJobs::take_waiting() {
  std::lock_guard lock(mu_);
  std::vector<ClaimedJob> out(std::make_move_iterator(waiting_.begin()),
                              std::make_move_iterator(waiting_.end()));
  waiting_.clear();
  return out;
}

int LocalJobs::free_slots() const {
  std::lock_guard lock(mu_);
  return slots_ - static_cast<int>(running_.size() + waiting_.size());
}

int LocalJobs::room_locked() const {
  return slots_ + ahead_ - static_cast<int>(running_.size() + waiting_.size()) - reserved_;
}

int LocalJobs::room() const {
  std::lock_guard lock(mu_);
  return room_locked();
}

int LocalJobs::ahead() const {
  std::lock_guard lock(mu_);
  return ahead_;
}

int LocalJobs::waiting() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(waiting_.size());
}

int LocalJobs::idle_executors() const {
  std::lock_guard lock(mu_);
  return idle_executors_;
}

bool LocalJobs::idle() const {
  std::lock_guard lock(mu_);
  return running_.empty() && waiting_.empty() && reserved_ == 0;
}

void LocalJobs::wait_for_slots(int wanted, std::chrono::milliseconds timeout, std::stop_token stop,
                               int loop) {
  std::unique_lock lock(mu_);
  ClaimLoopWait& me = claim_loops_.at(static_cast<size_t>(loop));
  me.wanted_slots = std::max(wanted, 1);
  slots_cv_.wait_for(lock, stop, timeout,
                     [&] { return me.woken || room_locked() >= me.wanted_slots; });
  me.woken = false;
}

void LocalJobs::wake_claimer(int loop) {
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < claim_loops_.size(); ++i) {
      if (loop < 0 || static_cast<size_t>(loop) == i) claim_loops_[i].woken = true;
    }
  }
  slots_cv_.notify_all();
}

std::vector<Lease> LocalJobs::held() const {
  std::lock_guard lock(mu_);
  std::vector<Lease> out;
  out.reserve(running_.size() + waiting_.size());
  for (const auto& [key, f] : running_) out.push_back(f.job.lease());
  for (const auto& j : waiting_) out.push_back(j.lease());
  return out;
}

std::vector<InFlight> LocalJobs::running() const {
  std::lock_guard lock(mu_);
  std::vector<InFlight> out;
  out.reserve(running_.size());
  for (const auto& [key, f] : running_) out.push_back(f);
  return out;
}

int64_t LocalJobs::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

int64_t LocalJobs::started_or_waiting() const {
  std::lock_guard lock(mu_);
  return started_ + static_cast<int64_t>(waiting_.size()) + reserved_;
}

int64_t LocalJobs::finished() const {
  std::lock_guard lock(mu_);
  return stats_.processed;
}

WorkerStats LocalJobs::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

JobTypeMetrics LocalJobs::take_type_metrics() {
  std::lock_guard lock(mu_);
  JobTypeMetrics out;
  std::swap(out, type_metrics_);
  return out;
}

ThroughputCounts LocalJobs::take_counts() {
  std::lock_guard lock(mu_);
  ThroughputCounts out;
  out.swap(counts_);
  return out;
}

}  // namespace unity::queue
