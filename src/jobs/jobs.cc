#include "jobs/jobs.h"

#include "jobs/bulk_notify.h"
#include "jobs/import_job.h"
#include "jobs/report_job.h"
#include "jobs/sync_job.h"
#include "jobs/valuation.h"

namespace unity::jobs {

void wire_jobs(queue::JobRegistry& registry, const Clock& clock) {
  register_valuation_job(registry, clock);
  register_sync_job(registry, clock);
  register_import_job(registry, clock);  // ProcessBulkImport (jobs/import_job.h)
  register_bulk_notify_job(registry, clock);
  register_report_job(registry, clock);  // GenerateReports (jobs/report_job.h)
}

}  // namespace unity::jobs
