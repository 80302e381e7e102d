#include "events/event_store.h"

#include "core/error.h"

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

int64_t EventStore::append(const Event& event) {
  const int64_t tenant = conn_.require_tenant();
  if (tenant != event.tenant_id()) {
    throw failed_precondition("event " + std::string(event.name()) + " of tenant " +
                              std::to_string(event.tenant_id()) + " dispatched in tenant " +
                              std::to_string(tenant) + "'s context");
  }
  const auto& m = event.meta();
  const std::string agg_type = event.aggregate_type(), agg_id = event.aggregate_id();
  return conn_.query_int(
      "INSERT INTO domain_events (uuid, tenant_id, user_id, name, aggregate_type, aggregate_id,"
      " payload, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
      {m.id, m.tenant_id, m.user_id ? db::Value{*m.user_id} : db::kNull, std::string(event.name()),
       agg_type.empty() ? db::kNull : db::Value{agg_type},
       agg_id.empty() ? db::kNull : db::Value{agg_id}, event.payload_json(),
       format_iso8601(m.occurred_at)});
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

}  // namespace unity::events
