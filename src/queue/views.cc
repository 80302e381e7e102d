#include "queue/views.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/config.h"
#include "core/text.h"

namespace unity::queue {

namespace {

bool names_secret(std::string_view name) {
  const std::string key = ascii_lower(name);
  for (const char* word : {"password", "secret", "token", "api_key", "apikey", "authorization"}) {
    if (key.find(word) != std::string::npos) return true;
  }
  return false;
}

void redact(nlohmann::json& v) {
  if (v.is_string()) {
    v = redact_secrets(v.get_ref<const std::string&>());
  } else if (v.is_array()) {
    for (auto& item : v) redact(item);
  } else if (v.is_object()) {
    for (auto& [key, item] : v.items()) {
      if (names_secret(key) && !item.is_null()) {
        item = "***";
      } else {
        redact(item);
      }
    }
  }
}

}  // namespace

nlohmann::json redacted_payload(const std::string& payload) {
  nlohmann::json v = nlohmann::json::parse(payload, nullptr, false);
  if (v.is_discarded()) return redact_secrets(payload);
  redact(v);
  return v;
}

nlohmann::json failed_job_json(const FailedJob& f) {
  return {{"id", f.id},
          {"uuid", f.uuid},
          {"queue", f.queue},
          {"tenant_id", f.tenant_id},
          {"type", f.type},
          {"attempts", f.attempts},
          {"exception", redact_secrets(f.exception)},
          {"failed_at", f.failed_at},
          {"payload", redacted_payload(f.payload)}};
}

nlohmann::json stats_json(JobStore& store, std::optional<int64_t> tenant_id) {
  nlohmann::json queues = nlohmann::json::array(), tenants = nlohmann::json::array();
  for (const auto& q : store.stats_queues(tenant_id)) {
    queues.push_back({{"queue", q.queue},
                      {"ready", q.ready},
                      {"reserved", q.reserved},
                      {"delayed", q.delayed},
                      {"failed", q.failed}});
  }
  for (const auto& t : store.stats_tenants(tenant_id)) {
    tenants.push_back({{"tenant_id", t.tenant_id},
                       {"ready", t.ready},
                       {"reserved", t.reserved},
                       {"delayed", t.delayed},
                       {"failed", t.failed}});
  }
  return {{"queues", queues}, {"tenants", tenants}};
}

nlohmann::json worker_json(const WorkerInfo& w) {
  auto at = [](int64_t us) { return format_iso8601(TimePoint(std::chrono::microseconds(us))); };
  return {{"id", w.id},
          {"name", w.name},
          {"host", w.host},
          {"pid", w.pid},
          {"queues", w.queues},
          {"concurrency", w.concurrency},
          {"started_at", at(w.started_at_us)},
          {"last_heartbeat", at(w.last_heartbeat_us)},
          {"jobs_done", w.jobs_done}};
}

namespace {

nlohmann::json iso_time(std::optional<int64_t> us) {
  if (!us) return nullptr;
  return format_iso8601(TimePoint(std::chrono::microseconds(*us)));
}

}  // namespace

nlohmann::json job_row_json(const JobRow& j) {
  return {{"id", j.id},
          {"uuid", j.uuid},
          {"type", j.type},
          {"queue", j.queue},
          {"state", j.state},
          {"priority", j.priority},
          {"attempts", j.attempts},
          {"batch_id", j.batch_id ? nlohmann::json(*j.batch_id) : nlohmann::json()},
          {"created_at", iso_time(j.created_at_us)},
          {"finished_at", iso_time(j.finished_at_us)}};
}

nlohmann::json cancelled_job_json(const CancelledJob& j) {
  return {{"id", j.id}, {"state", j.state == CancelState::kCancelled ? "cancelled" : "cancelling"}};
}

}  // namespace unity::queue
