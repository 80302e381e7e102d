#include "jobs/otlp_exporter.h"

#include <nlohmann/json.hpp>

#include "core/thread_name.h"
#include "jobs/http_client.h"

namespace unity::jobs {

namespace {

nlohmann::json text_attribute(const char* key, const std::string& value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

nlohmann::json otlp_span(const trace::Span& s) {
  // Kind: 2 SERVER for a request, 1 INTERNAL otherwise. Status: 1 OK, 2 ERROR.
  nlohmann::json span = {
      {"traceId", s.trace_id},
      {"spanId", s.span_id},
      {"name", s.name},
      {"kind", s.kind == "request" ? 2 : 1},
      {"startTimeUnixNano", std::to_string(s.started_us * 1000)},
      {"endTimeUnixNano", std::to_string(s.finished_us * 1000)},
      {"attributes",
       {text_attribute("unity.kind", s.kind),
        {{"key", "unity.tenant_id"}, {"value", {{"intValue", std::to_string(s.tenant_id)}}}},
        text_attribute("unity.status", s.status)}},
      {"status", {{"code", s.status == "ok" ? 1 : 2}}}};
  if (!s.parent_span_id.empty()) span["parentSpanId"] = s.parent_span_id;
  if (!s.detail.empty()) span["attributes"].push_back(text_attribute("unity.detail", s.detail));
  if (s.status != "ok") span["status"]["message"] = s.detail.empty() ? s.status : s.detail;
  return span;
}

}  // namespace

std::string OtlpExporter::to_otlp_json(const std::vector<trace::Span>& spans,
                                       const std::string& service_name) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : spans) list.push_back(otlp_span(s));
  nlohmann::json body = {
      {"resourceSpans",
       {{{"resource", {{"attributes", {text_attribute("service.name", service_name)}}}},
         {"scopeSpans", {{{"scope", {{"name", "unity"}}}, {"spans", std::move(list)}}}}}}}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

OtlpExporter::OtlpExporter(OtlpOptions options)
    : options_(std::move(options)), thread_([this](std::stop_token st) {
        name_this_thread("unity otlp");
        loop(st);
      }) {}

OtlpExporter::~OtlpExporter() {
  thread_.request_stop();
  cv_.notify_all();
  thread_.join();
}

void OtlpExporter::add(const trace::Span& span) {
  std::lock_guard lock(mu_);
  if (queued_.size() >= options_.max_queued) {
    ++dropped_;
    return;
  }
  queued_.push_back(span);
  if (queued_.size() >= options_.max_batch) cv_.notify_all();
}

void OtlpExporter::flush() {
  std::unique_lock lock(mu_);
  flush_ = true;
  cv_.notify_all();
  idle_.wait(lock, [&] { return queued_.empty() && !sending_; });
}

int64_t OtlpExporter::sent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

int64_t OtlpExporter::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void OtlpExporter::loop(std::stop_token stop) {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, stop, options_.interval,
                 [&] { return flush_ || queued_.size() >= options_.max_batch; });
    while (!queued_.empty()) {
      std::vector<trace::Span> batch;
      const size_t n = std::min(queued_.size(), options_.max_batch);
      batch.assign(std::make_move_iterator(queued_.begin()),
                   std::make_move_iterator(queued_.begin() + static_cast<std::ptrdiff_t>(n)));
      queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(n));
      sending_ = true;
      lock.unlock();
      send(std::move(batch));
      lock.lock();
      sending_ = false;
    }
    flush_ = false;
    idle_.notify_all();
    if (stop.stop_requested()) return;
  }
}

void OtlpExporter::send(std::vector<trace::Span> batch) {
  HttpRequest req;
  req.method = "POST";
  req.url = options_.endpoint + "/v1/traces";
  req.body = to_otlp_json(batch, options_.service_name);
  req.timeout = options_.timeout;
  req.max_response_bytes = 1 << 20;
  bool ok = false;
  try {
    ok = http_send(req).ok();
  } catch (const std::exception&) {
    ok = false;  // libcurl could not be set up: the spans are dropped like a failed POST
  }
  std::lock_guard lock(mu_);
  (ok ? sent_ : dropped_) += static_cast<int64_t>(batch.size());
}

}  // namespace unity::jobs
