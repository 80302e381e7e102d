// The operators' dashboard (DESIGN.md "Dashboard"): its page, built into the binary
// (src/http/dashboard/: index.html, app.css, app.js), and its JSON under /dashboard/api/ (an
// operator token only). The page is served without a token, like any static file: it holds no
// data, asks for the token in a form and sends it in the Authorization header of its own calls.
//
// GET /dashboard/api/overview is everything the page shows, read in one call every 2 s: jobs per
// queue, the last hour per queue and minute (completed, failed, average wait), the workers alive,
// tenants with their backlog, pause and weight, the newest failed jobs (payload and exception
// masked as in queue:failed) and the newest domain events (type, tenant, aggregate and time: no
// payload, an operator sees no tenant's business data). The actions are POST and DELETE calls
// (retry, forget, pause, resume, weight), the CLI twins' store calls across tenants.
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/config.h"
#include "core/embedded_file.h"
#include "core/error.h"
#include "db/tenancy.h"
#include "http/route.h"
#include "queue/store.h"
#include "queue/views.h"
#include "queue/workers.h"

namespace unity::http {

// src/http/dashboard/* (cmake/EmbedFiles.cmake).
const std::vector<EmbeddedFile>& dashboard_files();

namespace {

using Call = Api::Call;
using nlohmann::json;

constexpr int kChartMinutes = 60;
constexpr int kFailedShown = 25;
constexpr int kEventsShown = 20;
constexpr size_t kTenantsShown = 50;

json queues_json(queue::JobStore& store) {
  json out = json::array();
  for (const auto& q : store.stats_queues()) {
    out.push_back({{"queue", q.queue},
                   {"ready", q.ready},
                   {"running", q.reserved},
                   {"delayed", q.delayed},
                   {"failed", q.failed}});
  }
  return out;
}

// {"minutes":[…60 minutes since the epoch],"queues":{q:{"completed":[60],"failed":[60],
// "wait_ms":[60]}}}: every minute of the last hour from queue_metrics (the workers' per-queue
// counters, migrations 0001 and 0018), zero where nothing was counted.
json throughput_json(Call& c, queue::JobStore& store) {
  constexpr std::string_view kMinutes =
      "SELECT minute, queue, completed, failed, wait_us, waited FROM queue_metrics"
      " WHERE minute >= $1 ORDER BY minute, queue";
  const int64_t last = store.now_us() / 60'000'000;
  const int64_t first = last - kChartMinutes + 1;
  json minutes = json::array();
  for (int64_t m = first; m <= last; ++m) minutes.push_back(m);
  json queues = json::object();
  c.conn.query_each(kMinutes, {first}, [&](const db::Row& r) {
    const int64_t minute = r.get<int64_t>(0);
    if (minute > last) return;
    const std::string q = r.get<std::string>(1);
    if (!queues.contains(q)) {
      const json zeros = json(std::vector<int64_t>(kChartMinutes, 0));
      queues[q] = {{"completed", zeros}, {"failed", zeros}, {"wait_ms", zeros}};
    }
    json& s = queues[q];
    const size_t i = static_cast<size_t>(minute - first);
    const int64_t waited = r.get<int64_t>(5);
    s["completed"][i] = r.get<int64_t>(2);
    s["failed"][i] = r.get<int64_t>(3);
    s["wait_ms"][i] = waited > 0 ? static_cast<double>(r.get<int64_t>(4)) / waited / 1000.0 : 0.0;
  });
  return {{"minutes", minutes}, {"queues", queues}};
}

json tenants_json(Call& c, queue::JobStore& store) {
  std::map<int64_t, queue::TenantCounts> counts;
  for (const auto& t : store.stats_tenants()) counts[t.tenant_id] = t;
  std::set<int64_t> paused;
  for (const auto& [tenant, q] : store.tenant_pauses()) paused.insert(tenant);
  std::map<int64_t, queue::TenantSettings> settings;
  for (const auto& s : store.tenant_settings()) settings[s.tenant_id] = s;
  std::vector<json> rows;
  for (const auto& t : db::list_tenants(c.conn)) {
    const auto& n = counts[t.id];
    const auto it = settings.find(t.id);
    json row = {{"tenant_id", t.id},
                {"name", t.name},
                {"ready", n.ready},
                {"running", n.reserved},
                {"delayed", n.delayed},
                {"failed", n.failed},
                {"paused", paused.count(t.id) > 0},
                {"weight", it == settings.end() ? t.weight : it->second.weight}};
    row["max_concurrency"] = it != settings.end() && it->second.max_concurrency
                                 ? json(*it->second.max_concurrency)
                                 : json();
    rows.push_back(std::move(row));
  }
  // Tenants with the largest backlog first; paused ones before idle ones.
  auto backlog = [](const json& r) {
    return r["ready"].get<int64_t>() + r["running"].get<int64_t>() + r["delayed"].get<int64_t>();
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const json& a, const json& b) {
    if (backlog(a) != backlog(b)) return backlog(a) > backlog(b);
    return a["paused"].get<bool>() && !b["paused"].get<bool>();
  });
  if (rows.size() > kTenantsShown) rows.resize(kTenantsShown);
  return rows;
}

// The newest domain events across tenants, read tenant by tenant in each one's own context (on
// PostgreSQL row-level security shows a session without a tenant no domain rows).
json events_json(Call& c) {
  constexpr std::string_view kRecent =
      "SELECT id, name, aggregate_type, aggregate_id, occurred_at FROM domain_events"
      " WHERE tenant_id = $1 ORDER BY occurred_at DESC, id DESC LIMIT $2";
  std::vector<json> all;
  const auto tenants = db::list_tenants(c.conn);
  for (size_t i = 0; i < tenants.size() && i < kTenantsShown; ++i) {
    db::TenantScope scope(c.conn, tenants[i].id);
    c.conn.query_each(kRecent, {tenants[i].id, int64_t{kEventsShown}}, [&](const db::Row& r) {
      const auto type = r.get<std::optional<std::string>>(2);
      const auto id = r.get<std::optional<std::string>>(3);
      all.push_back({{"id", r.get<int64_t>(0)},
                     {"tenant_id", tenants[i].id},
                     {"type", r.get<std::string>(1)},
                     {"aggregate", type ? *type + ":" + id.value_or("") : ""},
                     {"occurred_at", format_iso8601(parse_iso8601(r.get<std::string>(4)))}});
    });
  }
  std::sort(all.begin(), all.end(), [](const json& a, const json& b) {
    return a["occurred_at"].get<std::string>() > b["occurred_at"].get<std::string>();
  });
  if (all.size() > static_cast<size_t>(kEventsShown)) all.resize(kEventsShown);
  return all;
}

Response overview(Call& c) {
  require_empty_body(c);
  auto store = queue_store(c);
  json workers = json::array();
  for (const auto& w : queue::workers_alive(c.conn, c.clock)) {
    workers.push_back(queue::worker_json(w));
  }
  json failed = json::array();
  for (const auto& f : store.failed_list(std::nullopt, kFailedShown)) {
    failed.push_back(queue::failed_job_json(f));
  }
  return json_response(200, {{"queues", queues_json(store)},
                             {"throughput", throughput_json(c, store)},
                             {"workers", workers},
                             {"tenants", tenants_json(c, store)},
                             {"failed", failed},
                             {"events", events_json(c)}});
}

Response retry_failed(Call& c) {
  require_empty_body(c);
  if (c.params[0] == "all") throw not_found("failed job all not found");
  const auto jobs = queue_store(c).failed_retry({c.params[0]}, std::nullopt);
  return json_response(
      200, {{"id", jobs.at(0).id}, {"uuid", jobs.at(0).uuid}, {"queue", jobs.at(0).queue}});
}

Response forget_failed(Call& c) {
  require_empty_body(c);
  if (!queue_store(c).failed_forget(c.params[0])) {
    throw not_found("failed job " + quote_for_message(c.params[0]) + " not found");
  }
  return json_response(200, {{"forgotten", c.params[0]}});
}

int64_t tenant_param(Call& c) {
  const int64_t id = c.id_param();
  db::find_tenant(c.conn, id);  // kNotFound for an unknown tenant
  return id;
}

Response pause_tenant(Call& c) {
  require_empty_body(c);
  const int64_t id = tenant_param(c);
  queue_store(c).tenant_pause(id, "*");
  return json_response(200, {{"tenant_id", id}, {"queue", "*"}, {"paused", true}});
}

Response resume_tenant(Call& c) {
  require_empty_body(c);
  const int64_t id = tenant_param(c);
  queue_store(c).tenant_resume(id, "*");  // resuming a tenant that is not paused changes nothing
  return json_response(200, {{"tenant_id", id}, {"queue", "*"}, {"paused", false}});
}

Response weight_tenant(Call& c) {
  const int64_t id = tenant_param(c);
  const json body = c.body();
  for (const auto& [key, value] : body.items()) {
    if (key != "weight") throw invalid_argument("unknown field " + quote_for_message(key));
  }
  if (!body.contains("weight") || !body["weight"].is_number_integer() ||
      body["weight"].get<int64_t>() < 1 || body["weight"].get<int64_t>() > 1000) {
    throw invalid_argument("weight must be an integer from 1 to 1000");
  }
  const int weight = body["weight"].get<int>();
  auto store = queue_store(c);
  std::optional<int> cap;
  for (const auto& s : store.tenant_settings()) {
    if (s.tenant_id == id) cap = s.max_concurrency;
  }
  store.tenant_set_weight(id, weight, cap);
  json out = {{"tenant_id", id}, {"weight", weight}};
  out["max_concurrency"] = cap ? json(*cap) : json();
  return json_response(200, out);
}

Api::Route dashboard_route(std::string method, std::string path, Response (*handler)(Call&)) {
  Api::Route r = route(std::move(method), "dashboard/api/" + path, Access::kOperator, handler);
  r.root = true;
  return r;
}

}  // namespace

std::vector<Api::Route> dashboard_routes() {
  return {
      dashboard_route("GET", "overview", overview),
      dashboard_route("POST", "failed/{id}/retry", retry_failed),
      dashboard_route("DELETE", "failed/{id}", forget_failed),
      dashboard_route("POST", "tenants/{id}/pause", pause_tenant),
      dashboard_route("POST", "tenants/{id}/resume", resume_tenant),
      dashboard_route("POST", "tenants/{id}/weight", weight_tenant),
  };
}

std::optional<Response> dashboard_file(const std::string& path) {
  static const std::map<std::string, std::pair<std::string, std::string>> kFiles = {
      {"/dashboard", {"index.html", "text/html; charset=utf-8"}},
      {"/dashboard/", {"index.html", "text/html; charset=utf-8"}},
      {"/dashboard/app.css", {"app.css", "text/css; charset=utf-8"}},
      {"/dashboard/app.js", {"app.js", "text/javascript; charset=utf-8"}},
  };
  const auto it = kFiles.find(path);
  if (it == kFiles.end()) return std::nullopt;
  for (const auto& f : dashboard_files()) {
    if (f.name != it->second.first) continue;
    Response r;
    r.content_type = it->second.second;
    r.body = std::string(f.contents);
    // Nothing from outside, no inline script or style, never framed (clickjacking).
    r.headers = {{"Content-Security-Policy",
                  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                  "connect-src 'self'; base-uri 'none'; form-action 'none'; "
                  "frame-ancestors 'none'"},
                 {"X-Frame-Options", "DENY"},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"},
                 {"Cache-Control", "no-cache"}};
    return r;
  }
  return std::nullopt;
}

}  // namespace unity::http
