#pragma once
// Event types by name, so a stored or queued event can be rebuilt. Register every type at
// start-up; read-only and thread-safe afterwards.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "events/event.h"

namespace unity::events {

using EventReader = std::function<std::unique_ptr<Event>(EventMeta, const nlohmann::json&)>;

class EventRegistry {
 public:
  // Throws Error(kAlreadyExists) when the name is taken.
  void add(std::string name, EventReader reader);
  template <typename E>
  void add() {
    add(std::string(E::kName), &E::read);
  }
  bool contains(std::string_view name) const;
  // Rebuilds an event; kInvalidArgument for an unknown name or a payload that does not fit.
  std::unique_ptr<Event> read(std::string_view name, EventMeta meta,
                              const nlohmann::json& payload) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, EventReader, std::less<>> readers_;
};

}  // namespace unity::events
