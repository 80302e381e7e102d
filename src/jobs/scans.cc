#include "jobs/scans.h"

#include <chrono>
#include <exception>

#include "core/error.h"
#include "db/tenancy.h"
#include "erp/billing/billing_service.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"
#include "notify/inbox.h"
#include "queue/store.h"
#include "queue/user_schedules.h"

namespace unity::jobs {

namespace {

using std::chrono::days;

constexpr int kExpiryWindowDays = 30;       // DESIGN.md: batches expiring within 30 days
constexpr int kNotificationsKeepDays = 30;  // read notifications kept this long
constexpr int kFailedJobsKeepDays = 7;      // failed jobs kept this long

// Every tenant, in the tenant's context.
void each_tenant(const ScanContext& ctx,
                 const std::function<void(db::Connection&, int64_t)>& scan) {
  db::Connection& conn = ctx.app();
  for_each_tenant(conn, scan_tenants(conn, std::nullopt), scan);
}

std::vector<int64_t> every_tenant(const ScanContext& ctx) {
  return scan_tenants(ctx.app(), std::nullopt);
}

}  // namespace

std::string date_of(TimePoint t) { return format_iso8601(t).substr(0, 10); }

std::vector<int64_t> scan_tenants(db::Connection& conn, std::optional<int64_t> only) {
  if (only) return {db::find_tenant(conn, *only).id};
  std::vector<int64_t> out;
  for (const auto& t : db::list_tenants(conn)) out.push_back(t.id);
  return out;
}

void for_each_tenant(db::Connection& conn, const std::vector<int64_t>& tenants,
                     const std::function<void(db::Connection&, int64_t tenant)>& scan) {
  std::optional<ErrorCode> first;
  std::string failures;
  size_t failed = 0;
  for (int64_t tenant : tenants) {
    try {
      db::TenantScope scope(conn, tenant);
      scan(conn, tenant);
    } catch (const std::exception& e) {
      const auto* error = dynamic_cast<const Error*>(&e);
      if (!first) first = error ? error->code() : ErrorCode::kInternal;
      failures += (failed++ ? "; tenant " : "tenant ") + std::to_string(tenant) + ": " + e.what();
    }
  }
  if (!first) return;
  if (tenants.size() == 1) throw Error(*first, failures.substr(failures.find(": ") + 2));
  throw Error(*first, std::to_string(failed) + " of " + std::to_string(tenants.size()) +
                          " tenants failed: " + failures);
}

std::vector<ExpiryFinding> check_expiry_for_tenants(const ScanContext& ctx,
                                                    const std::vector<int64_t>& tenants,
                                                    const std::string& as_of, int days_ahead) {
  // Bad input is one error for every tenant, raised before any tenant is scanned.
  erp::check_date("as_of", as_of);
  if (days_ahead < 0 || days_ahead > 3650)
    throw invalid_argument("days must be 0 to 3650, got " + std::to_string(days_ahead));
  events::EventBus& bus = ctx.bus();
  std::vector<ExpiryFinding> out;
  for_each_tenant(ctx.app(), tenants, [&](db::Connection& conn, int64_t tenant) {
    for (auto& e : erp::inventory::InventoryService(conn, bus).check_expiry(as_of, days_ahead))
      out.push_back({tenant, std::move(e)});
  });
  return out;
}

std::vector<OverdueFinding> check_overdue_for_tenants(const ScanContext& ctx,
                                                      const std::vector<int64_t>& tenants,
                                                      const std::string& as_of) {
  erp::check_date("as_of", as_of);
  events::EventBus& bus = ctx.bus();
  std::vector<OverdueFinding> out;
  for_each_tenant(ctx.app(), tenants, [&](db::Connection& conn, int64_t tenant) {
    for (auto& d : erp::billing::BillingService(conn, bus).check_overdue(as_of))
      out.push_back({tenant, std::move(d)});
  });
  return out;
}

std::vector<ScheduledScan> daily_scans(const ScanContext& ctx) {
  const auto midnight = queue::Frequency::daily_at(0, 0);
  std::vector<ScheduledScan> scans;
  scans.push_back(
      {"stock:check-expiry", midnight,
       "StockExpiring for batches expiring within 30 days, every tenant", [&ctx](TimePoint slot) {
         check_expiry_for_tenants(ctx, every_tenant(ctx), date_of(slot), kExpiryWindowDays);
       }});
  scans.push_back({"invoices:check-overdue", midnight,
                   "InvoiceOverdue for unpaid invoices past their due date, every tenant",
                   [&ctx](TimePoint slot) {
                     check_overdue_for_tenants(ctx, every_tenant(ctx), date_of(slot));
                   }});
  return scans;
}

std::vector<ScheduledScan> maintenance_tasks(const ScanContext& ctx) {
  std::vector<ScheduledScan> tasks;
  tasks.push_back({"notifications:prune", queue::Frequency::daily_at(1, 0),
                   "Delete notifications read more than 30 days ago, every tenant",
                   [&ctx](TimePoint slot) {
                     each_tenant(ctx, [slot](db::Connection& conn, int64_t) {
                       notify::prune_read(conn, slot - days(kNotificationsKeepDays));
                     });
                   }});
  tasks.push_back({"queue:prune-failed", queue::Frequency::daily_at(2, 0),
                   "Delete failed jobs older than 7 days", [&ctx](TimePoint slot) {
                     // failed_flush counts its hours back from the store's clock: the slot's time.
                     ManualClock at_slot(slot);
                     queue::JobStore(ctx.app(), ctx.queue_table(), at_slot)
                         .failed_flush(kFailedJobsKeepDays * 24);
                   }});
  return tasks;
}

queue::Schedule make_schedule(const ScanContext& ctx, const Clock& clock) {
  queue::Schedule schedule(clock);
  std::vector<ScheduledScan> all = daily_scans(ctx);
  for (auto& t : maintenance_tasks(ctx)) all.push_back(std::move(t));
  for (auto& t : all) {
    schedule.add(std::move(t.name), std::move(t.frequency), std::move(t.run),
                 std::move(t.description));
  }
  schedule.also_run([&ctx, &clock](db::Connection& conn, TimePoint at) {
    std::vector<queue::TaskRun> runs;
    if (ctx.dispatcher) runs = queue::run_due_user_schedules(conn, ctx.dispatcher(), at, clock);
    if (ctx.keep_completed_minutes) {
      ManualClock at_round(at);  // the retention counts back from the round's time
      queue::JobStore store(conn, ctx.queue_table(), at_round);
      store.set_keep_finished(std::chrono::minutes(ctx.keep_completed_minutes()));
      store.finished_prune();
    }
    return runs;
  });
  return schedule;
}

}  // namespace unity::jobs
