#pragma once
// Starting the jobs people start (import, report, bulk notification, valuation, sync): one
// function per job that checks the input, takes the rate limit (jobs/rate_limit.h), creates the
// tracking row, dispatches the job and answers the dispatch's JSON. The CLI commands and the
// HTTP routes call these same functions, so both write the same rows and answer the same shape.
//
// The dispatch's JSON is {"job_id","uuid","queue", "<kind>_id"…}; with QUEUE_CONNECTION=sync the
// job has run inside the call and the JSON adds its outcome as the CLI prints it ("status", …).
// Nothing is written when the input is refused (kInvalidArgument, kNotFound for an unknown user,
// product or location, RateLimited past a limit).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/config.h"
#include "db/connection.h"
#include "jobs/bulk_notify.h"
#include "jobs/import_job.h"
#include "jobs/report_job.h"
#include "jobs/sync_job.h"
#include "jobs/valuation.h"
#include "queue/dispatch.h"

namespace unity::jobs {

// Who starts a job, where: the connection must be in `tenant`.
struct JobStarter {
  const Config& config;
  queue::JobDispatcher& dispatcher;
  int64_t tenant = 0;
  std::optional<int64_t> user;  // checked to belong to the tenant
  // QUEUE_CONNECTION=sync: the job runs inside the start call.
  bool runs_inline() const { return config.queue_connection == QueueConnection::kSync; }
};

struct StartedJob {
  queue::InsertedJob job;
  int64_t id = 0;       // the tracking row: import, report, bulk notification or sync id (0: none)
  nlohmann::json json;  // what the CLI prints with --json and the HTTP route answers
};

// import TYPE FILE --map=…: {"job_id","import_id","uuid","queue"} (+ "status", "total_rows",
// "imported_rows", "failed_rows" when run inline).
StartedJob start_import(db::Connection& conn, const JobStarter& who, const std::string& type,
                        const std::string& file, const std::string& map_spec,
                        ImportFile how = ImportFile::kCopy);
// Checks an import's type and --map before its file exists (the server checks them before it
// reads an upload). kInvalidArgument.
void check_import_request(const std::string& type, const std::string& map_spec);

// report: {"job_id","uuid","queue","report_id","status","path"} (the user is required). Under the
// sync driver a failure marks the row failed and is thrown.
StartedJob start_report(db::Connection& conn, const JobStarter& who, ReportRequest request);
// reports:show's object.
nlohmann::json report_json(const StoredReport& r);

// notify:bulk: {"job_id","bulk_id","uuid","queue"} (+ "status","sent","skipped","skipped_ids"
// when run inline). `users`: nullopt for every user of the tenant.
StartedJob start_bulk_notification(db::Connection& conn, const JobStarter& who,
                                   const std::string& kind,
                                   std::optional<std::vector<int64_t>> users, nlohmann::json data);

// valuation:recalculate [--product=ID|SKU] [--location=CODE]: {"job_id","uuid","queue"}.
StartedJob start_valuation(db::Connection& conn, const JobStarter& who, const std::string& product,
                           const std::string& location);
// valuation:show's rows of {"sku"?, "location"?} (kNotFound for an unknown one).
nlohmann::json valuations_json(db::Connection& conn, const std::optional<std::string>& sku,
                               const std::optional<std::string>& location);

// sync TYPE --endpoint --direction: {"job_id","sync_id","uuid","queue","status"}. Under the sync
// driver a failure marks the row failed and is thrown.
StartedJob start_sync_job(db::Connection& conn, const JobStarter& who, const std::string& type,
                          const std::string& direction, const std::string& endpoint);
// syncs:list's object.
nlohmann::json sync_json(const SyncLog& s);

}  // namespace unity::jobs
