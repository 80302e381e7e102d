#include "http/api.h"

#include <sodium.h>

#include <algorithm>
#include <charconv>

#include "core/embedded_file.h"
#include "core/error.h"
#include "core/json.h"
#include "core/trace.h"
#include "db/migrate.h"
#include "db/spans.h"
#include "db/tenancy.h"
#include "http/http_metrics.h"
#include "http/route.h"
#include "http/tokens.h"
#include "jobs/rate_limit.h"

namespace unity::http {

// src/http/openapi.json (cmake/EmbedFiles.cmake).
const std::vector<EmbeddedFile>& openapi_files();

namespace {

constexpr std::string_view kPrefix = "/api/v1/";
constexpr std::string_view kOpenApiPath = "/api/v1/openapi.json";
constexpr std::string_view kStreamPath = "/api/v1/notifications/stream";
constexpr std::string_view kWebSocketPath = "/api/v1/ws";

bool is_param(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

int status_of(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kFailedPrecondition:
      return 409;
    case ErrorCode::kPermissionDenied:
      return 403;
    case ErrorCode::kUnavailable:
      return 503;
    case ErrorCode::kDeadlineExceeded:
      return 504;
    case ErrorCode::kInternal:
      return 500;
  }
  return 500;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' is a space in a query. kInvalidArgument for a broken escape.
std::string decode(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? hex_value(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? hex_value(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) throw invalid_argument("malformed %-escape in the URL");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (query && s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Target {
  std::vector<std::string> segments;  // after /api/v1/
  std::map<std::string, std::string> query;
};

// `target` split after its first `prefix_size` characters ("/api/v1/" or "/").
Target split_target(std::string_view target, size_t prefix_size) {
  Target t;
  const auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      const auto eq = pair.find('=');
      if (!pair.empty()) {
        t.query[decode(pair.substr(0, eq), true)] =
            eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1), true);
      }
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }
  path.remove_prefix(prefix_size);
  while (!path.empty()) {
    const auto slash = path.find('/');
    t.segments.push_back(decode(path.substr(0, slash), false));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return t;
}

bool role_allows(Access access, const std::string& role) {
  if (role == "admin") return true;
  switch (access) {
    case Access::kAnyUser:
      return true;
    case Access::kInventory:
      return role == "manager" || role == "inventory";
    case Access::kSales:
      return role == "manager" || role == "sales";
    case Access::kBilling:
      return role == "manager" || role == "billing";
    case Access::kProcurement:
      return role == "manager" || role == "procurement";
    case Access::kManagers:
      return role == "manager";
    case Access::kAdmin:
    case Access::kOperator:
      return false;
  }
  return false;
}

Response unauthenticated(const std::string& message) {
  Response r = error_response(401, "unauthenticated", message);
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

std::optional<std::string> bearer(const std::string& header) {
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() || header.compare(0, kBearer.size(), kBearer) != 0) {
    return std::nullopt;
  }
  return header.substr(kBearer.size());
}

Response health(db::Connection& conn, bool ready) {
  if (!ready) return json_response(200, {{"status", "ok"}});
  try {
    db::Migrator migrator(conn, "", "");
    const size_t pending = migrator.pending_count();
    if (pending > 0) {
      return error_response(503, "unavailable",
                            std::to_string(pending) + " pending migrations: run `unity migrate`");
    }
    return json_response(200, {{"status", "ready"}});
  } catch (const Error& e) {
    return error_response(503, "unavailable", "database not ready");
  }
}

}  // namespace

Response error_response(int status, const std::string& code, const std::string& message) {
  return json_response(status, {{"error", {{"code", code}, {"message", message}}}});
}

Response json_response(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

nlohmann::json page_json(nlohmann::json data, const std::optional<std::string>& next) {
  return {{"data", std::move(data)},
          {"next_cursor", next ? nlohmann::json(*next) : nlohmann::json()}};
}

std::string encode_cursor(const std::string& text) {
  std::string out(sodium_base64_ENCODED_LEN(text.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                  '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(text.data()),
                    text.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

std::string decode_cursor(const std::string& cursor) {
  std::string out(cursor.size(), '\0');
  size_t len = 0;
  if (cursor.size() > 512 ||
      sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), cursor.data(),
                        cursor.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    throw invalid_argument("malformed cursor: pass next_cursor from the previous page as it is");
  }
  out.resize(len);
  return out;
}

Api::Route route(std::string method, std::string path, Access access,
                 Response (*handler)(Api::Call&)) {
  Api::Route r{std::move(method), {}, access, handler};
  std::string_view p = path;
  while (!p.empty()) {
    const auto slash = p.find('/');
    r.segments.emplace_back(p.substr(0, slash));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return r;
}

int64_t decode_id_cursor(const std::string& cursor) {
  const std::string text = decode_cursor(cursor);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
    throw invalid_argument("malformed cursor: pass next_cursor from the previous page as it is");
  }
  return v;
}

nlohmann::json Api::Call::body() const {
  if (request.body.empty()) return nlohmann::json::object();
  return parse_json_object(request.body, "the request body");
}

int64_t Api::Call::id_param(size_t i) const {
  const std::string& s = params.at(i);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v <= 0) {
    throw not_found("no such id: " + quote_for_message(s));
  }
  return v;
}

int Api::Call::limit() const {
  auto it = query.find("limit");
  if (it == query.end()) return 50;
  int v = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec == std::errc::result_out_of_range) return 500;
  if (ec != std::errc() || end != it->second.data() + it->second.size() || v < 1) {
    throw invalid_argument("limit must be a positive integer");
  }
  return v > 500 ? 500 : v;
}

namespace {

std::vector<Api::Route> all_routes() {
  std::vector<Api::Route> routes = resource_routes();
  for (auto& r : admin_routes()) routes.push_back(std::move(r));
  for (auto& r : job_routes()) routes.push_back(std::move(r));
  for (auto& r : bus_routes()) routes.push_back(std::move(r));
  for (auto& r : operator_routes()) routes.push_back(std::move(r));
  for (auto& r : dashboard_routes()) routes.push_back(std::move(r));
  return routes;
}

}  // namespace

Api::Api(events::EventBus& bus, const Clock& clock, const Config& config,
         queue::JobDispatcher& dispatcher)
    : bus_(bus),
      clock_(clock),
      config_(config),
      dispatcher_(dispatcher),
      routes_(all_routes()),
      metrics_(std::make_unique<HttpMetrics>()) {}
Api::~Api() = default;

bool Api::is_notification_stream(const std::string& target) {
  return target.substr(0, target.find('?')) == kStreamPath;
}
bool Api::is_websocket(const std::string& target) {
  return target.substr(0, target.find('?')) == kWebSocketPath;
}

std::vector<Api::RouteInfo> Api::served_routes() {
  std::vector<RouteInfo> out = {{"GET", "/healthz"},
                                {"GET", "/readyz"},
                                {"GET", std::string(kOpenApiPath)},
                                {"GET", std::string(kStreamPath)},
                                {"GET", std::string(kWebSocketPath)},
                                {"GET", "/dashboard"},
                                {"GET", "/dashboard/app.js"},
                                {"GET", "/dashboard/app.css"}};
  for (const auto& r : all_routes()) {
    std::string path(r.root ? "" : kPrefix.substr(0, kPrefix.size() - 1));
    for (const auto& segment : r.segments) path += "/" + segment;
    out.push_back({r.method, path});
  }
  return out;
}

std::string_view Api::openapi_document() { return openapi_files().at(0).contents; }

std::optional<Principal> Api::authenticate(const Request& request, db::Connection& conn,
                                           Response& error) {
  auto token = bearer(request.authorization);
  if (!token) {
    error = unauthenticated("missing bearer token: send Authorization: Bearer TOKEN");
    return std::nullopt;
  }
  auto who = http::authenticate(conn, *token, clock_);
  if (!who) {
    error = unauthenticated("invalid, revoked or expired token");
    return std::nullopt;
  }
  if (who->touch_due) {
    try {
      touch_token(conn, *who, clock_);
    } catch (const Error&) {
      // Recording the last use is bookkeeping: a busy database must not refuse the request.
    }
  }
  return who;
}

std::optional<Api::StreamAuth> Api::authenticate_stream(const Request& request,
                                                        db::Connection& conn, Response& error) {
  try {
    auto who = authenticate(request, conn, error);
    conn.set_tenant(std::nullopt);
    if (!who) return std::nullopt;
    if (who->operator_token) {
      error = error_response(403, "permission_denied", "an operator token has no inbox");
      return std::nullopt;
    }
    return StreamAuth{who->tenant_id, who->user_id};
  } catch (const Error& e) {
    conn.set_tenant(std::nullopt);
    error = error_response(status_of(e.code()), std::string(error_code_name(e.code())), e.what());
    return std::nullopt;
  }
}

struct Api::Resolved {
  const Route* route = nullptr;
  std::vector<std::string> params;
  std::map<std::string, std::string> query;
  std::optional<Principal> who;
};

namespace {

// Resets the connection's tenant however the request ends.
struct ResetTenant {
  db::Connection& c;
  ~ResetTenant() { c.set_tenant(std::nullopt); }
};

Response error_of(const Error& e) {
  if (const auto* limited = dynamic_cast<const jobs::RateLimited*>(&e)) {
    Response r = error_response(429, "rate_limited", e.what());
    r.headers.emplace_back("Retry-After",
                           std::to_string(std::max<int64_t>(1, limited->retry_after_s())));
    return r;
  }
  return error_response(status_of(e.code()), std::string(error_code_name(e.code())), e.what());
}

}  // namespace

std::optional<Response> Api::resolve(const Request& request, db::Connection& conn, Resolved& out) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  // Below /api/v1/ the resources; anywhere else the operators' routes at the root.
  if (path.empty() || path[0] != '/') return error_response(404, "not_found", "no such route");
  const bool root = path.compare(0, kPrefix.size(), kPrefix) != 0;
  Target target = split_target(request.target, root ? 1 : kPrefix.size());
  bool path_known = false;
  for (const auto& route : routes_) {
    if (route.root != root || route.segments.size() != target.segments.size()) continue;
    std::vector<std::string> p;
    bool match = true;
    for (size_t i = 0; i < route.segments.size() && match; ++i) {
      if (is_param(route.segments[i])) {
        p.push_back(target.segments[i]);
      } else {
        match = route.segments[i] == target.segments[i];
      }
    }
    if (!match) continue;
    path_known = true;
    if (route.method != request.method) continue;
    out.route = &route;
    out.params = std::move(p);
    break;
  }
  if (!out.route) {
    return path_known ? error_response(405, "invalid_argument",
                                       request.method + " is not allowed on " + path)
                      : error_response(404, "not_found", "no such route: " + path);
  }
  out.query = std::move(target.query);
  Response error;
  out.who = authenticate(request, conn, error);
  if (!out.who) return error;
  if (out.route->access == Access::kOperator) {
    if (!out.who->operator_token) {
      return error_response(403, "permission_denied",
                            "an operator token is needed (token:create --operator)");
    }
    return std::nullopt;
  }
  if (out.who->operator_token) {
    return error_response(403, "permission_denied",
                          "an operator token reaches no tenant's business data");
  }
  Call call{conn, *out.who, out.params, out.query,   request,
            bus_, clock_,   config_,    dispatcher_, *metrics_};
  if (out.route->precheck) out.route->precheck(call);
  const Access access = out.route->access_of ? out.route->access_of(call) : out.route->access;
  if (!role_allows(access, out.who->role)) {
    return error_response(403, "permission_denied",
                          "role " + out.who->role + " may not " + request.method + " " + path);
  }
  return std::nullopt;
}

bool Api::takes_upload(const Request& header_only) const {
  if (header_only.method != "POST") return false;
  const std::string path = header_only.target.substr(0, header_only.target.find('?'));
  if (path.compare(0, kPrefix.size(), kPrefix) != 0) return false;
  std::vector<std::string_view> segments;
  std::string_view rest = std::string_view(path).substr(kPrefix.size());
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    segments.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  for (const auto& route : routes_) {
    if (!route.upload || route.method != "POST" || route.segments.size() != segments.size()) {
      continue;
    }
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      match = is_param(route.segments[i]) || route.segments[i] == segments[i];
    }
    if (match) return true;
  }
  return false;
}

std::optional<Response> Api::precheck(const Request& header_only, db::Connection& conn) {
  ResetTenant reset{conn};
  try {
    Resolved resolved;
    return resolve(header_only, conn, resolved);
  } catch (const Error& e) {
    return error_of(e);
  } catch (const std::exception& e) {
    return error_response(500, "internal", "internal error");
  }
}

Response Api::handle(const Request& request, db::Connection& conn) {
  const auto started = std::chrono::steady_clock::now();
  std::string route = "unmatched";  // a path no route serves: one series for them all
  metrics_->request_started();
  const auto parent = trace::parse_traceparent(request.traceparent);
  trace::TraceScope traced(parent ? parent->trace_id : trace::new_trace_id(), trace::new_span_id());
  const int64_t started_us = clock_.now().time_since_epoch().count();
  int64_t tenant = 0;
  Response r = answer(request, conn, route, tenant);
  if (traced.current().recorded) {
    record_request_span(conn, request, route, tenant, r.status, started_us);
  }
  r.headers.emplace_back("traceparent", trace::format_traceparent(traced.current().trace_id,
                                                                  traced.current().span_id));
  metrics_->request_finished();
  metrics_->record(request.method, route, r.status,
                   std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::steady_clock::now() - started));
  return r;
}

void Api::record_request_span(db::Connection& conn, const Request& request,
                              const std::string& route, int64_t tenant, int status,
                              int64_t started_us) const {
  const trace::Current& t = *trace::current_trace();
  const auto parent = trace::parse_traceparent(request.traceparent);
  try {
    std::optional<db::TenantScope> scope;
    if (tenant != 0) scope.emplace(conn, tenant);
    db::span_insert(conn,
                    {t.trace_id, t.span_id, parent ? parent->parent_span_id : "", tenant, "request",
                     request.method + " " + route, status >= 500 ? "error" : "ok", started_us,
                     clock_.now().time_since_epoch().count(), std::to_string(status)});
  } catch (const std::exception&) {
    // The answer stands; its span is lost with the database.
  }
}

Response Api::answer(const Request& request, db::Connection& conn, std::string& route,
                     int64_t& tenant) {
  const std::string path = request.target.substr(0, request.target.find('?'));
  if (path == "/healthz" || path == "/readyz" || path == kOpenApiPath) route = path;
  if (path == "/healthz") return health(conn, false);
  if (path == "/readyz") return health(conn, true);
  if (path == kOpenApiPath) {
    // It describes the API and holds no data: served without a token (docs/ARCHITECTURE.md).
    if (request.method != "GET") {
      return error_response(405, "invalid_argument", request.method + " is not allowed on " + path);
    }
    Response r;
    r.body = std::string(openapi_document());
    return r;
  }
  if (auto file = dashboard_file(path)) {
    // The page holds no data; it asks for the operator token itself (docs/ARCHITECTURE.md).
    route = path == "/dashboard/" ? "/dashboard" : path;
    if (request.method != "GET") {
      return error_response(405, "invalid_argument", request.method + " is not allowed on " + path);
    }
    return std::move(*file);
  }
  ResetTenant reset{conn};
  try {
    Resolved resolved;
    auto refused = resolve(request, conn, resolved);
    if (resolved.route) {
      route = resolved.route->root ? "" : std::string(kPrefix.substr(0, kPrefix.size() - 1));
      for (const auto& segment : resolved.route->segments) route += "/" + segment;
    }
    if (refused) return std::move(*refused);
    tenant = resolved.who->tenant_id;
    Call call{conn,
              *resolved.who,
              std::move(resolved.params),
              std::move(resolved.query),
              request,
              bus_,
              clock_,
              config_,
              dispatcher_,
              *metrics_};
    return resolved.route->handler(call);
  } catch (const Error& e) {
    return error_of(e);
  } catch (const std::exception& e) {
    return error_response(500, "internal", "internal error");
  }
}

}  // namespace unity::http
