// The Bus under /api/v1 (DESIGN.md "The Bus"): batches, chains and the tenant's jobs, the twins
// of queue:batch, queue:batches, batch:show, batch:cancel, queue:chain, queue:jobs and
// queue:cancel. Admin only, like the tenant's other queue routes (admin_routes.cc). The tenant
// and the user come from the token; another tenant's batch or job is not found, with the message
// an unknown one gets. Each handler calls what its twin calls (queue/batch.h, queue/store.h) and
// answers its --json shape; the routes that dispatch answer 202.
#include <charconv>
#include <set>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/error.h"
#include "http/route.h"
#include "queue/batch.h"
#include "queue/dispatch.h"
#include "queue/store.h"
#include "queue/views.h"

namespace unity::http {

namespace {

using Call = Api::Call;

void reject_unknown_params(const Call& c, const std::set<std::string>& known) {
  for (const auto& [name, value] : c.query) {
    if (!known.count(name)) {
      throw invalid_argument("unknown query parameter " + quote_for_message(name));
    }
  }
}

// Batches and chains validate and resolve their jobs with the full dispatcher (the one `serve`
// is given); a test double that only records dispatches cannot start them.
const queue::Dispatcher& full_dispatcher(const Call& c) {
  const auto* d = dynamic_cast<const queue::Dispatcher*>(&c.dispatcher);
  if (!d) throw internal_error("batches and chains need the database dispatcher");
  return *d;
}

// A page of batches ends on a batch: the cursor carries its created_at and id.
std::string batch_cursor(const queue::Batch& b) {
  return encode_cursor(std::to_string(b.created_at_us) + ":" + b.id);
}

std::optional<queue::BatchCursor> batch_cursor_of(const Call& c) {
  auto it = c.query.find("cursor");
  if (it == c.query.end()) return std::nullopt;
  const std::string text = decode_cursor(it->second);
  const auto colon = text.find(':');
  int64_t at = 0;
  if (colon == std::string::npos ||
      std::from_chars(text.data(), text.data() + colon, at).ptr != text.data() + colon) {
    throw invalid_argument("malformed cursor: pass next_cursor from the previous page as it is");
  }
  return queue::BatchCursor{at, text.substr(colon + 1)};
}

queue::Batch find_batch(const Call& c) {
  auto b = queue::batch_find(c.conn, c.who.tenant_id, c.params.at(0));
  if (!b) throw not_found("batch " + quote_for_message(c.params.at(0)) + " not found");
  return *b;
}

Response create_batch(Call& c) {
  reject_unknown_params(c, {});
  const auto spec = queue::parse_batch_spec(c.body().dump());
  const auto b =
      queue::dispatch_batch(c.conn, full_dispatcher(c), c.who.tenant_id, spec, c.who.user_id);
  return json_response(202, {{"batch_id", b.batch_id}, {"job_ids", b.job_ids}});
}

Response list_batches(Call& c) {
  reject_unknown_params(c, {"limit", "cursor"});
  const int limit = c.limit();
  auto rows = queue::batch_list(c.conn, c.who.tenant_id, limit + 1, batch_cursor_of(c));
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    next = batch_cursor(rows.back());
  }
  nlohmann::json data = nlohmann::json::array();
  for (const auto& b : rows) data.push_back(queue::batch_json(b));
  return json_response(200, page_json(std::move(data), next));
}

Response show_batch(Call& c) {
  reject_unknown_params(c, {});
  return json_response(200, queue::batch_json(find_batch(c)));
}

Response cancel_batch(Call& c) {
  reject_unknown_params(c, {});
  require_empty_body(c);
  find_batch(c);  // another tenant's: not found, before anything else is said
  const int64_t now = c.clock.now().time_since_epoch().count();
  return json_response(
      200, queue::batch_json(queue::batch_cancel(c.conn, c.who.tenant_id, c.params.at(0), now)));
}

Response create_chain(Call& c) {
  reject_unknown_params(c, {});
  const auto spec = queue::parse_chain_spec(c.body().dump());
  const auto ch = queue::dispatch_chain(c.conn, full_dispatcher(c), c.who.tenant_id, spec);
  return json_response(202, {{"chain_id", ch.chain_id}, {"job_id", ch.job_id}});
}

// queue:jobs: the newest `limit` jobs, in one page (next_cursor is always null).
Response list_jobs(Call& c) {
  reject_unknown_params(c, {"state", "type", "limit"});
  auto param = [&](const char* name) -> std::optional<std::string> {
    auto it = c.query.find(name);
    if (it == c.query.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  auto store = queue_store(c);
  nlohmann::json data = nlohmann::json::array();
  for (const auto& j : store.jobs_list(c.who.tenant_id, param("state"), param("type"), c.limit()))
    data.push_back(queue::job_row_json(j));
  return json_response(200, page_json(std::move(data), std::nullopt));
}

Response cancel_job(Call& c) {
  reject_unknown_params(c, {});
  require_empty_body(c);
  auto store = queue_store(c);
  return json_response(
      200, queue::cancelled_job_json(store.job_cancel(c.who.tenant_id, c.params.at(0))));
}

}  // namespace

std::vector<Api::Route> bus_routes() {
  return {
      route("POST", "batches", Access::kAdmin, create_batch),
      route("GET", "batches", Access::kAdmin, list_batches),
      route("GET", "batches/{id}", Access::kAdmin, show_batch),
      route("POST", "batches/{id}/cancel", Access::kAdmin, cancel_batch),
      route("POST", "chains", Access::kAdmin, create_chain),
      route("GET", "jobs", Access::kAdmin, list_jobs),
      route("POST", "jobs/{id}/cancel", Access::kAdmin, cancel_job),
  };
}

}  // namespace unity::http
