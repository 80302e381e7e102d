#include "jobs/http_client.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "core/error.h"

namespace unity::jobs {

namespace {

// curl_global_init is not thread-safe; run it once per process before the first handle.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string& body;
  size_t cap;  // 0: none
  bool& too_large;
};

// Returning less than given makes libcurl abort the transfer (CURLE_WRITE_ERROR): the body is
// never held past the cap, however much the server sends.
size_t append_body(char* data, size_t size, size_t n, void* out) {
  auto* sink = static_cast<Sink*>(out);
  if (sink->cap != 0 && sink->body.size() + size * n > sink->cap) {
    sink->too_large = true;
    return 0;
  }
  sink->body.append(data, size * n);
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

HttpResponse http_send(const HttpRequest& request) {
  init_curl_once();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) throw Error(ErrorCode::kInternal, "could not create a libcurl handle");
  CURL* c = curl.get();
  HttpResponse out;
  curl_slist* raw = nullptr;
  raw = curl_slist_append(raw, "Accept: application/json");
  if (request.bearer)
    raw = curl_slist_append(raw, ("Authorization: Bearer " + *request.bearer).c_str());
  if (request.method == "POST") raw = curl_slist_append(raw, "Content-Type: application/json");
  std::unique_ptr<curl_slist, SlistDeleter> headers(raw);
  std::unique_ptr<curl_slist, SlistDeleter> resolve(
      request.pinned.empty() ? nullptr : curl_slist_append(nullptr, request.pinned.c_str()));
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  if (resolve) curl_easy_setopt(c, CURLOPT_RESOLVE, resolve.get());
  if (request.max_response_bytes != 0) {  // refused early when Content-Length says so
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
                     static_cast<curl_off_t>(request.max_response_bytes));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append_body);
  Sink sink{out.body, request.max_response_bytes, out.too_large};
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  }
  const CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_FILESIZE_EXCEEDED) out.too_large = true;
  if (out.too_large) {
    out.body.clear();
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
    return out;
  }
  if (rc != CURLE_OK) {
    out.transport_error = curl_easy_strerror(rc);
    out.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    return out;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  char* type = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &type);
  if (type) out.content_type = type;
  return out;
}

}  // namespace unity::jobs
