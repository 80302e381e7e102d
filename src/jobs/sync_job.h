#pragma once
// SyncExternalData: products, customers, inventory and orders with an external system over
// HTTP/JSON (DESIGN.md "External sync"). Pull = GET {endpoint}/{type}?page=N →
// {"data":[…],"next_page":N|null}; push = POST {endpoint}/{type} with {"data":[…]} in pages of
// `push_page_size`; `Authorization: Bearer SYNC_TOKEN` when set. Products and customers pull by
// default, inventory and orders push.
//
// Only hosts in SYNC_ALLOWED_HOSTS are called (jobs/sync_endpoint.h): checked at dispatch, and
// again before the first request of every attempt, with the connection pinned to the addresses
// checked. A response is read up to SYNC_MAX_RESPONSE_MB (the transfer is aborted past it: the
// run fails) and parsed with the JSON depth limit (core/json.h), one page at a time. What a
// failure records (sync_logs.error_message, failed_jobs, the job's log) is the request, the
// HTTP status or transport error and a short reason: never the response body.
//
// One `sync_logs` row per run, created by start_sync() before the dispatch (status running) and
// named in the payload {"sync_id"}. The job is not transactional: each page is one transaction
// that also advances the row's `pages`, `records` and `resume_at`, so a page is written whole or
// not at all, and a retried attempt resumes after the last committed page. Pulled products upsert
// by SKU through CatalogService (ProductCreated/ProductUpdated), customers by email (new ones
// through CrmService: CustomerCreated).
//
// Requests: `request_timeout` each; transient failures (transport errors, timeouts, HTTP 5xx and
// 429) are retried `request_attempts` times with exponential backoff from `retry_base`, each one
// counted by the endpoint's CircuitBreaker (jobs/circuit_breaker.h); an open breaker fails fast
// without a request. A 4xx, a non-JSON content type (an HTML page) or a malformed body fails the
// run at once. What a failed run leaves: status failed with error_message and failed_at; pages
// committed before the failure stay (pulled rows are upserts, so running the sync again is safe;
// pushed pages were accepted by the other side); the failing page wrote nothing. A transient
// failure is retried by the queue (3 tries, backoff from 30 s) while the row stays running with
// the last error in error_message; the last try marks it failed. With QUEUE_CONNECTION=sync the
// job runs inside the caller's transaction, so a failure rolls back its pages and the caller
// (the `sync` command) marks the row failed.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "db/connection.h"
#include "events/event_bus.h"
#include "jobs/circuit_breaker.h"
#include "queue/registry.h"

namespace unity::jobs {

inline constexpr const char* kSyncExternalData = "SyncExternalData";

// The job's settings (SYNC_TOKEN and the HTTP and breaker policy), read at each attempt.
struct SyncSettings {
  std::string token;  // SYNC_TOKEN; empty: no Authorization header
  std::chrono::milliseconds request_timeout{30000};
  int request_attempts = 3;
  std::chrono::milliseconds retry_base{500};  // then ×2 per attempt
  BreakerPolicy breaker;
  int push_page_size = 100;
  std::vector<Config::AllowedHost> allowed_hosts;  // SYNC_ALLOWED_HOSTS; empty: none
  size_t max_response_bytes = size_t{16} << 20;    // SYNC_MAX_RESPONSE_MB
};

// SYNC_TOKEN, SYNC_ALLOWED_HOSTS and SYNC_MAX_RESPONSE_MB of `config`; the rest default.
SyncSettings sync_settings(const Config& config);

// Registers SyncExternalData (3 tries, 600 s timeout, backoff exponential from 30 s to 10 min,
// not transactional). Pulled records are written through the domain services, which dispatch
// their events on `events`. `events`, `settings` and `clock` (stamps the rows, drives the
// breaker) are held by reference and must outlive the registry.
void register_sync_job(queue::JobRegistry& registry, events::EventDispatcher& events,
                       const SyncSettings& settings, const Clock& clock);

// "pull" or "push" for a type; kInvalidArgument for an unknown type.
std::string default_sync_direction(const std::string& sync_type);

// Checks type (products|customers|inventory|orders), direction (pull|push; pushing products or
// customers and pulling inventory or orders are not supported: kInvalidArgument) and endpoint
// (http:// or https:// without credentials, its host in `allowed`: jobs/sync_endpoint.h,
// kInvalidArgument; no DNS). Returns the endpoint without a trailing '/'. start_sync then
// inserts the running sync_logs row of the connection's tenant and returns its id.
struct SyncRequest {
  std::string sync_type, direction, endpoint;
};
SyncRequest check_sync_request(const std::string& sync_type, const std::string& direction,
                               const std::string& endpoint,
                               const std::vector<Config::AllowedHost>& allowed);
int64_t start_sync(db::Connection& conn, const SyncRequest& request, const Clock& clock);
// Marks a running row failed (no-op for a finished one).
void mark_sync_failed(db::Connection& conn, int64_t sync_id, const std::string& error,
                      const Clock& clock);

// syncs:list: the tenant's runs, newest first.
struct SyncLog {
  int64_t id = 0;
  std::string sync_type, status, direction, endpoint;
  std::optional<std::string> error_message, synced_at, failed_at;
  int64_t pages = 0, records = 0;
  std::string created_at;
};
// At most `limit` of them, older than `before_id` when given (the next page of a list).
std::vector<SyncLog> load_syncs(db::Connection& conn, int limit = 100,
                                std::optional<int64_t> before_id = std::nullopt);
std::optional<SyncLog> load_sync(db::Connection& conn, int64_t id);

}  // namespace unity::jobs
