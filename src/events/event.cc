#include "events/event.h"

#include <nlohmann/json.hpp>

#include "core/uuid.h"

namespace unity::events {

EventMeta new_event_meta(int64_t tenant_id, std::optional<int64_t> user_id, const Clock& clock) {
  return {new_uuid().to_string(), tenant_id, user_id, clock.now()};
}

std::string Event::payload_json() const {
  nlohmann::json j = nlohmann::json::object();
  write_payload(j);
  return j.dump();
}

}  // namespace unity::events
