// The SyncExternalData job type (see sync_job.h): requests with retries and the circuit breaker,
// the pull and push loops, and the outcome on the sync_logs row.
#include "jobs/sync_job.h"

#include <limits>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "jobs/http_client.h"
#include "jobs/job_log.h"
#include "jobs/sync_data.h"
#include "jobs/sync_endpoint.h"
#include "queue/queues.h"

namespace unity::jobs {

namespace {

using nlohmann::json;

// A failure no retry can fix (4xx, HTML, malformed JSON, bad items): the run fails at once.
bool permanent(const Error& e) {
  return e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kNotFound ||
         e.code() == ErrorCode::kFailedPrecondition || e.code() == ErrorCode::kAlreadyExists ||
         e.code() == ErrorCode::kPermissionDenied;
}

bool transient(const HttpResponse& r) {
  return !r.transport_error.empty() || r.status >= 500 || r.status == 429;
}

std::string describe(const HttpRequest& q, const HttpResponse& r) {
  std::string what = q.method + " " + q.url + ": ";
  if (r.timed_out) return what + "timed out after " + std::to_string(q.timeout.count()) + " ms";
  if (!r.transport_error.empty()) return what + r.transport_error;
  return what + "HTTP " + std::to_string(r.status);
}

// A pull page's body: JSON content, {"data":[…],"next_page":N|null}. Errors quote none of it.
json parse_pull_body(const HttpRequest& q, const HttpResponse& r) {
  const std::string what = q.method + " " + q.url + ": ";
  if (r.content_type.find("json") == std::string::npos) {
    throw invalid_argument(
        what + "expected a JSON response but got " +
        (r.content_type.empty() ? "no content type" : r.content_type.substr(0, 64)) +
        " (is the endpoint right?)");
  }
  json body = parse_json(r.body, what + "the response", {.quote_input = false});
  if (!body.is_object() || !body.contains("data") || !body["data"].is_array()) {
    throw invalid_argument(what + "the response has no \"data\" array");
  }
  if (body.contains("next_page") && !body["next_page"].is_null() &&
      !body["next_page"].is_number_integer()) {
    throw invalid_argument(what + "\"next_page\" is neither an integer nor null");
  }
  return body;
}

class Syncer {
 public:
  Syncer(queue::JobContext& ctx, const JobLog& log, events::EventDispatcher& events,
         SyncSettings rt, const Clock& clock, int64_t sync_id, SyncLog row)
      : ctx_(ctx),
        log_(log),
        events_(events),
        rt_(std::move(rt)),
        clock_(clock),
        sync_id_(sync_id),
        row_(std::move(row)),
        breaker_(ctx.db(), row_.endpoint, rt_.breaker, clock) {}

  void run(std::optional<int64_t> resume_at) {
    // Before any request: the host may still be called (the list may have changed since the
    // dispatch) and resolves where it may; every request of this attempt goes there.
    pinned_ = resolve_endpoint(row_.endpoint, rt_.allowed_hosts);
    if (row_.direction == "pull") {
      pull(resume_at.value_or(1));
    } else {
      push(resume_at.value_or(0));
    }
    ctx_.db().execute(
        "UPDATE sync_logs SET status = 'completed', error_message = NULL, synced_at = $3, "
        "updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
        {ctx_.tenant_id(), sync_id_, format_iso8601(clock_.now())});
    log_.step("completed", {{"sync_id", sync_id_}});
  }

 private:
  HttpResponse send(HttpRequest q) {
    q.timeout = rt_.request_timeout;
    q.pinned = pinned_;
    q.max_response_bytes = rt_.max_response_bytes;
    if (!rt_.token.empty()) q.bearer = rt_.token;
    for (int attempt = 1;; ++attempt) {
      const BreakerPermit permit = breaker_.allow();
      if (!permit.allowed) {
        throw unavailable("circuit open for " + row_.endpoint +
                          " (too many failures); not called, next probe at " +
                          format_iso8601(TimePoint(std::chrono::microseconds(permit.retry_at_us))));
      }
      HttpResponse r = http_send(q);
      if (r.too_large) {
        breaker_.record_success(permit);  // it answered; retrying would not shrink the answer
        throw invalid_argument(q.method + " " + q.url + ": the response is larger than " +
                               std::to_string(rt_.max_response_bytes >> 20) +
                               " MB (SYNC_MAX_RESPONSE_MB); the transfer was stopped");
      }
      if (!transient(r)) {
        breaker_.record_success(permit);  // the endpoint answered, even a 4xx
        if (r.ok()) return r;
        // The status only: the body of an error page is the other system's text (it may echo
        // the request, a token or another tenant's data) and never reaches a log or a table.
        throw invalid_argument(describe(q, r) + (r.status >= 300 && r.status < 400
                                                     ? " (redirects are not followed)"
                                                     : ""));
      }
      breaker_.record_failure(permit);
      log_.step("request_failed",
                {{"url", q.url}, {"attempt", attempt}, {"error", describe(q, r)}});
      if (attempt >= rt_.request_attempts || ctx_.cancelled()) {
        throw unavailable(describe(q, r) + " after " + std::to_string(attempt) + " attempts");
      }
      std::this_thread::sleep_for(rt_.retry_base * (1 << std::min(attempt - 1, 10)));
    }
  }

  void pull(int64_t page) {
    events::EventDispatcher* events = &events_;
    for (;;) {
      const std::string url =
          row_.endpoint + "/" + row_.sync_type + "?page=" + std::to_string(page);
      HttpRequest q{.url = url};
      const json body = parse_pull_body(q, send(q));  // the text is freed once parsed
      const json& items = body["data"];
      std::optional<int64_t> next;
      if (body.contains("next_page") && !body["next_page"].is_null())
        next = body["next_page"].get<int64_t>();
      if (next && *next <= page)
        throw invalid_argument(url + ": next_page " + std::to_string(*next) + " does not advance");
      db::Transaction tx(ctx_.db());
      sync_detail::apply_pulled_page(ctx_.db(), *events, row_.sync_type, page, items, clock_);
      sync_detail::record_page(ctx_.db(), sync_id_, int64_t(items.size()), next, clock_);
      tx.commit();
      log_.step("page_pulled", {{"page", page}, {"records", items.size()}});
      if (!next) return;
      page = *next;
    }
  }

  void push(int64_t after) {
    const std::string url = row_.endpoint + "/" + row_.sync_type;
    for (;;) {
      int64_t last = after;
      const json items = sync_detail::read_push_page(ctx_.db(), &events_, row_.sync_type, after,
                                                     rt_.push_page_size, last, clock_);
      if (items.empty() && after > 0) return;  // an empty first page is still sent once
      send(HttpRequest{.method = "POST", .url = url, .body = json{{"data", items}}.dump()});
      sync_detail::record_page(ctx_.db(), sync_id_, int64_t(items.size()), last, clock_);
      log_.step("page_pushed", {{"records", items.size()}, {"last_id", last}});
      if (int64_t(items.size()) < rt_.push_page_size) return;
      after = last;
    }
  }

  queue::JobContext& ctx_;
  const JobLog& log_;
  events::EventDispatcher& events_;
  SyncSettings rt_;
  const Clock& clock_;
  int64_t sync_id_;
  SyncLog row_;
  CircuitBreaker breaker_;
  std::string pinned_;  // CURLOPT_RESOLVE entry of this attempt (resolve_endpoint)
};

class SyncExternalData final : public queue::Job {
 public:
  SyncExternalData(events::EventDispatcher& events, const SyncSettings& settings,
                   const Clock& clock)
      : events_(events), settings_(settings), clock_(clock) {}

  void handle(queue::JobContext& ctx) override {
    const JobLog log(ctx);
    const auto payload = parse_json_object(ctx.payload(), "the SyncExternalData payload");
    const int64_t sync_id = require_int(payload, "sync_id");
    auto row = load_sync(ctx.db(), sync_id);
    if (!row) throw not_found("sync " + std::to_string(sync_id) + " not found");
    if (row->status != "running") {
      log.step("already_finished", {{"sync_id", sync_id}, {"status", row->status}});
      return;  // a redelivered job: the run is over
    }
    auto resume =
        ctx.db().query_one("SELECT resume_at FROM sync_logs WHERE tenant_id = $1 AND id = $2",
                           {ctx.tenant_id(), sync_id});
    log.step("started", {{"sync_id", sync_id},
                         {"sync_type", row->sync_type},
                         {"direction", row->direction},
                         {"endpoint", row->endpoint}});
    try {
      Syncer(ctx, log, events_, settings_, clock_, sync_id, *row)
          .run(resume->get<std::optional<int64_t>>(0));
    } catch (const Error& e) {
      outcome(ctx, log, sync_id, e);
      throw;
    } catch (const json::exception& e) {
      const Error err(ErrorCode::kInvalidArgument, std::string("malformed response: ") + e.what());
      outcome(ctx, log, sync_id, err);
      throw err;
    }
  }

  // Tries exhausted, a timeout or a crash: the row says so.
  void failed(queue::JobContext& ctx, const std::string& error) override {
    try {
      const auto payload = parse_json_object(ctx.payload(), "the SyncExternalData payload");
      if (payload.contains("sync_id") && payload["sync_id"].is_number_integer()) {
        mark_sync_failed(ctx.db(), payload["sync_id"].get<int64_t>(), error, clock_);
      }
    } catch (const Error&) {
      // The payload was unreadable: there is no row to mark.
    }
    JobLog(ctx).step("failed", {{"error", error}});
  }

 private:
  void outcome(queue::JobContext& ctx, const JobLog& log, int64_t sync_id, const Error& e) {
    const bool last = permanent(e) || ctx.attempt() >= ctx.max_tries();
    log.step("error", {{"sync_id", sync_id}, {"error", e.what()}, {"retry", !last}});
    if (last) {
      mark_sync_failed(ctx.db(), sync_id, e.what(), clock_);
      if (ctx.attempt() < ctx.max_tries()) ctx.fail(e.what());
      return;
    }
    ctx.db().execute(
        "UPDATE sync_logs SET error_message = $3, updated_at = $4 "
        "WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
        {ctx.tenant_id(), sync_id,
         "attempt " + std::to_string(ctx.attempt()) + " failed, will retry: " + e.what(),
         format_iso8601(clock_.now())});
  }

  events::EventDispatcher& events_;
  const SyncSettings& settings_;
  const Clock& clock_;
};

std::optional<std::string> timestamp(const db::Row& r, size_t i) {
  auto v = r.get<std::optional<std::string>>(i);
  if (!v) return std::nullopt;
  return format_iso8601(parse_iso8601(*v));
}

SyncLog to_sync_log(const db::Row& r) {
  return {.id = r.get<int64_t>(0),
          .sync_type = r.get<std::string>(1),
          .status = r.get<std::string>(2),
          .direction = r.get<std::optional<std::string>>(3).value_or(""),
          .endpoint = r.get<std::optional<std::string>>(4).value_or(""),
          .error_message = r.get<std::optional<std::string>>(5),
          .synced_at = timestamp(r, 6),
          .failed_at = timestamp(r, 7),
          .pages = r.get<int64_t>(8),
          .records = r.get<int64_t>(9),
          .created_at = timestamp(r, 10).value_or("")};
}

constexpr const char* kSelectSync =
    "SELECT id, sync_type, status, direction, endpoint, error_message, synced_at, failed_at, "
    "pages, records, created_at FROM sync_logs WHERE tenant_id = $1 ";

}  // namespace

void register_sync_job(queue::JobRegistry& registry, events::EventDispatcher& events,
                       const SyncSettings& settings, const Clock& clock) {
  registry.add(
      kSyncExternalData,
      {.queue = queue::kLowQueue,
       .tries = 3,
       .timeout_s = 600,
       .backoff = queue::Backoff::exponential(std::chrono::seconds(30), std::chrono::minutes(10)),
       .transactional = false},
      [&events, &settings, &clock] {
        return std::make_unique<SyncExternalData>(events, settings, clock);
      });
}

std::string default_sync_direction(const std::string& sync_type) {
  if (sync_type == "products" || sync_type == "customers") return "pull";
  if (sync_type == "inventory" || sync_type == "orders") return "push";
  throw invalid_argument("unknown sync type " + quote_for_message(sync_type) +
                         " (expected products, customers, inventory or orders)");
}

SyncSettings sync_settings(const Config& config) {
  SyncSettings s;
  s.token = config.sync_token;
  s.allowed_hosts = config.sync_allowed_hosts;
  s.max_response_bytes = size_t(config.sync_max_response_mb) << 20;
  return s;
}

SyncRequest check_sync_request(const std::string& sync_type, const std::string& direction,
                               const std::string& endpoint,
                               const std::vector<Config::AllowedHost>& allowed) {
  SyncRequest r{sync_type, direction.empty() ? default_sync_direction(sync_type) : direction,
                endpoint};
  if (r.direction != default_sync_direction(sync_type)) {
    throw invalid_argument("--direction=" + r.direction + " is not supported for " + sync_type +
                           " (" + default_sync_direction(sync_type) + " only)");
  }
  if (r.endpoint.rfind("http://", 0) != 0 && r.endpoint.rfind("https://", 0) != 0) {
    throw invalid_argument("--endpoint must be an http:// or https:// URL, got " +
                           quote_for_message(endpoint));
  }
  while (r.endpoint.size() > 8 && r.endpoint.back() == '/') r.endpoint.pop_back();
  check_endpoint(r.endpoint, allowed);
  return r;
}

int64_t start_sync(db::Connection& conn, const SyncRequest& request, const Clock& clock) {
  const std::string now = format_iso8601(clock.now());
  return conn.query_int(
      "INSERT INTO sync_logs (tenant_id, sync_type, status, direction, endpoint, created_at, "
      "updated_at) VALUES ($1, $2, 'running', $3, $4, $5, $5) RETURNING id",
      {conn.require_tenant(), request.sync_type, request.direction, request.endpoint, now});
}

void mark_sync_failed(db::Connection& conn, int64_t sync_id, const std::string& error,
                      const Clock& clock) {
  const std::string now = format_iso8601(clock.now());
  conn.execute(
      "UPDATE sync_logs SET status = 'failed', error_message = $3, failed_at = $4, updated_at = $4 "
      "WHERE tenant_id = $1 AND id = $2 AND status = 'running'",
      {conn.require_tenant(), sync_id, error, now});
}

std::vector<SyncLog> load_syncs(db::Connection& conn, int limit, std::optional<int64_t> before_id) {
  std::vector<SyncLog> out;
  for (const auto& r :
       conn.query(std::string(kSelectSync) + "AND id < $3 ORDER BY id DESC LIMIT $2",
                  {conn.require_tenant(), int64_t{limit},
                   before_id.value_or(std::numeric_limits<int64_t>::max())})) {
    out.push_back(to_sync_log(r));
  }
  return out;
}

std::optional<SyncLog> load_sync(db::Connection& conn, int64_t id) {
  auto r = conn.query_one(std::string(kSelectSync) + "AND id = $2", {conn.require_tenant(), id});
  if (!r) return std::nullopt;
  return to_sync_log(*r);
}

}  // namespace unity::jobs
