// The RecalculateInventoryValuation job type (see valuation.h).
#include <chrono>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "erp/input.h"
#include "jobs/job_log.h"
#include "jobs/valuation.h"

namespace unity::jobs {

namespace {

using SteadyClock = std::chrono::steady_clock;

double ms_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
}

// Errors no retry can fix: bad payload, unknown product or location, an oversold ledger.
// The payload's scope, checked against the tenant's rows.
ValuationScope resolve_scope(db::Connection& conn, const nlohmann::json& payload) {
  erp::reject_unknown_fields(payload, {"product_id", "location", "user_id"});
  const int64_t tenant = conn.require_tenant();
  ValuationScope scope;
  if (auto id = optional_int(payload, "product_id")) {
    if (!conn.query_one("SELECT id FROM products WHERE tenant_id = $1 AND id = $2",
                        {tenant, *id})) {
      throw not_found("product " + std::to_string(*id) + " not found");
    }
    scope.product_id = *id;
  }
  if (auto code = optional_string(payload, "location")) {
    auto row = conn.query_one("SELECT id FROM locations WHERE tenant_id = $1 AND code = $2",
                              {tenant, *code});
    if (!row) throw not_found("location " + quote_for_message(*code) + " not found");
    scope.location_id = row->get<int64_t>(0);
  }
  return scope;
}

class RecalculateInventoryValuation final : public queue::Job {
 public:
  explicit RecalculateInventoryValuation(const Clock& clock) : clock_(clock) {}

  void handle(queue::JobContext& ctx) override {
    const JobLog log(ctx);
    run_attempt(ctx, log, [&] { run(ctx, log); });
  }

  // The failed attempt's transaction rolled back, so the stored valuations are as before the job:
  // nothing to undo. Records the outcome in the job's log.
  void failed(queue::JobContext& ctx, const std::string& error) override {
    JobLog(ctx).step("failed", {{"error", error}, {"stored_valuations", "unchanged"}});
  }

 private:
  void run(queue::JobContext& ctx, const JobLog& log) {
    db::Connection& conn = ctx.db();
    const auto payload =
        parse_json_object(ctx.payload(), "the RecalculateInventoryValuation payload");
    const ValuationScope scope = resolve_scope(conn, payload);
    log.step("started", {{"product_id", payload.value("product_id", nlohmann::json())},
                         {"location", payload.value("location", nlohmann::json())},
                         {"user_id", payload.value("user_id", nlohmann::json())}});
    auto t0 = SteadyClock::now();
    int64_t movements = 0;
    const auto rows = replay_ledger(conn, scope, movements, [&ctx] { return ctx.cancelled(); });
    log.step("ledger_replayed",
             {{"movements", movements}, {"rows", rows.size()}, {"duration_ms", ms_since(t0)}});
    t0 = SteadyClock::now();
    const int64_t deleted = store_valuations(conn, scope, rows, format_iso8601(clock_.now()));
    log.step("valuations_stored",
             {{"deleted", deleted}, {"written", rows.size()}, {"duration_ms", ms_since(t0)}});
  }

  const Clock& clock_;
};

}  // namespace

void register_valuation_job(queue::JobRegistry& registry, const Clock& clock) {
  registry.add(
      kRecalculateInventoryValuation,
      {.tries = 3,
       .timeout_s = 600,
       .backoff = queue::Backoff::exponential(std::chrono::seconds(10), std::chrono::minutes(10))},
      [&clock] { return std::make_unique<RecalculateInventoryValuation>(clock); });
}

}  // namespace unity::jobs
