#include "queue/executors.h"

#include <chrono>

namespace unity::queue {

Executors::Executors(int count, const StoreSession& session, LocalJobs& jobs,
                     const Attempts& attempts, Completer& completer, AuditLog* log)
    : jobs_(jobs), attempts_(attempts), completer_(completer), log_(log) {
  threads_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    threads_.emplace_back(
        [this](std::stop_token stop, StoreSession own) { loop(stop, std::move(own)); },
        session.fresh());
  }
}

Executors::~Executors() {
  for (auto& t : threads_) t.request_stop();
  for (auto& t : threads_) t.join();
}

void Executors::loop(std::stop_token stop, StoreSession session) {
  while (auto f = jobs_.take(stop)) {
    const auto t0 = std::chrono::steady_clock::now();
    if (log_) log_->job_started(f->job);
    std::string error;
    const Outcome outcome = run(session, *f, error);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (log_) log_->job_finished(f->job, outcome_name(outcome), ms, error);
    jobs_.finish(f->job, outcome, static_cast<int64_t>(ms * 1000));
  }
}

Outcome Executors::run(StoreSession& session, const InFlight& f, std::string& error) {
  try {
    bool needs_ack = false;
    const Outcome outcome = attempts_.run(session.store(), f.job, *f.cancel, error, needs_ack);
    if (needs_ack) completer_.add(f.job.lease());
    return outcome;
  } catch (const std::exception& e) {
    // The database failed around the handler (connecting, or recording the outcome), not the
    // handler itself. Start afresh and record a failed attempt, so the job is retried with
    // backoff now rather than only after its lease runs out (a drain would end without it).
    error = e.what();
    session.reset();
    try {
      return attempts_.retry_or_fail(session.store(), f.job, error, false);
    } catch (const std::exception& again) {
      session.reset();
      if (log_) log_->event("record_error", again.what());
      return Outcome::kError;  // the lease expires and the rescuer takes the job over
    }
  }
}

}  // namespace unity::queue
