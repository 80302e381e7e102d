#include "queue/middleware.h"

#include <algorithm>
#include "core/json.h"
#include "db/connection.h"
#include "queue/middleware_run.h"

namespace unity::queue {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;

// Takes the lock, or takes it over when it has expired or is this job's own (its previous
// attempt's worker died). No row back: another attempt holds it.
constexpr std::string_view kLockAcquire =
    "INSERT INTO job_locks (tenant_id, key, owner_job_id, token, expires_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, key) DO UPDATE SET"
    " owner_job_id = excluded.owner_job_id, token = excluded.token,"
    " expires_at = excluded.expires_at"
    " WHERE job_locks.expires_at <= $6 OR job_locks.owner_job_id = excluded.owner_job_id"
    " RETURNING token";
// Names the token: a lock taken over after it expired is the new holder's.
constexpr std::string_view kLockRelease =
    "DELETE FROM job_locks WHERE tenant_id = $1 AND key = $2 AND token = $3";
// One slot of the key's current fixed window; a row of an older window starts afresh. No row
// back: the window is full (and nothing was counted).
constexpr std::string_view kRateTake =
    "INSERT INTO job_counters (tenant_id, key, window_start, count) VALUES ($1, $2, $3, 1)"
    " ON CONFLICT (tenant_id, key) DO UPDATE SET"
    " count = CASE WHEN job_counters.window_start = excluded.window_start"
    "   THEN job_counters.count + 1 ELSE 1 END,"
    " window_start = excluded.window_start"
    " WHERE job_counters.window_start <> excluded.window_start OR job_counters.count < $4"
    " RETURNING count";
constexpr std::string_view kCounterGet =
    "SELECT count, window_start FROM job_counters WHERE tenant_id = $1 AND key = $2";
// One more exception in the decay period that began at the first one; a period that ended
// ($4: now - decay) starts a new one now ($3).
constexpr std::string_view kExceptionHit =
    "INSERT INTO job_counters (tenant_id, key, window_start, count) VALUES ($1, $2, $3, 1)"
    " ON CONFLICT (tenant_id, key) DO UPDATE SET"
    " count = CASE WHEN job_counters.window_start > $4 THEN job_counters.count + 1 ELSE 1 END,"
    " window_start = CASE WHEN job_counters.window_start > $4"
    "   THEN job_counters.window_start ELSE excluded.window_start END";

int64_t us(std::chrono::microseconds d) { return d.count(); }

}  // namespace

MiddlewareKey payload_key(std::string field) {
  return [field = std::move(field)](const JobContext& ctx) -> std::string {
    const auto payload = parse_json_object(ctx.payload(), "job payload");
    const auto it = payload.find(field);
    if (it == payload.end() || it->is_null()) return "";
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
}

MiddlewareRun::MiddlewareRun(JobStore& store, const ClaimedJob& job, const JobContext& ctx,
                             const std::vector<Middleware>& middleware,
                             std::chrono::seconds timeout)
    : store_(store), job_(job), ctx_(ctx), middleware_(middleware), timeout_(timeout) {}

MiddlewareRun::~MiddlewareRun() { release_locks(); }

std::optional<Deferral> MiddlewareRun::before() {
  for (const Middleware& m : middleware_) {
    auto deferral = std::visit([this](const auto& one) { return check(one); }, m);
    if (deferral) {
      release_locks();
      return deferral;
    }
  }
  return std::nullopt;
}

std::string MiddlewareRun::key_of(const MiddlewareKey& key) const {
  return key ? key(ctx_) : job_.type;
}

std::optional<Deferral> MiddlewareRun::check(const RateLimit& m) {
  const std::string key = "rate:" + key_of(m.key);
  const int64_t now = store_.now_us();
  const int64_t period = std::max<int64_t>(us(m.period), 1);
  const int64_t window_start = now - now % period;
  if (store_.connection().query_one(kRateTake,
                                    {job_.tenant_id, key, window_start, std::max(m.max, 1)})) {
    return std::nullopt;
  }
  return Deferral{microseconds(window_start + period - now), false,
                  "rate limited (" + key + ", " + std::to_string(m.max) + " per " +
                      std::to_string(m.period.count()) + " s)"};
}

std::optional<Deferral> MiddlewareRun::check(const WithoutOverlapping& m) {
  const std::string key = "lock:" + (m.shared ? std::string("*") : job_.type) + ":" + key_of(m.key);
  const int64_t now = store_.now_us();
  const auto expire = m.expire_after.value_or(timeout_ + std::chrono::seconds(60));
  if (store_.connection().query_one(
          kLockAcquire, {job_.tenant_id, key, job_.id, job_.lease_token, now + us(expire), now})) {
    locks_.push_back(key);
    return std::nullopt;
  }
  return Deferral{duration_cast<microseconds>(m.release_after), m.dont_release,
                  "overlapping (" + key + " is held)"};
}

std::optional<Deferral> MiddlewareRun::check(const ThrottleExceptions& m) {
  const std::string key = "throttle:" + job_.type + ":" + key_of(m.key);
  auto row = store_.connection().query_one(kCounterGet, {job_.tenant_id, key});
  if (!row) return std::nullopt;
  const int64_t ends = row->get<int64_t>(1) + us(m.decay);
  const int64_t now = store_.now_us();
  if (row->get<int64_t>(0) < m.max_exceptions || ends <= now) return std::nullopt;
  return Deferral{microseconds(ends - now), false,
                  "exceptions throttled (" + key + ", " + std::to_string(m.max_exceptions) +
                      " in " + std::to_string(m.decay.count()) + " s)"};
}

std::optional<std::chrono::milliseconds> MiddlewareRun::after_exception() {
  std::optional<std::chrono::milliseconds> backoff;
  for (const Middleware& m : middleware_) {
    const auto* t = std::get_if<ThrottleExceptions>(&m);
    if (!t) continue;
    const int64_t now = store_.now_us();
    store_.connection().execute(
        kExceptionHit,
        {job_.tenant_id, "throttle:" + job_.type + ":" + key_of(t->key), now, now - us(t->decay)});
    if (t->backoff) backoff = t->backoff;
  }
  return backoff;
}

void MiddlewareRun::release_locks() noexcept {
  for (const std::string& key : locks_) {
    try {
      store_.connection().execute(kLockRelease, {job_.tenant_id, key, job_.lease_token});
    } catch (...) {
      // The database failed: the lock's expiry frees the key, as after a kill -9.
    }
  }
  locks_.clear();
}

}  // namespace unity::queue
