#include "jobs/jobs.h"

#include "jobs/bulk_notify.h"
#include "jobs/import_job.h"
#include "jobs/report_job.h"
#include "jobs/valuation.h"

namespace unity::jobs {

JobSettings job_settings(const Config& config) {
  JobSettings s;
  s.sync = sync_settings(config);
  s.import.max_columns = static_cast<size_t>(config.import_max_columns);
  return s;
}

const JobSettings& default_job_settings() {
  static const JobSettings settings;
  return settings;
}

void wire_jobs(queue::JobRegistry& registry, events::EventDispatcher& events, const Clock& clock,
               const JobSettings& settings) {
  register_valuation_job(registry, clock);
  register_sync_job(registry, events, settings.sync, clock);
  register_import_job(registry, events, clock, settings.import);
  register_bulk_notify_job(registry, clock);
  register_report_job(registry, clock);
}

}  // namespace unity::jobs
