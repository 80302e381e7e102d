#pragma once
// Internal to src/http: one route of the API and what its handler is given.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/api.h"
#include "http/http_metrics.h"
#include "http/tokens.h"

namespace unity::queue {
class JobStore;
}  // namespace unity::queue

namespace unity::http {

// Who may call a route.
enum class Access {
  kAnyUser,      // any user of the tenant
  kInventory,    // admin, manager, inventory
  kSales,        // admin, manager, sales
  kBilling,      // admin, manager, billing
  kProcurement,  // admin, manager, procurement
  kManagers,     // admin, manager
  kAdmin,        // admin
  kOperator,     // an operator token only (GET /metrics, /dashboard/api/…)
};

struct Api::Call {
  db::Connection& conn;
  const Principal& who;
  std::vector<std::string> params;           // the {…} segments of the path, decoded
  std::map<std::string, std::string> query;  // decoded
  const Request& request;
  events::EventBus& bus;
  const Clock& clock;
  const Config& config;
  queue::JobDispatcher& dispatcher;
  HttpMetrics& metrics;

  // The body as a JSON object (an empty body is {}): kInvalidArgument otherwise.
  nlohmann::json body() const;
  // The first path parameter as a positive integer id: kNotFound otherwise (a malformed id is
  // as unknown as another tenant's).
  int64_t id_param(size_t i = 0) const;
  // ?limit= (default 50, above 500 taken as 500, below 1 refused).
  int limit() const;
};

struct Api::Route {
  std::string method;
  std::vector<std::string> segments;  // "{name}" matches one segment
  Access access;
  std::function<Response(Call&)> handler;
  // Checks of the path and query run before the body is read (Api::precheck); throw to refuse.
  std::function<void(const Call&)> precheck = {};
  // The body is an upload streamed to a file (Request::body_file), limit IMPORT_MAX_MB.
  bool upload = false;
  // Who may call it when it depends on the path (imports by type); `access` otherwise.
  std::function<Access(const Call&)> access_of = {};
  // The segments start at the root ("metrics", "dashboard/api/…"), not below /api/v1/.
  bool root = false;
};

// Every resource route (routes.cc).
std::vector<Api::Route> resource_routes();
// The tenant's audit trail and its own queue (admin_routes.cc).
std::vector<Api::Route> admin_routes();

// The routes that start jobs and show them: imports, reports, bulk notifications, valuations,
// syncs (job_routes.cc).
std::vector<Api::Route> job_routes();

// Batches, chains and the tenant's jobs: the Bus's twins (bus_routes.cc).
std::vector<Api::Route> bus_routes();

// The operators' routes at the root: GET /metrics (operator_routes.cc) and the dashboard's JSON
// under /dashboard/api/ (dashboard_routes.cc).
std::vector<Api::Route> operator_routes();
std::vector<Api::Route> dashboard_routes();
// The dashboard's page and files (GET /dashboard, /dashboard/app.js, /dashboard/app.css), served
// without a token; nullopt for any other path.
std::optional<Response> dashboard_file(const std::string& path);

// A route of `method` on `path` below /api/v1/ ("products/{sku}": a segment in braces matches
// any one segment and is passed to the handler).
Api::Route route(std::string method, std::string path, Access access,
                 Response (*handler)(Api::Call&));

// The queue's store on the request's connection, with the server's retention of finished jobs
// (QUEUE_KEEP_COMPLETED_MINUTES), as the command line makes it.
queue::JobStore queue_store(const Api::Call& c);

// Refuses any body field (kInvalidArgument naming it): for routes that take none.
void require_empty_body(const Api::Call& c);

// The integer in a cursor made by encode_cursor(std::to_string(n)): kInvalidArgument otherwise.
int64_t decode_id_cursor(const std::string& cursor);

// A JSON response.
Response json_response(int status, const nlohmann::json& body);

// {"data":[…],"next_cursor":…} for a page of at most `limit` items, `next` the cursor of the
// page after (nullopt when this page is the last).
nlohmann::json page_json(nlohmann::json data, const std::optional<std::string>& next);

// Opaque cursors: base64url of the text.
std::string encode_cursor(const std::string& text);
// kInvalidArgument for a malformed cursor.
std::string decode_cursor(const std::string& cursor);

}  // namespace unity::http
