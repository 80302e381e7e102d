#pragma once
// The jobs layer (DESIGN.md): the seed's background jobs, registered on a JobRegistry by
// wire_jobs(): RecalculateInventoryValuation (jobs/valuation.h), ProcessBulkImport
// (jobs/import_job.h), GenerateReports (jobs/report_job.h), SendBulkNotifications
// (jobs/bulk_notify.h) and SyncExternalData (jobs/sync_job.h).

#include "core/clock.h"
#include "core/config.h"
#include "events/event_bus.h"
#include "jobs/import_job.h"
#include "jobs/sync_job.h"
#include "queue/registry.h"

namespace unity::jobs {

// The jobs' settings from the configuration: sync (SYNC_TOKEN, SYNC_ALLOWED_HOSTS,
// SYNC_MAX_RESPONSE_MB) and import limits (IMPORT_MAX_COLUMNS).
struct JobSettings {
  SyncSettings sync;
  ImportSettings import;
};
JobSettings job_settings(const Config& config);
// The settings of a process that sets none (no token, no sync host allowed, default limits).
const JobSettings& default_job_settings();

// Registers every job type of this layer with its own tries, timeout and backoff. Call once per
// registry, at start-up (a second call throws kAlreadyExists, like JobRegistry::add). The jobs
// that write through the domain services (import, sync) dispatch their events on `events` (the
// application's bus). `events`, `clock` (stamps the jobs' results) and `settings` (read at each
// attempt) are held by reference and must outlive the registry.
void wire_jobs(queue::JobRegistry& registry, events::EventDispatcher& events,
               const Clock& clock = system_clock(),
               const JobSettings& settings = default_job_settings());

}  // namespace unity::jobs
