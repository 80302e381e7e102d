#pragma once
// Job middleware (DESIGN.md "The Bus"): rules a job type declares in its JobOptions that a
// worker checks around every attempt, with their state in the database so every worker process
// and host agrees (tables job_locks and job_counters, migration 0024):
//
//   registry.add<CallPartnerApi>("partner.call", {.middleware = {
//       RateLimit{.key = payload_key("partner"), .max = 10, .period = std::chrono::seconds(60)},
//       WithoutOverlapping{.key = payload_key("order_id")},
//       ThrottleExceptions{.max_exceptions = 5, .decay = std::chrono::minutes(10)}}});
//
// - RateLimit: at most `max` attempts start per `period` (a fixed window aligned to the epoch)
//   for one key. The key names the limited resource and is shared by every type that uses it.
// - WithoutOverlapping: one attempt at a time holds the key (per type unless `shared`). The lock
//   is taken in its own statement before handle() and released when the attempt has ended, after
//   its outcome is recorded, whether it succeeded, failed or threw; it expires `expire_after`
//   after it was taken, so a worker killed with -9 never leaves it held for longer. A job whose
//   worker died takes over its own expired-or-not lock when it is rescued.
// - ThrottleExceptions: once `max_exceptions` attempts of one key (per type) have thrown within
//   `decay` of the first of them, further attempts are not run until that decay period ends.
//   The attempts that threw count as failures as usual (retried with `backoff` when set, else
//   the type's backoff).
//
// A middleware that says "not now" DEFERS the job: it goes back to the queue, available again
// when the limit lets it run (rate limit: the window's end; lock: `release_after`; throttle: the
// decay's end), and its attempt count is given back, so waiting never uses up a try (unlike
// Laravel's releases). Deferral has no cap of its own: a job that must not wait for ever sets
// `retry_for` in its JobOptions (Laravel's retryUntil); past it the job fails for good instead
// of running. Middleware are checked in the order listed; the first to defer wins, and a rate
// limit listed before it has counted the attempt.
//
// Keys are computed from the job (its payload, tenant, type) and always stored under the job's
// tenant: two tenants with the same key never share a limit or a lock. Jobs of types without
// middleware pay nothing (no statement, no allocation). The sync driver (QUEUE_CONNECTION=sync)
// runs handlers directly and ignores middleware.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <variant>

namespace unity::queue {

class JobContext;

// Computes a key from the running job. Must be cheap and must not touch the database. An empty
// key is allowed (one key for every job of the type). A key function that throws fails the
// attempt like a handler that throws.
using MiddlewareKey = std::function<std::string(const JobContext&)>;

// The payload's top-level `field` as text (a string as is, a number or other value as its JSON
// text; missing or null: empty), for the common case of keying on one field. A payload that is
// not a JSON object throws kInvalidArgument (the attempt fails).
MiddlewareKey payload_key(std::string field);

struct RateLimit {
  MiddlewareKey key;  // empty function: one key for the type's name
  int max = 1;        // attempts started per period and key (≥ 1)
  std::chrono::seconds period{60};
};

struct WithoutOverlapping {
  MiddlewareKey key;                                 // empty function: the type's name
  std::chrono::milliseconds release_after{1000};     // wait when the key is held
  std::optional<std::chrono::seconds> expire_after;  // default: the job's timeout + 60 s
  bool dont_release = false;  // when the key is held, drop the job (finished as skipped)
  bool shared = false;        // the key is shared with other types (default: per type)
};

struct ThrottleExceptions {
  MiddlewareKey key;  // empty function: the type's name
  int max_exceptions = 10;
  std::chrono::seconds decay{600};
  std::optional<std::chrono::milliseconds> backoff;  // the retry delay after an exception
};

using Middleware = std::variant<RateLimit, WithoutOverlapping, ThrottleExceptions>;

}  // namespace unity::queue
