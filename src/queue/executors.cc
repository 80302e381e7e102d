#include "queue/executors.h"

#include <chrono>

#include "core/thread_name.h"
#include "db/transaction.h"

namespace unity::queue {

Executors::Executors(int count, const StoreSession& session, LocalJobs& jobs,
                     const Attempts& attempts, Completer& completer, AuditLog* log)
    : jobs_(jobs), attempts_(attempts), completer_(completer), log_(log) {
  threads_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    threads_.emplace_back(
        [this, i](std::stop_token stop, StoreSession own) {
          name_this_thread("unity exec " + std::to_string(i + 1));
          loop(stop, std::move(own));
        },
        session.fresh());
  }
}

Executors::~Executors() {
  for (auto& t : threads_) t.request_stop();
  for (auto& t : threads_) t.join();
}

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void Executors::loop(std::stop_token stop, StoreSession session) {
  while (const InFlight* f = jobs_.take(stop)) {
    if (grouped(session, f->job)) {
      run_group(session, f);
    } else {
      run_one(session, *f);
    }
  }
}

bool Executors::grouped(StoreSession& session, const ClaimedJob& job) const {
  if (!attempts_.groupable(job)) return false;
  try {
    return !session.connection().capabilities().concurrent_writers;
  } catch (const std::exception&) {
    return false;  // no connection: run_one records the failure
  }
}

void Executors::report(const InFlight& f, Outcome outcome, double ms, const std::string& error) {
  if (log_) log_->job_finished(f.job, outcome_name(outcome), ms, error);
  jobs_.finish(f.job, outcome, static_cast<int64_t>(ms * 1000));
}

void Executors::run_one(StoreSession& session, const InFlight& f) {
  const auto t0 = std::chrono::steady_clock::now();
  if (log_) log_->job_started(f.job);
  std::string error;
  const Outcome outcome = run(session, f, error);
  report(f, outcome, ms_since(t0), error);
}

void Executors::run_group(StoreSession& session, const InFlight* first) {
  struct Ran {
    const InFlight* f;
    Outcome outcome;
    double ms;
    std::string error;
  };
  std::vector<Ran> ran;
  const auto start = std::chrono::steady_clock::now();
  const InFlight* f = first;
  try {
    db::Transaction group(session.connection());
    while (f) {
      const auto t0 = std::chrono::steady_clock::now();
      if (log_) log_->job_started(f->job);
      std::string error;
      bool needs_ack = false;  // never set: the job is transactional
      const Outcome outcome = attempts_.run(session.store(), f->job, *f->cancel, error, needs_ack);
      ran.push_back({f, outcome, ms_since(t0), std::move(error)});
      f = nullptr;
      if (ran.size() < kGroupMax && std::chrono::steady_clock::now() - start < kGroupWindow) {
        f = jobs_.try_take([this](const ClaimedJob& j) { return attempts_.groupable(j); });
      }
    }
    group.commit();
  } catch (const std::exception& e) {
    // Rolled back, all of it. The jobs that ran are still ours (reserved under their leases):
    // back to the queue without using an attempt. The one that met the failure is retried.
    std::string error = e.what();
    session.reset();
    std::vector<Lease> back;
    for (const Ran& r : ran) back.push_back(r.f->job.lease());
    try {
      if (!back.empty()) session.store().job_unclaim(back);
    } catch (const std::exception& again) {
      session.reset();
      if (log_) log_->event("unclaim_error", again.what());  // the leases expire: rescued
    }
    for (const Ran& r : ran) {
      report(*r.f, Outcome::kError, r.ms, "returned to the queue: its group failed: " + error);
    }
    if (f) {
      const auto t0 = std::chrono::steady_clock::now();
      const Outcome outcome = recover(session, *f, error);
      report(*f, outcome, ms_since(t0), error);
    }
    return;
  }
  for (const Ran& r : ran) report(*r.f, r.outcome, r.ms, r.error);
}

Outcome Executors::run(StoreSession& session, const InFlight& f, std::string& error) {
  try {
    bool needs_ack = false;
    const Outcome outcome = attempts_.run(session.store(), f.job, *f.cancel, error, needs_ack);
    if (needs_ack) completer_.add(f.job.lease());
    return outcome;
  } catch (const std::exception& e) {
    error = e.what();
    return recover(session, f, error);
  }
}

Outcome Executors::recover(StoreSession& session, const InFlight& f, std::string& error) {
  // The database failed around the handler (connecting, or recording the outcome), not the
  // handler itself. Start afresh and record a failed attempt, so the job is retried with
  // backoff now rather than only after its lease runs out (a drain would end without it).
  session.reset();
  try {
    return attempts_.retry_or_fail(session.store(), f.job, error, false);
  } catch (const std::exception& again) {
    session.reset();
    if (log_) log_->event("record_error", again.what());
    return Outcome::kError;  // the lease expires and the rescuer takes the job over
  }
}

}  // namespace unity::queue
