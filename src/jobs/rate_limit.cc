#include "jobs/rate_limit.h"

#include <charconv>
#include <string>

#include "core/error.h"
#include "db/transaction.h"

namespace unity::jobs {

namespace {

int read_int(const Config& config, const char* name, int fallback, int min, int max) {
  auto it = config.raw.find(name);
  if (it == config.raw.end() || it->second.empty()) return fallback;
  const std::string& text = it->second;
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw invalid_argument(std::string(name) + " must be an integer from " + std::to_string(min) +
                           " to " + std::to_string(max) + ", got " + quote_for_message(text));
  }
  return value;
}

// Takes one slot of (scope, key) in the window; returns the count including it.
int64_t take(db::Connection& conn, int64_t tenant, const char* scope, int64_t key,
             int64_t window_start) {
  auto row = conn.query_one(
      "INSERT INTO rate_limits (tenant_id, scope, key, window_start, count)"
      " VALUES ($1, $2, $3, $4, 1) ON CONFLICT (tenant_id, scope, key, window_start)"
      " DO UPDATE SET count = rate_limits.count + 1 RETURNING count",
      {tenant, std::string(scope), std::to_string(key), window_start});
  return row->get<int64_t>(0);
}

}  // namespace

RateLimits RateLimits::from_config(const Config& config) {
  RateLimits r;
  r.per_tenant = read_int(config, "RATE_LIMIT_JOBS_PER_TENANT", r.per_tenant, 0, 1000000);
  r.per_user = read_int(config, "RATE_LIMIT_JOBS_PER_USER", r.per_user, 0, 1000000);
  r.window_s = read_int(config, "RATE_LIMIT_WINDOW_S", r.window_s, 1, 86400);
  return r;
}

void check_and_count(db::Connection& conn, const RateLimits& limits, std::string_view kind,
                     int64_t tenant, std::optional<int64_t> user, const Clock& clock) {
  if (limits.per_tenant == 0 && (limits.per_user == 0 || !user)) return;
  const int64_t now_s = clock.now_ms() / 1000;
  const int64_t window_start = now_s - now_s % limits.window_s;
  const int64_t retry_in = window_start + limits.window_s - now_s;
  std::optional<db::TenantScope> scope;
  if (conn.tenant() != tenant) scope.emplace(conn, tenant);
  // A savepoint inside the caller's transaction: a refusal takes its own counts back.
  db::Transaction tx(conn);
  conn.execute("DELETE FROM rate_limits WHERE tenant_id = $1 AND window_start < $2",
               {tenant, window_start});
  auto refuse = [&](const std::string& who, int limit, const char* variable) {
    throw RateLimited("rate limit: " + who + " has started " + std::to_string(limit) +
                          " jobs in the current " + std::to_string(limits.window_s) +
                          " s window (" + variable + "=" + std::to_string(limit) + "); " +
                          std::string(kind) + " refused, retry in " + std::to_string(retry_in) +
                          " s",
                      retry_in);
  };
  if (limits.per_tenant > 0 &&
      take(conn, tenant, "tenant", tenant, window_start) > limits.per_tenant) {
    refuse("tenant " + std::to_string(tenant), limits.per_tenant, "RATE_LIMIT_JOBS_PER_TENANT");
  }
  if (user && limits.per_user > 0 &&
      take(conn, tenant, "user", *user, window_start) > limits.per_user) {
    refuse("user " + std::to_string(*user), limits.per_user, "RATE_LIMIT_JOBS_PER_USER");
  }
  tx.commit();
}

}  // namespace unity::jobs
