#pragma once
// The REST API of `unity serve` (DESIGN.md "The HTTP server"), apart from the transport: a
// request comes in as plain values, a response goes out as plain values, so the routes are
// tested and read without the network library (server.h carries them over HTTP).
//
// Every route calls the same services as its command-line twin and answers the twin's --json
// shape. Authentication: `Authorization: Bearer TOKEN` (tokens.h); the tenant and the user come
// from the token only. Errors: {"error":{"code","message"}} with the status of DESIGN.md
// (400 invalid_argument, 401 unauthenticated, 403 permission_denied, 404 not_found — also for
// another tenant's id —, 409 already_exists / failed_precondition, 413 too_large,
// 429 rate_limited with Retry-After, 503 unavailable, 504 deadline_exceeded, 500 internal).
//
// Threading: one Api serves every thread; handle() takes the calling thread's own connection.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "db/connection.h"

namespace unity {
struct Config;
}
namespace unity::events {
class EventBus;
}
namespace unity::queue {
class JobDispatcher;
}

namespace unity::http {

struct Principal;
class HttpMetrics;

struct Request {
  std::string method;  // "GET", "POST", …
  std::string target;  // "/api/v1/products?limit=10" (path and query, as sent)
  std::string authorization;
  std::string content_type;
  std::string last_event_id;
  // W3C Trace Context: the caller's trace, continued when well formed (core/trace.h); a new
  // trace otherwise. Every response carries its own `traceparent` header.
  std::string traceparent;
  std::string body;
  // A route that takes an upload (takes_upload()) gets its body here instead: a file the server
  // wrote under STORAGE_PATH/imports, which the handler moves away or the server removes after.
  std::string body_file;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the body is this file, streamed from disk (`body` is ignored).
  std::string file;
};

// An error response: {"error":{"code":code,"message":message}}.
Response error_response(int status, const std::string& code, const std::string& message);

class Api {
 public:
  // `bus` (wired with the ERP modules), `clock`, `config` and `dispatcher` (the jobs people start:
  // imports, reports, …) must outlive the Api.
  Api(events::EventBus& bus, const Clock& clock, const Config& config,
      queue::JobDispatcher& dispatcher);
  ~Api();

  // Answers one request on `conn` (the calling thread's connection). Never throws.
  Response handle(const Request& request, db::Connection& conn);

  // Whether the request's route takes its body as an upload to disk (Request::body_file, the
  // limit IMPORT_MAX_MB) rather than in memory: POST /api/v1/imports/{type}.
  bool takes_upload(const Request& header_only) const;
  // Everything handle() checks before it runs the handler, on the header alone: the route, the
  // token, the role and the route's own checks of its path and query. The refusal to answer
  // without reading the body, or nullopt when the body may be read. Never throws.
  std::optional<Response> precheck(const Request& header_only, db::Connection& conn);

  // For the real-time streams: checks the request's token (nullopt: answer `error`). Sets
  // nothing on the connection that outlives the call.
  struct StreamAuth {
    int64_t tenant_id = 0;
    int64_t user_id = 0;
  };
  std::optional<StreamAuth> authenticate_stream(const Request& request, db::Connection& conn,
                                                Response& error);

  // True for the paths served as streams (SSE, WebSocket) rather than by handle().
  static bool is_notification_stream(const std::string& target);
  static bool is_websocket(const std::string& target);

  // Every route served, as its method and path pattern with OpenAPI's {name} for a path
  // parameter ("GET /api/v1/products/{sku}"), the operators' and the streams' paths included:
  // what GET /api/v1/openapi.json must document (tests/http/openapi_test.cc checks the sets).
  struct RouteInfo {
    std::string method;
    std::string path;
  };
  static std::vector<RouteInfo> served_routes();

  // The OpenAPI 3.1 document of the API (src/http/openapi.json, built into the binary).
  static std::string_view openapi_document();

  // What this process counts for GET /metrics (every handle() records its request there; the
  // server adds its connections and streams).
  HttpMetrics& metrics() { return *metrics_; }

  struct Route;
  struct Call;

 private:
  std::optional<Principal> authenticate(const Request& request, db::Connection& conn,
                                        Response& error);
  struct Resolved;
  // Routing, authentication and access: the refusal, or nullopt with `out` filled.
  std::optional<Response> resolve(const Request& request, db::Connection& conn, Resolved& out);
  // handle() without the accounting; `route` is set to the route's pattern once it is known.
  // `tenant` is set to the caller's tenant once it is known (0 for an operator).
  Response answer(const Request& request, db::Connection& conn, std::string& route,
                  int64_t& tenant);
  // The request's span, when the request recorded traced work (core/trace.h).
  void record_request_span(db::Connection& conn, const Request& request, const std::string& route,
                           int64_t tenant, int status, int64_t started_us) const;
  events::EventBus& bus_;
  const Clock& clock_;
  const Config& config_;
  queue::JobDispatcher& dispatcher_;
  std::vector<Route> routes_;
  std::unique_ptr<HttpMetrics> metrics_;
};

}  // namespace unity::http
