#pragma once
// The append-only event store, `domain_events`: the audit trail of every tenant. Appending and
// reading both require the connection's tenant context (and on PostgreSQL row-level security
// enforces it); rows are never updated or deleted (a trigger refuses it).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "db/connection.h"
#include "events/event.h"

namespace unity::events {

struct StoredEvent {
  int64_t id = 0;
  std::string uuid;
  std::string name;
  int64_t tenant_id = 0;
  std::optional<int64_t> user_id;
  std::string occurred_at;  // ISO 8601
  std::string aggregate_type;
  std::string aggregate_id;
  std::string payload;  // JSON text
};

struct EventFilter {
  std::optional<std::string> type;       // e.g. "ProductCreated"
  std::optional<TimePoint> since;        // occurred at or after
  std::optional<std::string> aggregate;  // "product:42" or just "42"
  std::optional<int64_t> after_id;       // only events stored after this one (a page's cursor)
  int limit = 1000;
};

class EventStore {
 public:
  explicit EventStore(db::Connection& conn) : conn_(conn) {}
  // Appends `event`; kFailedPrecondition when the connection's tenant is not the event's.
  int64_t append(const Event& event);
  // Appends `events` in order with multi-row INSERTs (one statement per kAppendBatch events):
  // the bulk form of append for bulk writers such as an import. Same checks as append.
  void append_all(const std::vector<const Event*>& events);
  static constexpr size_t kAppendBatch = 500;
  // The connection's tenant's events, oldest first.
  std::vector<StoredEvent> list(const EventFilter& filter);
  // One event of the connection's tenant by uuid.
  std::optional<StoredEvent> find(const std::string& uuid);

 private:
  db::Connection& conn_;
};

// Parses an ISO 8601 timestamp as stored ("…Z").
EventMeta meta_of(const StoredEvent& e);

// `events:list`'s item (DESIGN.md "Output contract"), also GET /api/v1/events':
// {"id" (the uuid),"name","tenant_id","user_id","occurred_at","aggregate" ("type:id" or ""),
// "payload" (the event's JSON object)}.
nlohmann::json event_json(const StoredEvent& e);

// The filter of `events:list` and GET /api/v1/events from their text inputs (empty: not given):
// `since` an ISO 8601 time or date (kInvalidArgument otherwise), `aggregate` "type:id" or "id".
EventFilter event_filter(const std::string& type, const std::string& since,
                         const std::string& aggregate, int limit);

}  // namespace unity::events
