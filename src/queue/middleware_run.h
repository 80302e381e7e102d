#pragma once
// The middleware of one attempt (queue/middleware.h): the part of Attempts::run that checks a
// job type's middleware before handle() and settles them after. Internal to the worker.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "queue/job.h"
#include "queue/store.h"

namespace unity::queue {

// What a middleware decided instead of running the job.
struct Deferral {
  std::chrono::microseconds wait{0};  // back to the queue this long, the attempt given back
  bool drop = false;                  // WithoutOverlapping::dont_release: finish it as skipped
  std::string reason;                 // for the audit log, e.g. "rate limited (rate:acme)"
};

// Lives for one attempt, on the attempt's connection, in the job's tenant context. Not
// thread-safe. The locks it takes are released by its destructor, which must run after the
// attempt's outcome is recorded and outside any transaction (a release that fails is left to the
// lock's expiry).
class MiddlewareRun {
 public:
  // All must outlive this. `timeout` is the job's timeout (the default lock expiry).
  MiddlewareRun(JobStore& store, const ClaimedJob& job, const JobContext& ctx,
                const std::vector<Middleware>& middleware, std::chrono::seconds timeout);
  ~MiddlewareRun();
  MiddlewareRun(const MiddlewareRun&) = delete;
  MiddlewareRun& operator=(const MiddlewareRun&) = delete;

  // Checks each middleware in order; nullopt: run the job. Locks taken before a later middleware
  // defers are released at once. Throws what a key function or the database throws.
  std::optional<Deferral> before();
  // The attempt threw (not through ctx.fail()): counts it for ThrottleExceptions. Returns the
  // retry delay a ThrottleExceptions sets, if any. Throws when the database fails.
  std::optional<std::chrono::milliseconds> after_exception();

 private:
  std::optional<Deferral> check(const RateLimit& m);
  std::optional<Deferral> check(const WithoutOverlapping& m);
  std::optional<Deferral> check(const ThrottleExceptions& m);
  std::string key_of(const MiddlewareKey& key) const;
  void release_locks() noexcept;

  JobStore& store_;
  const ClaimedJob& job_;
  const JobContext& ctx_;
  const std::vector<Middleware>& middleware_;
  std::chrono::seconds timeout_;
  std::vector<std::string> locks_;  // keys of job_locks rows this attempt holds
};

}  // namespace unity::queue
