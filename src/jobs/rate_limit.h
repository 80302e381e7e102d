#pragma once
// Rate limits on jobs people start (import, report, bulk notification, sync, valuation), per
// tenant and per user, so one tenant cannot flood the workers (DESIGN.md "Configuration").
//
// A fixed-window counter in the database (table rate_limits), so every process agrees: in window
// floor(now / RATE_LIMIT_WINDOW_S), a tenant may start RATE_LIMIT_JOBS_PER_TENANT jobs and each
// user RATE_LIMIT_JOBS_PER_USER, all kinds together. The counters are taken with an upsert in the
// caller's write transaction (row locks on PostgreSQL, the write lock on SQLite), so concurrent
// commands cannot both take the last slot.
//
// Past a limit: RateLimited, an Error(kUnavailable) — a transient refusal, retrying later succeeds
// — with a message naming the limit and when to retry, e.g.
//   rate limit: tenant 3 has started 60 jobs in the current 60 s window
//   (RATE_LIMIT_JOBS_PER_TENANT=60); retry in 17 s
// The refused call counts nothing.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/config.h"
#include "core/error.h"
#include "db/connection.h"

namespace unity::jobs {

// What check_and_count throws past a limit: kUnavailable (exit 7 on the command line), with the
// seconds until the window ends (HTTP answers 429 with Retry-After).
class RateLimited : public Error {
 public:
  RateLimited(std::string message, int64_t retry_after_s)
      : Error(ErrorCode::kUnavailable, std::move(message)), retry_after_s_(retry_after_s) {}
  int64_t retry_after_s() const noexcept { return retry_after_s_; }

 private:
  int64_t retry_after_s_;
};

struct RateLimits {
  int per_tenant = 60;  // RATE_LIMIT_JOBS_PER_TENANT, 0..1000000; 0: no tenant limit
  int per_user = 20;    // RATE_LIMIT_JOBS_PER_USER, 0..1000000; 0: no user limit
  int window_s = 60;    // RATE_LIMIT_WINDOW_S, 1..86400

  // From config.raw; defaults for unset (or empty) variables. A value that is not a decimal
  // integer in range throws kInvalidArgument naming the variable.
  static RateLimits from_config(const Config& config);
};

// Counts one job of `kind` ("import", "notify:bulk", …; for the message) started by `user` (none:
// only the tenant limit applies) in `tenant`, or throws kUnavailable past a limit. Call it on the
// connection and inside the transaction that dispatches the job, BEFORE dispatching: when it
// throws nothing is counted, and when the dispatch fails afterwards the transaction's rollback
// takes the count back. Outside a transaction the count commits at once.
void check_and_count(db::Connection& conn, const RateLimits& limits, std::string_view kind,
                     int64_t tenant, std::optional<int64_t> user,
                     const Clock& clock = system_clock());

// The one line commands call: limits from `config`, the wall clock.
//   jobs::limit_job_start(conn, ctx.config(), "import", tenant, user);
inline void limit_job_start(db::Connection& conn, const Config& config, std::string_view kind,
                            int64_t tenant, std::optional<int64_t> user) {
  check_and_count(conn, RateLimits::from_config(config), kind, tenant, user);
}

}  // namespace unity::jobs
