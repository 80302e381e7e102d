#pragma once
// Event types used by the events and notify tests.

#include <nlohmann/json.hpp>

#include "core/decimal.h"
#include "core/json.h"
#include "events/event.h"

namespace unity::events::test {

class ThingHappened final : public Event {
 public:
  static constexpr std::string_view kName = "ThingHappened";
  ThingHappened(EventMeta meta, int64_t thing_id, std::string label, Decimal amount)
      : Event(std::move(meta)), thing_id_(thing_id), label_(std::move(label)), amount_(amount) {}

  int64_t thing_id() const { return thing_id_; }
  const std::string& label() const { return label_; }
  Decimal amount() const { return amount_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "thing"; }
  std::string aggregate_id() const override { return std::to_string(thing_id_); }
  void write_payload(nlohmann::json& out) const override {
    out = {{"thing_id", thing_id_}, {"label", label_}, {"amount", amount_.to_string(4)}};
  }
  static std::unique_ptr<Event> read(EventMeta meta, const nlohmann::json& p) {
    return std::make_unique<ThingHappened>(std::move(meta), require_int(p, "thing_id"),
                                           require_string(p, "label"),
                                           require_decimal(p, "amount"));
  }

 private:
  const int64_t thing_id_;
  const std::string label_;
  const Decimal amount_;
};

class OtherThingHappened final : public Event {
 public:
  static constexpr std::string_view kName = "OtherThingHappened";
  explicit OtherThingHappened(EventMeta meta) : Event(std::move(meta)) {}
  std::string_view name() const override { return kName; }
  void write_payload(nlohmann::json& out) const override { out = nlohmann::json::object(); }
  static std::unique_ptr<Event> read(EventMeta meta, const nlohmann::json&) {
    return std::make_unique<OtherThingHappened>(std::move(meta));
  }
};

}  // namespace unity::events::test
