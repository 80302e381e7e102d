#include "queue/dispatch.h"

#include "core/error.h"
#include "core/json.h"
#include "core/trace.h"
#include "core/uuid.h"
#include "db/spans.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "queue/payload_crypt.h"
#include "queue/running_job.h"

namespace unity::queue {

Dispatcher::Dispatcher(const Config& config, const JobRegistry& registry, const Clock& clock)
    : config_(config), registry_(registry), clock_(clock) {}

NewJob Dispatcher::prepare(const JobType& type, int64_t tenant_id, const std::string& payload,
                           const DispatchOptions& options) const {
  require_json_object(payload, "the job payload");
  if (options.delay.count() < 0) throw invalid_argument("--delay must not be negative");
  if (options.tries && (*options.tries < 1 || *options.tries > 1000)) {
    throw invalid_argument("tries must be between 1 and 1000");
  }
  if (options.timeout_s && (*options.timeout_s < 1 || *options.timeout_s > 86400)) {
    throw invalid_argument("timeout must be between 1 and 86400 seconds");
  }
  if (options.priority < -kMaxPriority || options.priority > kMaxPriority) {
    throw invalid_argument("priority must be between -" + std::to_string(kMaxPriority) + " and " +
                           std::to_string(kMaxPriority));
  }
  NewJob j;
  j.tenant_id = tenant_id;
  j.priority = options.priority;
  j.queue = options.queue.value_or(type.options.queue.empty() ? config_.queue_default
                                                              : type.options.queue);
  if (j.queue.empty() || j.queue.size() > 100) throw invalid_argument("invalid queue name");
  j.type = type.name;
  // An encrypted type's payload is sealed here, so every path that stores it (dispatch, a batch's
  // jobs and callbacks, a chain's later links) stores it sealed.
  j.payload = type.options.encrypted ? seal_payload(config_, type.name, payload) : payload;
  const int64_t now = clock_.now().time_since_epoch().count();
  j.available_at_us =
      now + std::chrono::duration_cast<std::chrono::microseconds>(options.delay).count();
  j.max_tries = options.tries ? options.tries : type.options.tries;
  j.timeout_s = options.timeout_s ? options.timeout_s : type.options.timeout_s;
  if (type.options.backoff) j.backoff = type.options.backoff->to_string();
  if (type.options.retry_for) {
    j.retry_until_us =
        now +
        std::chrono::duration_cast<std::chrono::microseconds>(*type.options.retry_for).count();
  }
  j.unique_key = options.unique_key;
  // The job joins the calling thread's trace, as a child of its open span (batches and chains,
  // which prepare their jobs here too, as well as dispatch_many).
  if (trace::Current* cur = trace::current_trace()) {
    cur->recorded = true;
    j.trace_id = cur->trace_id;
    j.parent_span_id = cur->span_id;
  }
  return j;
}

std::vector<InsertedJob> Dispatcher::dispatch_many(db::Connection& conn, int64_t tenant_id,
                                                   const std::string& type_name,
                                                   const std::vector<std::string>& payloads,
                                                   const DispatchOptions& options) {
  const JobType& type = registry_.get(type_name);
  if (tenant_id < 0) throw invalid_argument("tenant id must not be negative");
  if (tenant_id != 0 && conn.tenant() != tenant_id) db::find_tenant(conn, tenant_id);
  std::vector<NewJob> jobs;
  jobs.reserve(payloads.size());
  if (!options.parent_span_ids.empty() && options.parent_span_ids.size() != payloads.size()) {
    throw invalid_argument("one parent span per payload");
  }
  for (const auto& p : payloads) jobs.push_back(prepare(type, tenant_id, p, options));
  if (!options.parent_span_ids.empty() && !jobs.empty() && !jobs[0].trace_id.empty()) {
    for (size_t i = 0; i < jobs.size(); ++i) jobs[i].parent_span_id = options.parent_span_ids[i];
  }

  if (config_.queue_connection == QueueConnection::kSync) {
    std::vector<InsertedJob> out;
    for (const auto& j : jobs) {
      run_inline(conn, type, j);
      out.push_back({0, new_uuid().to_string(), j.queue});
    }
    return out;
  }
  JobStore store(conn, config_.queue_table, clock_);
  return store.job_insert_many(jobs);
}

void Dispatcher::run_inline(db::Connection& conn, const JobType& type, const NewJob& job) {
  ClaimedJob claimed;
  claimed.uuid = new_uuid().to_string();
  claimed.tenant_id = job.tenant_id;
  claimed.queue = job.queue;
  claimed.type = job.type;
  claimed.payload =
      type.options.encrypted ? open_payload(config_, type.name, job.payload) : job.payload;
  claimed.attempts = 1;
  claimed.max_tries = 1;
  claimed.trace_id = job.trace_id;
  claimed.parent_span_id = job.parent_span_id;
  std::optional<db::TenantScope> scope;
  if (job.tenant_id != 0) scope.emplace(conn, job.tenant_id);
  db::Transaction tx(conn);
  RunningJob ctx(claimed, conn, nullptr, nullptr, 1, &job_log_);
  struct Ended {  // the listener's last call, however handle() ends
    const InlineProgress& listener;
    const std::string& type;
    ~Ended() {
      if (listener) listener(type, -1);
    }
  } ended{inline_progress_, job.type};
  if (inline_progress_) {
    ctx.set_progress_listener([this, &job](int percent) { inline_progress_(job.type, percent); });
  }
  // Traced like a worker's attempt: its own span, the parent of what it dispatches or writes.
  trace::TraceScope traced(job.trace_id, job.trace_id.empty() ? "" : trace::new_span_id());
  const int64_t started = clock_.now().time_since_epoch().count();
  auto instance = type.make();
  instance->handle(ctx);
  if (!job.trace_id.empty()) {
    db::span_insert(conn, {job.trace_id, traced.current().span_id, job.parent_span_id,
                           job.tenant_id, job_span_kind(job.type), job.type, "ok", started,
                           clock_.now().time_since_epoch().count(), "sync"});
  }
  tx.commit();
}

}  // namespace unity::queue
