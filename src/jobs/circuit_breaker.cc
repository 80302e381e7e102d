#include "jobs/circuit_breaker.h"

#include <utility>

namespace unity::jobs {

namespace {

int64_t now_us(const Clock& clock) { return clock.now().time_since_epoch().count(); }
int64_t us(std::chrono::milliseconds d) { return d.count() * 1000; }

BreakerState parse_state(const std::string& s) {
  if (s == "open") return BreakerState::kOpen;
  if (s == "half_open") return BreakerState::kHalfOpen;
  return BreakerState::kClosed;
}

}  // namespace

const char* breaker_state_name(BreakerState s) {
  switch (s) {
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
    case BreakerState::kClosed:
      break;
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(db::Connection& conn, std::string endpoint, BreakerPolicy policy,
                               const Clock& clock)
    : conn_(conn), endpoint_(std::move(endpoint)), policy_(policy), clock_(clock) {}

void CircuitBreaker::ensure_row() {
  if (row_ensured_) return;
  conn_.execute(
      "INSERT INTO circuit_breakers (endpoint, updated_at_us) VALUES ($1, $2) "
      "ON CONFLICT (endpoint) DO NOTHING",
      {endpoint_, now_us(clock_)});
  row_ensured_ = true;
}

BreakerPermit CircuitBreaker::allow() {
  ensure_row();
  const BreakerStatus s = status();
  if (s.state == BreakerState::kClosed) return {.allowed = true};
  const int64_t now = now_us(clock_);
  // Open past its cool-down, or half_open with a probe gone silent: one caller wins the probe.
  const int64_t won = conn_.execute(
      "UPDATE circuit_breakers SET state = 'half_open', next_probe_at_us = $3, updated_at_us = $2 "
      "WHERE endpoint = $1 AND state IN ('open', 'half_open') AND next_probe_at_us <= $2",
      {endpoint_, now, now + us(policy_.probe_timeout)});
  if (won == 1) return {.allowed = true, .probe = true};
  return {.allowed = false, .retry_at_us = s.next_probe_at_us.value_or(now)};
}

void CircuitBreaker::record_success(const BreakerPermit& permit) {
  ensure_row();
  const int64_t now = now_us(clock_);
  if (permit.probe) {
    conn_.execute(
        "UPDATE circuit_breakers SET state = 'closed', failures = 0, opened_at_us = NULL, "
        "next_probe_at_us = NULL, updated_at_us = $2 WHERE endpoint = $1 AND state = 'half_open'",
        {endpoint_, now});
  } else {
    conn_.execute(
        "UPDATE circuit_breakers SET failures = 0, updated_at_us = $2 "
        "WHERE endpoint = $1 AND state = 'closed' AND failures <> 0",
        {endpoint_, now});
  }
}

void CircuitBreaker::record_failure(const BreakerPermit& permit) {
  ensure_row();
  const int64_t now = now_us(clock_);
  const int64_t probe_at = now + us(policy_.cool_down);
  if (permit.probe) {
    conn_.execute(
        "UPDATE circuit_breakers SET state = 'open', failures = failures + 1, opened_at_us = $2, "
        "next_probe_at_us = $3, updated_at_us = $2 WHERE endpoint = $1 AND state = 'half_open'",
        {endpoint_, now, probe_at});
    return;
  }
  // The SET expressions see the row as it was, so `failures + 1` is this failure's count. The
  // casts type the parameters for PostgreSQL, which cannot infer them inside CASE.
  conn_.execute(
      "UPDATE circuit_breakers SET failures = failures + 1, "
      "state = CASE WHEN failures + 1 >= $4 THEN 'open' ELSE 'closed' END, "
      "opened_at_us = CASE WHEN failures + 1 >= $4 THEN CAST($2 AS BIGINT) ELSE NULL END, "
      "next_probe_at_us = CASE WHEN failures + 1 >= $4 THEN CAST($3 AS BIGINT) ELSE NULL END, "
      "updated_at_us = $2 WHERE endpoint = $1 AND state = 'closed'",
      {endpoint_, now, probe_at, int64_t{policy_.failure_threshold}});
}

BreakerStatus CircuitBreaker::status() {
  auto row = conn_.query_one(
      "SELECT state, failures, opened_at_us, next_probe_at_us FROM circuit_breakers "
      "WHERE endpoint = $1",
      {endpoint_});
  if (!row) return {};
  return {.state = parse_state(row->get<std::string>(0)),
          .failures = row->get<int64_t>(1),
          .opened_at_us = row->get<std::optional<int64_t>>(2),
          .next_probe_at_us = row->get<std::optional<int64_t>>(3)};
}

}  // namespace unity::jobs
