#pragma once
// Domain events (DESIGN.md layer `events`): immutable records of something that happened in one
// tenant, named in the past tense with the seed's class names (ProductCreated, OrderApproved …).
//
// An event type derives from Event, keeps its data in private const members with read-only
// accessors, and provides:
//   static constexpr std::string_view kName = "ProductCreated";
//   void write_payload(nlohmann::json&) const;                // its data, decimals as strings
//   static std::unique_ptr<Event> read(EventMeta, const nlohmann::json& payload);
// so that a stored or queued event can be rebuilt exactly (EventRegistry). Every event carries
// its id (UUIDv7), tenant, acting user and time in EventMeta.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"

namespace unity::events {

struct EventMeta {
  std::string id;  // UUIDv7, unique across tenants
  int64_t tenant_id = 0;
  std::optional<int64_t> user_id;  // the acting user; none for system events (daily scans)
  TimePoint occurred_at;
};

// A fresh id and the clock's time.
EventMeta new_event_meta(int64_t tenant_id, std::optional<int64_t> user_id,
                         const Clock& clock = system_clock());

class Event {
 public:
  virtual ~Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  virtual std::string_view name() const = 0;
  virtual void write_payload(nlohmann::json& out) const = 0;
  // What the event is about, for the audit trail's --aggregate filter ("product", "42").
  virtual std::string aggregate_type() const { return ""; }
  virtual std::string aggregate_id() const { return ""; }

  const EventMeta& meta() const { return meta_; }
  int64_t tenant_id() const { return meta_.tenant_id; }
  // The payload as JSON text: write_payload's object, dumped. An event written in bulk may
  // override it with hand-written text, which must equal that dump (tests compare the two).
  virtual std::string payload_json() const;

 protected:
  explicit Event(EventMeta meta) : meta_(std::move(meta)) {}

 private:
  const EventMeta meta_;
};

}  // namespace unity::events
