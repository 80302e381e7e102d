#pragma once
// A circuit breaker per external endpoint, kept in the `circuit_breakers` table so that every
// worker on every host sees the same state (SyncExternalData, jobs/sync_job.h).
//
// Scope: one row per endpoint (the base URL), global, not per tenant: an endpoint's health is a
// fact about the endpoint, and a tenant whose calls find it down spares the others the wait.
//
// States: closed (calls go out; `failures` counts consecutive failures) → open after
// `failure_threshold` consecutive failures (calls fail fast, no HTTP) → after `cool_down` exactly
// one caller wins the probe (half_open; the others still fail fast) → the probe's success closes
// the breaker, its failure opens it again for another cool-down. A probe whose worker died is
// taken over after `probe_timeout`. Every transition is one conditional UPDATE, so concurrent
// workers agree on it without locks; each call runs in the connection's current transaction, or
// commits at once outside one (the sync job calls it outside any transaction).
//
// Errors: database errors propagate (see db/connection.h). Not thread-safe (like the connection).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/clock.h"
#include "db/connection.h"

namespace unity::jobs {

struct BreakerPolicy {
  int failure_threshold = 5;                       // consecutive failures that open it
  std::chrono::milliseconds cool_down{30000};      // open → one probe allowed
  std::chrono::milliseconds probe_timeout{60000};  // a silent probe is taken over after this
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
const char* breaker_state_name(BreakerState s);  // "closed" | "open" | "half_open"

struct BreakerStatus {
  BreakerState state = BreakerState::kClosed;
  int64_t failures = 0;
  std::optional<int64_t> opened_at_us, next_probe_at_us;  // µs since the epoch
};

// Whether a call may go out now, and whether it is the probe.
struct BreakerPermit {
  bool allowed = false;
  bool probe = false;
  int64_t retry_at_us = 0;  // when refused: when the next probe may go out
};

class CircuitBreaker {
 public:
  // `conn` and `clock` must outlive the breaker.
  CircuitBreaker(db::Connection& conn, std::string endpoint, BreakerPolicy policy = {},
                 const Clock& clock = system_clock());

  BreakerPermit allow();
  // Report the outcome of a call allow() let through, with its permit.
  void record_success(const BreakerPermit& permit);
  void record_failure(const BreakerPermit& permit);

  BreakerStatus status();
  const std::string& endpoint() const { return endpoint_; }

 private:
  void ensure_row();

  db::Connection& conn_;
  std::string endpoint_;
  BreakerPolicy policy_;
  const Clock& clock_;
  bool row_ensured_ = false;
};

}  // namespace unity::jobs
