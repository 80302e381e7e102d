#pragma once
// Catalog events (the seed's ProductCreated, ProductUpdated, ProductDeleted). Decimals travel as
// strings with 4 fraction digits; every event's aggregate is ("product", id).

#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/decimal.h"
#include "core/error.h"
#include "core/json.h"
#include "events/event.h"

namespace unity::erp::catalog {

class ProductCreated final : public events::Event {
 public:
  static constexpr std::string_view kName = "ProductCreated";
  ProductCreated(events::EventMeta meta, int64_t product_id, std::string sku, std::string name,
                 Decimal price, Decimal cost, Decimal reorder_level, std::string unit)
      : Event(std::move(meta)),
        product_id_(product_id),
        sku_(std::move(sku)),
        name_(std::move(name)),
        price_(price),
        cost_(cost),
        reorder_level_(reorder_level),
        unit_(std::move(unit)) {}

  int64_t product_id() const { return product_id_; }
  const std::string& sku() const { return sku_; }
  const std::string& product_name() const { return name_; }
  Decimal price() const { return price_; }
  Decimal cost() const { return cost_; }
  Decimal reorder_level() const { return reorder_level_; }
  const std::string& unit() const { return unit_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "product"; }
  std::string aggregate_id() const override { return std::to_string(product_id_); }
  void write_payload(nlohmann::json& out) const override {
    out = {{"product_id", product_id_},
           {"sku", sku_},
           {"name", name_},
           {"price", price_.to_string(4)},
           {"cost", cost_.to_string(4)},
           {"reorder_level", reorder_level_.to_string(4)},
           {"unit", unit_}};
  }
  // write_payload's object without building it (imports write a million of these): the keys
  // in the order nlohmann's object keeps them.
  std::string payload_json() const override {
    std::string out = "{\"cost\":\"" + cost_.to_string(4) + "\",\"name\":";
    append_json_string(out, name_);
    out += ",\"price\":\"" + price_.to_string(4) +
           "\",\"product_id\":" + std::to_string(product_id_) + ",\"reorder_level\":\"" +
           reorder_level_.to_string(4) + "\",\"sku\":";
    append_json_string(out, sku_);
    out += ",\"unit\":";
    append_json_string(out, unit_);
    out += '}';
    return out;
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    return std::make_unique<ProductCreated>(
        std::move(meta), require_int(p, "product_id"), require_string(p, "sku"),
        require_string(p, "name"), require_decimal(p, "price"), require_decimal(p, "cost"),
        require_decimal(p, "reorder_level"), require_string(p, "unit"));
  }

 private:
  const int64_t product_id_;
  const std::string sku_, name_;
  const Decimal price_, cost_, reorder_level_;
  const std::string unit_;
};

// One changed field: its value before and after, as text (decimals with 4 fraction digits).
struct FieldChange {
  std::string old_value;
  std::string new_value;
  friend bool operator==(const FieldChange&, const FieldChange&) = default;
};
using FieldChanges = std::map<std::string, FieldChange>;

// Only the fields that changed: {"changes": {"price": {"old": "1.0000", "new": "2.0000"}}}.
class ProductUpdated final : public events::Event {
 public:
  static constexpr std::string_view kName = "ProductUpdated";
  ProductUpdated(events::EventMeta meta, int64_t product_id, std::string sku, FieldChanges changes)
      : Event(std::move(meta)),
        product_id_(product_id),
        sku_(std::move(sku)),
        changes_(std::move(changes)) {}

  int64_t product_id() const { return product_id_; }
  const std::string& sku() const { return sku_; }
  const FieldChanges& changes() const { return changes_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "product"; }
  std::string aggregate_id() const override { return std::to_string(product_id_); }
  void write_payload(nlohmann::json& out) const override {
    nlohmann::json changes = nlohmann::json::object();
    for (const auto& [field, c] : changes_)
      changes[field] = {{"old", c.old_value}, {"new", c.new_value}};
    out = {{"product_id", product_id_}, {"sku", sku_}, {"changes", changes}};
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    FieldChanges changes;
    if (!p.contains("changes") || !p["changes"].is_object()) {
      throw invalid_argument("field \"changes\" must be an object");
    }
    for (const auto& [field, c] : p["changes"].items()) {
      changes[field] = {require_string(c, "old"), require_string(c, "new")};
    }
    return std::make_unique<ProductUpdated>(std::move(meta), require_int(p, "product_id"),
                                            require_string(p, "sku"), std::move(changes));
  }

 private:
  const int64_t product_id_;
  const std::string sku_;
  const FieldChanges changes_;
};

class ProductDeleted final : public events::Event {
 public:
  static constexpr std::string_view kName = "ProductDeleted";
  ProductDeleted(events::EventMeta meta, int64_t product_id, std::string sku)
      : Event(std::move(meta)), product_id_(product_id), sku_(std::move(sku)) {}

  int64_t product_id() const { return product_id_; }
  const std::string& sku() const { return sku_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "product"; }
  std::string aggregate_id() const override { return std::to_string(product_id_); }
  void write_payload(nlohmann::json& out) const override {
    out = {{"product_id", product_id_}, {"sku", sku_}};
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    return std::make_unique<ProductDeleted>(std::move(meta), require_int(p, "product_id"),
                                            require_string(p, "sku"));
  }

 private:
  const int64_t product_id_;
  const std::string sku_;
};

}  // namespace unity::erp::catalog
