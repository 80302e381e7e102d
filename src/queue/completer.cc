#include "queue/completer.h"

#include <chrono>

#include "core/thread_name.h"

namespace unity::queue {

Completer::Completer(StoreSession session, AuditLog* log, std::function<void()> on_written)
    : session_(std::move(session)),
      log_(log),
      on_written_(std::move(on_written)),
      thread_([this](std::stop_token stop) { loop(stop); }) {}

Completer::~Completer() {
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void Completer::add(Lease lease) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    queued_.push_back(lease);
    ++pending_;
    wake = queued_.size() == 1 || queued_.size() >= 512;
  }
  if (wake) cv_.notify_one();
}

int64_t Completer::pending() const {
  std::lock_guard lock(mu_);
  return pending_;
}

std::vector<Lease> Completer::held() const {
  std::lock_guard lock(mu_);
  std::vector<Lease> out(queued_);
  out.insert(out.end(), writing_.begin(), writing_.end());
  out.insert(out.end(), taken_.begin(), taken_.end());
  return out;
}

std::vector<Lease> Completer::take_queued() {
  std::lock_guard lock(mu_);
  std::vector<Lease> out;
  out.swap(queued_);
  taken_ = out;
  return out;
}

void Completer::taken_written(const std::vector<Lease>& taken) {
  if (taken.empty()) return;
  {
    std::lock_guard lock(mu_);
    taken_.clear();
    pending_ -= static_cast<int64_t>(taken.size());
  }
  if (on_written_) on_written_();
}

void Completer::give_back(const std::vector<Lease>& taken) {
  if (taken.empty()) return;
  {
    std::lock_guard lock(mu_);
    taken_.clear();
    queued_.insert(queued_.end(), taken.begin(), taken.end());
  }
  cv_.notify_one();
}

void Completer::loop(std::stop_token stop) {
  name_this_thread("unity complete");
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, stop, [&] { return !queued_.empty(); });
      if (queued_.empty()) return;  // stopping, nothing left
      // Gather for up to a millisecond: one transaction for many acknowledgements.
      cv_.wait_for(lock, stop, std::chrono::milliseconds(1), [&] { return queued_.size() >= 512; });
      writing_.swap(queued_);
    }
    write(writing_);
    {
      std::lock_guard lock(mu_);
      pending_ -= static_cast<int64_t>(writing_.size());
      writing_.clear();
    }
    if (on_written_) on_written_();
  }
}

void Completer::write(const std::vector<Lease>& batch) {
  for (int attempt = 0;; ++attempt) {
    try {
      session_.store().job_complete_many(batch);
      return;
    } catch (const std::exception& e) {
      session_.reset();
      if (log_) log_->event("ack_error", e.what());
      if (attempt >= 50) return;  // the leases expire and the jobs run again: at-least-once
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace unity::queue
