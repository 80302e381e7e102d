#pragma once
// The jobs layer (DESIGN.md): the seed's background jobs, registered on a JobRegistry by
// wire_jobs(). Today: RecalculateInventoryValuation (jobs/valuation.h); ProcessBulkImport,
// GenerateReports, SendBulkNotifications and SyncExternalData join the same wiring.
// GenerateReports: jobs/report_job.h (files under STORAGE_PATH/reports, tracked in `reports`).
// ProcessBulkImport: jobs/import_job.h (its services' event dispatcher: set_import_events()).

#include "core/clock.h"
#include "queue/registry.h"

namespace unity::jobs {

// Registers every job type of this layer with its own tries, timeout and backoff. Call once per
// registry, at start-up (a second call throws kAlreadyExists, like JobRegistry::add). `clock`
// stamps the jobs' results and must outlive the registry.
void wire_jobs(queue::JobRegistry& registry, const Clock& clock = system_clock());

}  // namespace unity::jobs
