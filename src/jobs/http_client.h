#pragma once
// A small blocking HTTP/JSON client over libcurl, for SyncExternalData (jobs/sync_job.h).
//
// One request per call, a fresh easy handle each time (thread-safe: share nothing between calls).
// A transport failure (refused, DNS, timeout, reset) is reported in the result, never thrown; so
// is any HTTP status and a body over the cap. The caller decides what is transient (HTTP 5xx,
// timeouts, transport errors) and what is not (4xx, a body that is not JSON or too large).
// Only http and https; redirects are not followed (a 3xx is returned as it is) and proxy
// variables (http_proxy, …) are ignored, so the connection goes where `pinned` says.

#include <chrono>
#include <optional>
#include <string>

namespace unity::jobs {

struct HttpRequest {
  std::string method = "GET";  // GET or POST
  std::string url;
  std::string body;                          // sent with Content-Type: application/json (POST)
  std::optional<std::string> bearer;         // Authorization: Bearer …, when set
  std::chrono::milliseconds timeout{30000};  // the whole request, connect included
  // CURLOPT_RESOLVE entry "host:port:addr[,addr…]" (jobs/sync_endpoint.h): the addresses the
  // host is called at, instead of a fresh DNS answer. Empty: resolve as usual.
  std::string pinned;
  // The largest body read; past it the transfer is aborted and `too_large` set. 0: no cap.
  size_t max_response_bytes = 0;
};

struct HttpResponse {
  // 0 when no HTTP response arrived (see `transport_error`).
  long status = 0;
  std::string content_type;  // as sent, e.g. "application/json; charset=utf-8"; may be empty
  std::string body;
  std::string transport_error;  // curl's message, empty when a response arrived
  bool timed_out = false;
  bool too_large = false;  // the body passed max_response_bytes (then `body` is empty)

  bool ok() const { return transport_error.empty() && status >= 200 && status < 300; }
};

// Performs the request. Throws only on a local failure to set up libcurl (kInternal).
HttpResponse http_send(const HttpRequest& request);

}  // namespace unity::jobs
