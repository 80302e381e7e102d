#include "queue/keeper.h"

#include <algorithm>
#include <cstdlib>

#include "core/thread_name.h"
#include "db/transaction.h"

namespace unity::queue {

Keeper::Keeper(StoreSession session, LocalJobs& jobs, const Completer& completer,
               const Attempts& attempts, KeeperOptions options, AuditLog* log,
               WorkerPresence* presence)
    : session_(std::move(session)),
      jobs_(jobs),
      completer_(completer),
      attempts_(attempts),
      options_(options),
      log_(log),
      presence_(presence),
      thread_([this](std::stop_token stop) { loop(stop); }) {}

Keeper::~Keeper() {
  thread_.request_stop();
  thread_.join();
}

void Keeper::loop(std::stop_token stop) {
  name_this_thread("unity keeper");
  const Clock& clock = session_.clock();
  const auto beat_every = std::chrono::microseconds(options_.lease_us / 3);
  auto last_beat = clock.monotonic();
  auto last_counts = clock.monotonic();
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, stop, options_.tick, [] { return false; });
    }
    if (stop.stop_requested()) break;
    check_timeouts();
    if (clock.monotonic() - last_counts >= std::chrono::seconds(1)) {
      last_counts = clock.monotonic();
      flush_counts();
    }
    if (clock.monotonic() - last_beat >= beat_every && beat()) last_beat = clock.monotonic();
    if (log_) log_->flush();
    if (presence_) presence_->beat_if_due(jobs_.finished());
  }
  flush_counts();
}

bool Keeper::beat() {
  std::vector<Lease> held = jobs_.held();
  for (const Lease& l : completer_.held()) held.push_back(l);
  try {
    // The heartbeat also answers which of these jobs queue:cancel flagged: their attempts are
    // asked to stop (JobContext::cancelled) and end as cancelled (queue/attempt.h).
    std::vector<int64_t> flagged;
    session_.store().lease_extend(held, options_.lease_us, &flagged);
    if (!flagged.empty()) {
      for (auto& f : jobs_.running()) {
        if (std::find(flagged.begin(), flagged.end(), f.job.id) != flagged.end()) {
          f.cancel->store(true);
        }
      }
    }
    return true;
  } catch (const std::exception& e) {
    session_.reset();
    if (log_) log_->event("heartbeat_error", e.what());
    return false;
  }
}

void Keeper::check_timeouts() {
  const auto now = session_.clock().monotonic();
  std::vector<InFlight> overdue;
  for (auto& f : jobs_.running()) {
    const auto age = now - f.started;
    if (age >= f.timeout) f.cancel->store(true);
    if (age >= f.timeout + options_.grace) overdue.push_back(f);
  }
  if (overdue.empty()) return;
  // A handler ignored cancellation: record the attempt and leave, so a supervisor restarts us.
  try {
    for (const auto& f : overdue) {
      const std::string error = "timed out after " + std::to_string(f.timeout.count()) +
                                " s and did not stop; the worker exited";
      const Outcome outcome = attempts_.retry_or_fail(session_.store(), f.job, error, false);
      const double ms = std::chrono::duration<double, std::milli>(now - f.started).count();
      if (log_)
        log_->job_finished(f.job, std::string("timeout:") + outcome_name(outcome), ms, error);
    }
  } catch (const std::exception& e) {
    if (log_) log_->event("timeout_record_error", e.what());
  }
  if (log_) {
    log_->event("exit", "a job exceeded its timeout and grace period");
    log_->flush();
  }
  std::_Exit(124);
}

void Keeper::flush_counts() {
  const ThroughputCounts counts = jobs_.take_counts();
  const JobTypeMetrics types = jobs_.take_type_metrics();
  if (counts.empty() && types.empty()) return;
  try {
    JobStore& store = session_.store();
    db::Transaction tx(store.connection());
    store.connection().relax_commit_durability();
    for (const auto& [queue, n] : counts) store.metrics_add(queue, n.first, n.second);
    types.add_to(store.connection(), store.now_us());
    tx.commit();
  } catch (const std::exception& e) {
    session_.reset();
    if (log_) log_->event("metrics_error", e.what());  // statistics only: dropped
  }
}

}  // namespace unity::queue
