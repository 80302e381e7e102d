#pragma once
// The queue's output shapes (DESIGN.md "Output contract"): the JSON `queue:failed` and
// `queue:stats` print with --json and the HTTP API answers (GET /api/v1/queue/…), built in one
// place so the two never drift apart.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "queue/store.h"
#include "queue/workers.h"

namespace unity::queue {

// `queue:failed`'s item: {"id","uuid","queue","tenant_id","type","attempts","exception",
// "failed_at","payload"}. The exception and the payload go through redacted_payload /
// redact_secrets first (guarantee 11: no secret in what is shown).
nlohmann::json failed_job_json(const FailedJob& f);

// A job's payload (JSON text) as shown to a person: every string has its secrets masked
// (redact_secrets: URI passwords, password=… pairs) and the value of every key that names a
// secret ("password", "secret", "token", "api_key", "authorization", any case) is "***". A
// payload that is not JSON is shown as a masked string.
nlohmann::json redacted_payload(const std::string& payload);

// `queue:stats` without its throughput: {"queues":[{"queue","ready","reserved","delayed",
// "failed"}],"tenants":[{"tenant_id","ready","reserved","delayed","failed"}]}; `tenant_id` set:
// that tenant's jobs only (its own view).
nlohmann::json stats_json(JobStore& store, std::optional<int64_t> tenant_id);

// `queue:jobs`'s item: {"id","uuid","type","queue","state","priority","attempts","batch_id",
// "created_at","finished_at"} (times ISO 8601, finished_at null while waiting or running).
nlohmann::json job_row_json(const JobRow& j);
// `queue:cancel`'s answer: {"id","state"}, state "cancelled" or "cancelling".
nlohmann::json cancelled_job_json(const CancelledJob& j);

// `queue:workers`'s item: {"id","name","host","pid","queues":[…],"concurrency","started_at",
// "last_heartbeat" (ISO 8601),"jobs_done"}.
nlohmann::json worker_json(const WorkerInfo& w);

}  // namespace unity::queue
