#include "events/event_store.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/trace.h"
#include "db/spans.h"
#include "db/values_sql.h"

namespace unity::events {

namespace {

constexpr const char* kColumns =
    "id, uuid, name, tenant_id, user_id, occurred_at, aggregate_type, aggregate_id, payload";

StoredEvent stored_from(const db::Row& r) {
  StoredEvent e;
  e.id = r.get<int64_t>("id");
  e.uuid = r.get<std::string>("uuid");
  e.name = r.get<std::string>("name");
  e.tenant_id = r.get<int64_t>("tenant_id");
  e.user_id = r.get<std::optional<int64_t>>("user_id");
  // One text form on both drivers, whatever wrote the row.
  e.occurred_at = format_iso8601(parse_iso8601(r.get<std::string>("occurred_at")));
  e.aggregate_type = r.get<std::optional<std::string>>("aggregate_type").value_or("");
  e.aggregate_id = r.get<std::optional<std::string>>("aggregate_id").value_or("");
  e.payload = r.get<std::string>("payload");
  return e;
}

}  // namespace

namespace {

constexpr const char* kInsert =
    "INSERT INTO domain_events (uuid, tenant_id, user_id, name, aggregate_type, aggregate_id, "
    "payload, occurred_at, trace_id) VALUES ";
constexpr size_t kInsertColumns = 9;

void check_tenant(int64_t tenant, const Event& event) {
  if (tenant != event.tenant_id()) {
    throw failed_precondition("event " + std::string(event.name()) + " of tenant " +
                              std::to_string(event.tenant_id()) + " dispatched in tenant " +
                              std::to_string(tenant) + "'s context");
  }
}

// Adds one event's row values to `p`; `trace` is the current trace (may be null).
void add_row(db::Params& p, const Event& event, const trace::Current* trace) {
  const auto& m = event.meta();
  std::string agg_type = event.aggregate_type(), agg_id = event.aggregate_id();
  p.add(m.id)
      .add(m.tenant_id)
      .add(m.user_id ? db::Value{*m.user_id} : db::kNull)
      .add(std::string(event.name()))
      .add(agg_type.empty() ? db::kNull : db::Value{std::move(agg_type)})
      .add(agg_id.empty() ? db::kNull : db::Value{std::move(agg_id)})
      .add(event.payload_json())
      .add(format_iso8601(m.occurred_at))
      .add(trace ? db::Value{trace->trace_id} : db::kNull);
}

// A traced event's span: an instant, child of the span that recorded it, named by its uuid
// (trace::span_id_of_uuid) so its queued listeners can name it as their parent.
trace::Span event_span(const Event& event, const trace::Current& trace) {
  const int64_t at = event.meta().occurred_at.time_since_epoch().count();
  return {trace.trace_id,
          trace::span_id_of_uuid(event.meta().id),
          trace.span_id,
          event.tenant_id(),
          "event",
          std::string(event.name()),
          "ok",
          at,
          at,
          event.meta().id};
}

}  // namespace

int64_t EventStore::append(const Event& event) {
  check_tenant(conn_.require_tenant(), event);
  trace::Current* traced = trace::current_trace();
  db::Params p;
  add_row(p, event, traced);
  const int64_t id = conn_.query_int(
      std::string(kInsert) + db::values_sql(1, kInsertColumns, 1) + " RETURNING id", p);
  if (traced) {
    traced->recorded = true;
    db::span_insert(conn_, event_span(event, *traced));
  }
  return id;
}

void EventStore::append_all(const std::vector<const Event*>& events) {
  const int64_t tenant = conn_.require_tenant();
  for (const Event* e : events) check_tenant(tenant, *e);
  trace::Current* traced = trace::current_trace();
  for (size_t start = 0; start < events.size(); start += kAppendBatch) {
    const size_t n = std::min(kAppendBatch, events.size() - start);
    db::Params p;
    for (size_t i = start; i < start + n; ++i) add_row(p, *events[i], traced);
    conn_.execute(std::string(kInsert) + db::values_sql(n, kInsertColumns, 1), p);
  }
  if (traced && !events.empty()) {
    traced->recorded = true;
    std::vector<trace::Span> spans;
    spans.reserve(events.size());
    for (const Event* e : events) spans.push_back(event_span(*e, *traced));
    db::span_insert_many(conn_, spans);
  }
}

std::vector<StoredEvent> EventStore::list(const EventFilter& f) {
  const int64_t tenant = conn_.require_tenant();
  std::string sql = std::string("SELECT ") + kColumns + " FROM domain_events WHERE tenant_id = $1";
  db::Params p{tenant};
  if (f.type) {
    p.add(*f.type);
    sql += " AND name = $" + std::to_string(p.size());
  }
  if (f.since) {
    p.add(format_iso8601(*f.since));
    sql += " AND occurred_at >= $" + std::to_string(p.size());
  }
  if (f.aggregate) {
    const auto colon = f.aggregate->find(':');
    if (colon != std::string::npos) {
      p.add(f.aggregate->substr(0, colon));
      sql += " AND aggregate_type = $" + std::to_string(p.size());
    }
    p.add(colon == std::string::npos ? *f.aggregate : f.aggregate->substr(colon + 1));
    sql += " AND aggregate_id = $" + std::to_string(p.size());
  }
  if (f.after_id) {
    p.add(*f.after_id);
    sql += " AND id > $" + std::to_string(p.size());
  }
  p.add(int64_t{f.limit});
  sql += " ORDER BY id LIMIT $" + std::to_string(p.size());
  std::vector<StoredEvent> out;
  conn_.query_each(sql, p, [&](const db::Row& r) { out.push_back(stored_from(r)); });
  return out;
}

std::optional<StoredEvent> EventStore::find(const std::string& uuid) {
  const int64_t tenant = conn_.require_tenant();
  auto row = conn_.query_one(
      std::string("SELECT ") + kColumns + " FROM domain_events WHERE uuid = $1 AND tenant_id = $2",
      {uuid, tenant});
  if (!row) return std::nullopt;
  return stored_from(*row);
}

EventMeta meta_of(const StoredEvent& e) {
  return {e.uuid, e.tenant_id, e.user_id, parse_iso8601(e.occurred_at)};
}

nlohmann::json event_json(const StoredEvent& e) {
  return {{"id", e.uuid},
          {"name", e.name},
          {"tenant_id", e.tenant_id},
          {"user_id", e.user_id ? nlohmann::json(*e.user_id) : nlohmann::json()},
          {"occurred_at", e.occurred_at},
          {"aggregate", e.aggregate_type.empty() ? "" : e.aggregate_type + ":" + e.aggregate_id},
          {"payload", nlohmann::json::parse(e.payload)}};
}

EventFilter event_filter(const std::string& type, const std::string& since,
                         const std::string& aggregate, int limit) {
  EventFilter f;
  if (!type.empty()) f.type = type;
  if (!since.empty()) f.since = parse_iso8601(since);
  if (!aggregate.empty()) f.aggregate = aggregate;
  f.limit = limit;
  return f;
}

}  // namespace unity::events
