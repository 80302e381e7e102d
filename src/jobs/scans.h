#pragma once
// The product's schedule: the daily scans and the pruning that `schedule:run` / `schedule:work`
// run (DESIGN.md: "daily scans are due at 00:00 UTC"), shared with the commands that run a scan
// by hand (`stock:check-expiry`, `invoices:check-overdue`), so a scheduled scan and a manual one
// do exactly the same thing. The command line only wires it (cli/schedule_commands.cc).
//
// The schedule (all times UTC):
//   stock:check-expiry      daily at 00:00  StockExpiring for batches expiring within 30 days of
//                                           the slot's date, every tenant
//   invoices:check-overdue  daily at 00:00  InvoiceOverdue for unpaid invoices past due on the
//                                           slot's date, every tenant
//   notifications:prune     daily at 01:00  read notifications read more than 30 days before the
//                                           slot, every tenant
//   queue:prune-failed      daily at 02:00  failed jobs that failed more than 7 days before the
//                                           slot
// schedule_runs rows older than 30 days are pruned by Schedule::run_due itself. With a
// dispatcher, each round also runs the tenants' schedules that are due (queue/user_schedules.h);
// with keep_completed_minutes, each round prunes the finished jobs kept longer than that (an
// idempotent DELETE every scheduler may run: no schedule_runs record, no line in the output).
//
// A per-tenant task goes through every tenant even when one fails, then fails naming the tenants
// that did (the scheduler records it; the other tasks still run).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "db/connection.h"
#include "erp/billing/events.h"
#include "erp/inventory/events.h"
#include "events/event_bus.h"
#include "queue/dispatch.h"
#include "queue/schedule.h"

namespace unity::jobs {

// What the scans run with, asked for only when a task runs (so listing the schedule opens
// nothing). The caller owns what they return; it must outlive the schedule.
struct ScanContext {
  // The restricted app connection the scans run on, each tenant's work in its tenant context.
  std::function<db::Connection&()> app;
  // The application's event bus with the ERP's listeners wired (erp::wire_erp).
  std::function<events::EventBus&()> bus;
  // DB_QUEUE_TABLE (queue:prune-failed).
  std::function<std::string()> queue_table;
  // Dispatches the jobs of the tenants' own schedules (queue/user_schedules.h); when empty, the
  // schedule runs only the tasks below.
  std::function<queue::Dispatcher&()> dispatcher;
  // QUEUE_KEEP_COMPLETED_MINUTES: when set, each round also prunes finished_jobs of the jobs
  // that finished longer ago than that (JobStore::finished_prune).
  std::function<int()> keep_completed_minutes;
};

// The tenants a scan covers: `only` (kNotFound when it does not exist), else every tenant.
std::vector<int64_t> scan_tenants(db::Connection& conn, std::optional<int64_t> only);

// Runs `scan` once per tenant on `conn` in that tenant's context (db::TenantScope). Every tenant
// is visited; if any threw, throws afterwards an Error with the first failure's code naming each
// failed tenant ("2 of 5 tenants failed: tenant 3: …; tenant 4: …").
void for_each_tenant(db::Connection& conn, const std::vector<int64_t>& tenants,
                     const std::function<void(db::Connection&, int64_t tenant)>& scan);

struct ExpiryFinding {
  int64_t tenant_id = 0;
  erp::inventory::ExpiringBatch batch;
};

// stock:check-expiry: InventoryService::check_expiry(as_of, days) for each tenant (as_of is
// YYYY-MM-DD); the alerts raised, tenant by tenant. kInvalidArgument for a bad date or days
// outside 0–3650, before any tenant is scanned; otherwise errors as for_each_tenant().
std::vector<ExpiryFinding> check_expiry_for_tenants(const ScanContext& ctx,
                                                    const std::vector<int64_t>& tenants,
                                                    const std::string& as_of, int days = 30);

struct OverdueFinding {
  int64_t tenant_id = 0;
  erp::billing::InvoiceOverdueData invoice;
};

// invoices:check-overdue: BillingService::check_overdue(as_of) for each tenant (as_of is
// YYYY-MM-DD); the invoices marked overdue, tenant by tenant. Errors as check_expiry_for_tenants.
std::vector<OverdueFinding> check_overdue_for_tenants(const ScanContext& ctx,
                                                      const std::vector<int64_t>& tenants,
                                                      const std::string& as_of);

// A task of the schedule: its schedule_runs name (the name of the command that does the same by
// hand), when it is due, what it does, and the work for one slot.
struct ScheduledScan {
  std::string name;
  queue::Frequency frequency;
  std::string description;
  std::function<void(TimePoint slot)> run;
};

// The daily scans, due at 00:00 UTC. Each module adds its scan here, one line. The tasks hold
// `ctx` by reference: it must outlive them.
std::vector<ScheduledScan> daily_scans(const ScanContext& ctx);
// Housekeeping: notifications:prune (01:00) and queue:prune-failed (02:00).
std::vector<ScheduledScan> maintenance_tasks(const ScanContext& ctx);
// daily_scans() then maintenance_tasks(), as one Schedule; `clock` stamps the runs; `ctx` and
// `clock` must outlive it.
queue::Schedule make_schedule(const ScanContext& ctx, const Clock& clock = system_clock());

// "2026-03-01": the UTC date of `t`.
std::string date_of(TimePoint t);

}  // namespace unity::jobs
