#pragma once
// Dispatching jobs (Guarantee 1): a job dispatched on a connection inside a transaction exists if
// and only if that transaction commits; the queue lives in the same database as the data.
//
// With QUEUE_CONNECTION=sync the job runs at once, inline, on the caller's connection (in a
// savepoint), and a failure is thrown to the caller: as Laravel's sync driver, for tests and
// one-off scripts.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "queue/registry.h"
#include "queue/store.h"

namespace unity::queue {

// Priorities run from -kMaxPriority to kMaxPriority; 0 is the default.
inline constexpr int kMaxPriority = 1000;

struct DispatchOptions {
  std::optional<std::string> queue;       // default: the type's queue, else DB_QUEUE
  std::chrono::milliseconds delay{0};     // run no earlier than now + delay
  std::optional<std::string> unique_key;  // refuse a duplicate while one waits or runs
  std::optional<int> tries;               // override the type's
  std::optional<int> timeout_s;
  int priority = 0;  // higher first within one queue and tenant (never across queues or tenants)
  // Tracing (core/trace.h): the jobs join the calling thread's current trace, as children of its
  // open span; here, per payload, another parent span instead (a queued listener's event span).
  std::vector<std::string> parent_span_ids;
};

// What services and listeners dispatch through; testing::QueueFake records instead.
class JobDispatcher {
 public:
  virtual ~JobDispatcher() = default;
  // Many jobs of one type (all or none).
  virtual std::vector<InsertedJob> dispatch_many(db::Connection& conn, int64_t tenant_id,
                                                 const std::string& type,
                                                 const std::vector<std::string>& payloads,
                                                 const DispatchOptions& options = {}) = 0;
  InsertedJob dispatch(db::Connection& conn, int64_t tenant_id, const std::string& type,
                       const std::string& payload_json, const DispatchOptions& options = {}) {
    return dispatch_many(conn, tenant_id, type, {payload_json}, options).at(0);
  }
};

class Dispatcher final : public JobDispatcher {
 public:
  // `registry` must outlive the dispatcher.
  Dispatcher(const Config& config, const JobRegistry& registry,
             const Clock& clock = system_clock());

  // Validates (registered type: kInvalidArgument; payload a JSON object: kInvalidArgument;
  // tenant exists unless 0 or it is the connection's tenant: kNotFound; options in range:
  // kInvalidArgument; an encrypted type without APP_KEY: kFailedPrecondition) and enqueues, an
  // encrypted type's payloads sealed (queue/payload_crypt.h). Inside the caller's transaction when
  // there is one (a failure then leaves it to be rolled back), else in its own.
  std::vector<InsertedJob> dispatch_many(db::Connection& conn, int64_t tenant_id,
                                         const std::string& type,
                                         const std::vector<std::string>& payloads,
                                         const DispatchOptions& options = {}) override;

  const JobRegistry& registry() const { return registry_; }
  const Config& config() const { return config_; }
  const Clock& clock() const { return clock_; }

  // Validates and resolves one job as dispatch_many does, without inserting it (batches and
  // chains insert theirs themselves, queue/batch.h). Throws like dispatch_many.
  NewJob prepare(const std::string& type, int64_t tenant_id, const std::string& payload,
                 const DispatchOptions& options = {}) const {
    return prepare(registry_.get(type), tenant_id, payload, options);
  }

  // With QUEUE_CONNECTION=sync a job runs inside dispatch, with no job row to record its
  // progress in: `listener` then sees each progress(percent) of the job of `type`, and one last
  // call with percent < 0 when the job has returned or thrown (the CLI draws its bar with it).
  using InlineProgress = std::function<void(const std::string& type, int percent)>;
  void set_inline_progress(InlineProgress listener) { inline_progress_ = std::move(listener); }
  // Where jobs run inline write their log lines (default stderr).
  void set_job_log(JobLogSink sink) { job_log_ = std::move(sink); }

 private:
  NewJob prepare(const JobType& type, int64_t tenant_id, const std::string& payload,
                 const DispatchOptions& options) const;
  void run_inline(db::Connection& conn, const JobType& type, const NewJob& job);

  const Config& config_;
  const JobRegistry& registry_;
  const Clock& clock_;
  InlineProgress inline_progress_;
  JobLogSink job_log_;
};

}  // namespace unity::queue
