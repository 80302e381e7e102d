#pragma once
// The jobs layer (DESIGN.md): the seed's background jobs, registered on a JobRegistry by
// wire_jobs(): RecalculateInventoryValuation (jobs/valuation.h), ProcessBulkImport
// (jobs/import_job.h), GenerateReports (jobs/report_job.h), SendBulkNotifications
// (jobs/bulk_notify.h) and SyncExternalData (jobs/sync_job.h).

#include "core/clock.h"
#include "events/event_bus.h"
#include "jobs/sync_job.h"
#include "queue/registry.h"

namespace unity::jobs {

// The sync settings of a process that sets none (no token, the default timeouts and breaker).
const SyncSettings& default_sync_settings();

// Registers every job type of this layer with its own tries, timeout and backoff. Call once per
// registry, at start-up (a second call throws kAlreadyExists, like JobRegistry::add). The jobs
// that write through the domain services (import, sync) dispatch their events on `events` (the
// application's bus). `events`, `clock` (stamps the jobs' results) and `sync` (read at each
// attempt) are held by reference and must outlive the registry.
void wire_jobs(queue::JobRegistry& registry, events::EventDispatcher& events,
               const Clock& clock = system_clock(),
               const SyncSettings& sync = default_sync_settings());

}  // namespace unity::jobs
