#pragma once
// The JobContext a handler sees, for one attempt (used by the worker and the sync driver).

#include <atomic>
#include <functional>
#include <optional>
#include <stdexcept>

#include "queue/job.h"
#include "queue/store.h"

namespace unity::queue {

// Thrown by JobContext::fail(): give the job up without further retries.
class GiveUp : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The kind of a job's span (core/trace.h): "listener" for a queued listener's job (type
// "listener.<name>", events/event_bus.h), else "job".
const char* job_span_kind(const std::string& type);

class RunningJob final : public JobContext {
 public:
  // `store` may be null (sync driver: no job row); `cancel` may be null (never cancelled);
  // `log` may be null or empty (lines go to stderr).
  RunningJob(const ClaimedJob& job, db::Connection& conn, JobStore* store,
             const std::atomic<bool>* cancel = nullptr, int max_tries = 1,
             const JobLogSink* log = nullptr);

  int64_t job_id() const override { return job_.id; }
  const std::string& uuid() const override { return job_.uuid; }
  const std::string& type() const override { return job_.type; }
  const std::string& queue() const override { return job_.queue; }
  int64_t tenant_id() const override { return job_.tenant_id; }
  int attempt() const override { return job_.attempts; }
  int max_tries() const override { return max_tries_; }
  const std::string& payload() const override { return job_.payload; }
  db::Connection& db() override { return conn_; }
  bool cancelled() const override { return cancel_ && cancel_->load(std::memory_order_relaxed); }
  void progress(int percent) override;
  void release(std::chrono::milliseconds delay) override;
  [[noreturn]] void fail(const std::string& reason) override;
  void log(const std::string& line) const override;
  const std::string& trace_id() const override { return job_.trace_id; }

  // Set when the handler called release().
  std::optional<std::chrono::milliseconds> released() const { return released_; }
  // Also told every progress(percent) (the sync driver's only record of it).
  void set_progress_listener(std::function<void(int)> listener) {
    progress_listener_ = std::move(listener);
  }

 private:
  const ClaimedJob& job_;
  db::Connection& conn_;
  JobStore* store_;
  const std::atomic<bool>* cancel_;
  int max_tries_;
  const JobLogSink* log_;
  std::optional<std::chrono::milliseconds> released_;
  std::function<void(int)> progress_listener_;
};

}  // namespace unity::queue
