#include "events/event_registry.h"

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace unity::events {

void EventRegistry::add(std::string name, EventReader reader) {
  if (readers_.count(name)) throw already_exists("event type " + name + " is registered twice");
  readers_.emplace(std::move(name), std::move(reader));
}

bool EventRegistry::contains(std::string_view name) const {
  return readers_.find(name) != readers_.end();
}

std::unique_ptr<Event> EventRegistry::read(std::string_view name, EventMeta meta,
                                           const nlohmann::json& payload) const {
  auto it = readers_.find(name);
  if (it == readers_.end())
    throw invalid_argument("unknown event type '" + std::string(name) + "'");
  try {
    return it->second(std::move(meta), payload);
  } catch (const nlohmann::json::exception& e) {
    throw invalid_argument("event " + std::string(name) + " payload does not fit: " + e.what());
  }
}

std::vector<std::string> EventRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, r] : readers_) out.push_back(n);
  return out;
}

}  // namespace unity::events
