// The tenant's audit trail and its own queue under /api/v1 (DESIGN.md's table): GET /events
// (admin, manager) is `events:list`; GET /queue/stats, GET /queue/failed,
// POST /queue/failed/{id}/retry and DELETE /queue/failed/{id} (admin) are `queue:stats`,
// `queue:failed`, `queue:retry` and `queue:forget` restricted to the token's tenant. Each calls
// the layer its twin calls (events/event_store.h, queue/store.h, queue/views.h).
//
// Isolation: the queue tables are claimed across tenants by workers, so the store is given the
// tenant explicitly and every statement names it; on PostgreSQL the connection's tenant context
// (set from the token) makes row-level security refuse the rest too. Another tenant's failed job
// is not found, exactly like an unknown id, and is left as it was.
#include <set>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/error.h"
#include "erp/input.h"
#include "events/event_store.h"
#include "http/route.h"
#include "queue/store.h"
#include "queue/views.h"

namespace unity::http {

namespace {

using Call = Api::Call;

// A query parameter the route does not know is refused, like a body's unknown field.
void reject_unknown_params(const Call& c, const std::set<std::string>& known) {
  for (const auto& [name, value] : c.query) {
    if (!known.count(name)) {
      throw invalid_argument("unknown query parameter " + quote_for_message(name));
    }
  }
}

std::string param(const Call& c, const std::string& name) {
  auto it = c.query.find(name);
  return it == c.query.end() ? "" : it->second;
}

std::optional<int64_t> cursor_id(const Call& c) {
  auto it = c.query.find("cursor");
  if (it == c.query.end()) return std::nullopt;
  return decode_id_cursor(it->second);
}

// An action that takes no input refuses a body's field by name, like every route.

Response list_events(Call& c) {
  reject_unknown_params(c, {"type", "since", "aggregate", "limit", "cursor"});
  const int limit = c.limit();
  auto filter =
      events::event_filter(param(c, "type"), param(c, "since"), param(c, "aggregate"), limit + 1);
  filter.after_id = cursor_id(c);
  auto rows = events::EventStore(c.conn).list(filter);
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    next = encode_cursor(std::to_string(rows.back().id));
  }
  nlohmann::json data = nlohmann::json::array();
  for (const auto& e : rows) data.push_back(events::event_json(e));
  return json_response(200, page_json(std::move(data), next));
}

Response queue_stats(Call& c) {
  reject_unknown_params(c, {});
  auto store = queue_store(c);
  return json_response(200, queue::stats_json(store, c.who.tenant_id));
}

Response list_failed(Call& c) {
  reject_unknown_params(c, {"limit", "cursor"});
  const int limit = c.limit();
  auto rows = queue_store(c).failed_list(c.who.tenant_id, limit + 1, cursor_id(c));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    next = encode_cursor(std::to_string(rows.back().id));
  }
  nlohmann::json data = nlohmann::json::array();
  for (const auto& f : rows) data.push_back(queue::failed_job_json(f));
  return json_response(200, page_json(std::move(data), next));
}

Response retry_failed(Call& c) {
  reject_unknown_params(c, {});
  require_empty_body(c);
  // "all" is the CLI's word for every failure: here a path names one failed job only.
  if (c.params[0] == "all") throw not_found("failed job all not found");
  auto jobs = queue_store(c).failed_retry({c.params[0]}, std::nullopt, c.who.tenant_id);
  const auto& j = jobs.at(0);
  return json_response(200, {{"id", j.id}, {"uuid", j.uuid}, {"queue", j.queue}});
}

Response forget_failed(Call& c) {
  reject_unknown_params(c, {});
  require_empty_body(c);
  if (!queue_store(c).failed_forget(c.params[0], c.who.tenant_id)) {
    throw not_found("failed job " + quote_for_message(c.params[0]) + " not found");
  }
  return json_response(200, {{"forgotten", c.params[0]}});
}

}  // namespace

std::vector<Api::Route> admin_routes() {
  return {
      route("GET", "events", Access::kManagers, list_events),
      route("GET", "queue/stats", Access::kAdmin, queue_stats),
      route("GET", "queue/failed", Access::kAdmin, list_failed),
      route("POST", "queue/failed/{id}/retry", Access::kAdmin, retry_failed),
      route("DELETE", "queue/failed/{id}", Access::kAdmin, forget_failed),
  };
}

}  // namespace unity::http
