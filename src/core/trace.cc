#include "core/trace.h"

#include <random>

namespace unity::trace {

namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

std::string random_hex(size_t digits) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(digits, '0');
  do {
    for (size_t i = 0; i < digits; i += 16) {
      uint64_t v = rng();
      for (size_t k = i; k < std::min(digits, i + 16); ++k, v >>= 4) out[k] = kHex[v & 15];
    }
  } while (all_zero(out));
  return out;
}

thread_local Current* t_current = nullptr;

SpanSink& sink() {
  static SpanSink s;
  return s;
}

}  // namespace

std::optional<TraceParent> parse_traceparent(std::string_view h) {
  // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55.
  if (h.size() < 55) return std::nullopt;
  const std::string_view version = h.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff") return std::nullopt;
  if (version == "00" ? h.size() != 55 : (h.size() > 55 && h[55] != '-')) return std::nullopt;
  if (h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  TraceParent p;
  p.trace_id = std::string(h.substr(3, 32));
  p.parent_span_id = std::string(h.substr(36, 16));
  const std::string_view flags = h.substr(53, 2);
  if (!is_lower_hex(p.trace_id) || !is_lower_hex(p.parent_span_id) || !is_lower_hex(flags) ||
      all_zero(p.trace_id) || all_zero(p.parent_span_id)) {
    return std::nullopt;
  }
  p.flags = static_cast<uint8_t>(std::stoi(std::string(flags), nullptr, 16));
  return p;
}

std::string format_traceparent(const std::string& trace_id, const std::string& span_id) {
  return "00-" + trace_id + "-" + span_id + "-01";
}

std::string new_trace_id() { return random_hex(32); }
std::string new_span_id() { return random_hex(16); }

std::string span_id_of_uuid(std::string_view uuid) {
  std::string hex;
  for (char c : uuid) {
    if (c != '-') hex += static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
  }
  if (hex.size() < 16 || !is_lower_hex(hex)) return new_span_id();
  hex = hex.substr(hex.size() - 16);
  return all_zero(hex) ? new_span_id() : hex;
}

Current* current_trace() { return t_current && !t_current->trace_id.empty() ? t_current : nullptr; }

TraceScope::TraceScope(std::string trace_id, std::string span_id) : outer_(t_current) {
  current_.trace_id = std::move(trace_id);
  current_.span_id = std::move(span_id);
  t_current = &current_;
}

TraceScope::~TraceScope() { t_current = outer_; }

void set_span_sink(SpanSink s) { sink() = std::move(s); }

void export_span(const Span& span) {
  if (const auto& s = sink()) s(span);
}

}  // namespace unity::trace
