// unity trace TRACE_ID: one trace's spans as a tree (request → events → listeners → jobs →
// notifications) with their timings (core/trace.h, db/spans.h).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/text.h"
#include "db/spans.h"

namespace unity::cli {

namespace {

struct TraceArgs {
  std::string id;
  int64_t tenant = 0;
};

std::string lower_trace_id(const std::string& id) {
  const std::string out = ascii_lower(id);
  const bool hex =
      out.size() == 32 && out.find_first_not_of("0123456789abcdef") == std::string::npos;
  if (!hex) throw invalid_argument("a trace id is 32 hex digits, got '" + id + "'");
  return out;
}

std::string ms(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1000.0);
  return buf;
}

// The spans in tree order (each followed by its children, oldest first), with their depth. A
// span whose parent is not in the trace (the caller's own span, a span not written) is a root.
std::vector<std::pair<const trace::Span*, int>> tree_order(const std::vector<trace::Span>& spans) {
  std::map<std::string, std::vector<const trace::Span*>> children;
  std::map<std::string, bool> known;
  for (const auto& s : spans) known[s.span_id] = true;
  std::vector<const trace::Span*> roots;
  for (const auto& s : spans) {
    if (s.parent_span_id.empty() || !known.count(s.parent_span_id) ||
        s.parent_span_id == s.span_id) {
      roots.push_back(&s);
    } else {
      children[s.parent_span_id].push_back(&s);
    }
  }
  std::vector<std::pair<const trace::Span*, int>> out;
  std::map<const trace::Span*, bool> seen;
  std::function<void(const trace::Span*, int)> walk = [&](const trace::Span* s, int depth) {
    if (seen[s]) return;
    seen[s] = true;
    out.emplace_back(s, depth);
    for (const auto* c : children[s->span_id]) walk(c, depth + 1);
  };
  for (const auto* r : roots) walk(r, 0);
  return out;
}

void define_trace(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<TraceArgs>();
  app.add_option("trace_id", a->id, "The trace id (32 hex digits, as in a traceparent header)")
      ->required();
  app.add_option("--tenant", a->tenant, "Only this tenant's spans (its own view)");
  app.callback([&ctx, a] {
    const std::string id = lower_trace_id(a->id);
    auto spans = a->tenant ? db::span_list(ctx.tenant_app(a->tenant), id, a->tenant)
                           : db::span_list(ctx.app(), id);
    if (spans.empty()) throw not_found("trace " + id + " not found");
    const int64_t start = std::min_element(spans.begin(), spans.end(), [](auto& x, auto& y) {
                            return x.started_us < y.started_us;
                          })->started_us;
    nlohmann::json list = nlohmann::json::array();
    std::string human = "trace " + id + "\n";
    for (const auto& [s, depth] : tree_order(spans)) {
      const int64_t took = s->finished_us - s->started_us;
      list.push_back(
          {{"span_id", s->span_id},
           {"parent_span_id",
            s->parent_span_id.empty() ? nlohmann::json() : nlohmann::json(s->parent_span_id)},
           {"depth", depth},
           {"kind", s->kind},
           {"name", s->name},
           {"status", s->status},
           {"tenant_id", s->tenant_id},
           {"started_at", format_iso8601(TimePoint(std::chrono::microseconds(s->started_us)))},
           {"offset_ms", static_cast<double>(s->started_us - start) / 1000.0},
           {"duration_ms", static_cast<double>(took) / 1000.0},
           {"detail", s->detail}});
      human += std::string(2 * static_cast<size_t>(depth) + 2, ' ') + s->kind + " " + s->name +
               "  " + ms(took) + " (at +" + ms(s->started_us - start) + ")" +
               (s->status == "ok" ? "" : "  [" + s->status + "]") +
               (s->detail.empty() ? "" : "  " + s->detail) + "\n";
    }
    human.pop_back();
    ctx.emit({{"trace_id", id}, {"spans", list}}, human);
  });
}

}  // namespace

void add_trace_command(Commands& commands, Context& ctx) {
  commands.push_back({"trace",
                      "One trace's spans as a tree: request, events, listeners, jobs, "
                      "notifications, with timings",
                      [&ctx](CLI::App& app) { define_trace(app, ctx); }});
}

}  // namespace unity::cli
