#include "db/spans.h"

#include <algorithm>

#include "db/values_sql.h"

namespace unity::db {

namespace {

Value opt_text(const std::string& s) { return s.empty() ? kNull : Value{s}; }

constexpr const char* kInsert =
    "INSERT INTO spans (trace_id, span_id, parent_span_id, tenant_id, kind, name, status,"
    " started_at, finished_at, duration_us, detail) VALUES ";
constexpr size_t kWidth = 11;
constexpr size_t kMaxRows = 256;

void add_row(Params& p, const trace::Span& s) {
  p.add(s.trace_id).add(s.span_id).add(opt_text(s.parent_span_id)).add(s.tenant_id).add(s.kind);
  p.add(s.name).add(s.status).add(s.started_us).add(s.finished_us);
  p.add(s.finished_us - s.started_us).add(opt_text(s.detail));
}

}  // namespace

void span_insert(Connection& conn, const trace::Span& s) {
  if (s.trace_id.empty()) return;
  Params p;
  add_row(p, s);
  conn.execute(kInsert + values_sql(1, kWidth, 1), p);
  trace::export_span(s);
}

void span_insert_many(Connection& conn, const std::vector<trace::Span>& spans) {
  std::vector<const trace::Span*> traced;
  for (const auto& s : spans) {
    if (!s.trace_id.empty()) traced.push_back(&s);
  }
  for (size_t i = 0; i < traced.size(); i += kMaxRows) {
    const size_t n = std::min(kMaxRows, traced.size() - i);
    Params p;
    for (size_t k = i; k < i + n; ++k) add_row(p, *traced[k]);
    conn.execute(kInsert + values_sql(n, kWidth, 1), p);
  }
  for (const auto* s : traced) trace::export_span(*s);
}

std::vector<trace::Span> span_list(Connection& conn, const std::string& trace_id,
                                   std::optional<int64_t> tenant_id) {
  std::string sql =
      "SELECT trace_id, span_id, parent_span_id, tenant_id, kind, name, status, started_at,"
      " finished_at, detail FROM spans WHERE trace_id = $1";
  Params p{trace_id};
  if (tenant_id) {
    p.add(*tenant_id);
    sql += " AND tenant_id = $2";
  }
  sql += " ORDER BY started_at, id";
  std::vector<trace::Span> out;
  conn.query_each(sql, p, [&](const Row& r) {
    trace::Span s;
    s.trace_id = r.get<std::string>(0);
    s.span_id = r.get<std::string>(1);
    s.parent_span_id = r.get<std::optional<std::string>>(2).value_or("");
    s.tenant_id = r.get<int64_t>(3);
    s.kind = r.get<std::string>(4);
    s.name = r.get<std::string>(5);
    s.status = r.get<std::string>(6);
    s.started_us = r.get<int64_t>(7);
    s.finished_us = r.get<int64_t>(8);
    s.detail = r.get<std::optional<std::string>>(9).value_or("");
    out.push_back(std::move(s));
  });
  return out;
}

}  // namespace unity::db
