#include "jobs/jobs.h"

#include "jobs/bulk_notify.h"
#include "jobs/import_job.h"
#include "jobs/report_job.h"
#include "jobs/valuation.h"

namespace unity::jobs {

const SyncSettings& default_sync_settings() {
  static const SyncSettings settings;
  return settings;
}

void wire_jobs(queue::JobRegistry& registry, events::EventDispatcher& events, const Clock& clock,
               const SyncSettings& sync) {
  register_valuation_job(registry, clock);
  register_sync_job(registry, events, sync, clock);
  register_import_job(registry, events, clock);
  register_bulk_notify_job(registry, clock);
  register_report_job(registry, clock);
}

}  // namespace unity::jobs
