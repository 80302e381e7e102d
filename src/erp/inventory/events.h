#pragma once
// Inventory events (the seed's StockMovementRecorded, LowStockDetected, StockExpiring). Decimals
// travel as strings with 4 fraction digits.

#include <optional>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/decimal.h"
#include "core/json.h"
#include "events/event.h"

namespace unity::erp::inventory {

// One row of the stock ledger: quantity is signed (in > 0, out < 0).
struct MovementData {
  int64_t movement_id = 0;
  int64_t product_id = 0;
  std::string sku;
  std::string location;  // location code
  std::optional<int64_t> batch_id;
  Decimal quantity;
  Decimal unit_cost;
  std::string reason;          // receipt | adjustment | sale | …
  std::string reference_type;  // e.g. "order"; empty when none
  std::string reference_id;
};

class StockMovementRecorded final : public events::Event {
 public:
  static constexpr std::string_view kName = "StockMovementRecorded";
  StockMovementRecorded(events::EventMeta meta, MovementData data)
      : Event(std::move(meta)), data_(std::move(data)) {}

  const MovementData& movement() const { return data_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "product"; }
  std::string aggregate_id() const override { return std::to_string(data_.product_id); }
  void write_payload(nlohmann::json& out) const override {
    out = {{"movement_id", data_.movement_id},
           {"product_id", data_.product_id},
           {"sku", data_.sku},
           {"location", data_.location},
           {"batch_id", data_.batch_id ? nlohmann::json(*data_.batch_id) : nlohmann::json()},
           {"quantity", data_.quantity.to_string(4)},
           {"unit_cost", data_.unit_cost.to_string(4)},
           {"reason", data_.reason},
           {"reference_type", data_.reference_type},
           {"reference_id", data_.reference_id}};
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    MovementData d;
    d.movement_id = require_int(p, "movement_id");
    d.product_id = require_int(p, "product_id");
    d.sku = require_string(p, "sku");
    d.location = require_string(p, "location");
    d.batch_id = optional_int(p, "batch_id");
    d.quantity = require_decimal(p, "quantity");
    d.unit_cost = require_decimal(p, "unit_cost");
    d.reason = require_string(p, "reason");
    d.reference_type = optional_string(p, "reference_type").value_or("");
    d.reference_id = optional_string(p, "reference_id").value_or("");
    return std::make_unique<StockMovementRecorded>(std::move(meta), std::move(d));
  }

 private:
  const MovementData data_;
};

// A product's on-hand quantity (all locations) went below its reorder level; once until it has
// recovered to the level. `location` is where the movement that caused it happened.
class LowStockDetected final : public events::Event {
 public:
  static constexpr std::string_view kName = "LowStockDetected";
  LowStockDetected(events::EventMeta meta, int64_t product_id, std::string sku,
                   std::string product_name, Decimal on_hand, Decimal reorder_level,
                   std::string location)
      : Event(std::move(meta)),
        product_id_(product_id),
        sku_(std::move(sku)),
        product_name_(std::move(product_name)),
        on_hand_(on_hand),
        reorder_level_(reorder_level),
        location_(std::move(location)) {}

  int64_t product_id() const { return product_id_; }
  const std::string& sku() const { return sku_; }
  const std::string& product_name() const { return product_name_; }
  Decimal on_hand() const { return on_hand_; }
  Decimal reorder_level() const { return reorder_level_; }
  const std::string& location() const { return location_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "product"; }
  std::string aggregate_id() const override { return std::to_string(product_id_); }
  void write_payload(nlohmann::json& out) const override {
    out = {{"product_id", product_id_},
           {"sku", sku_},
           {"name", product_name_},
           {"on_hand", on_hand_.to_string(4)},
           {"reorder_level", reorder_level_.to_string(4)},
           {"location", location_}};
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    return std::make_unique<LowStockDetected>(
        std::move(meta), require_int(p, "product_id"), require_string(p, "sku"),
        require_string(p, "name"), require_decimal(p, "on_hand"),
        require_decimal(p, "reorder_level"), require_string(p, "location"));
  }

 private:
  const int64_t product_id_;
  const std::string sku_, product_name_;
  const Decimal on_hand_, reorder_level_;
  const std::string location_;
};

// A batch with stock left expires within the scan's window. Severity by days left: 7 or fewer
// "critical", 14 or fewer "warning", else "info". Once per batch and severity.
struct ExpiringBatch {
  int64_t batch_id = 0;
  int64_t product_id = 0;
  std::string sku;
  std::string batch;
  std::string location;
  Decimal quantity_remaining;
  std::string expiry_date;  // YYYY-MM-DD
  int64_t days_left = 0;    // negative once expired
  std::string severity;
};

class StockExpiring final : public events::Event {
 public:
  static constexpr std::string_view kName = "StockExpiring";
  StockExpiring(events::EventMeta meta, ExpiringBatch data)
      : Event(std::move(meta)), data_(std::move(data)) {}

  const ExpiringBatch& batch() const { return data_; }
  int64_t days_left() const { return data_.days_left; }
  const std::string& severity() const { return data_.severity; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "stock_batch"; }
  std::string aggregate_id() const override { return std::to_string(data_.batch_id); }
  void write_payload(nlohmann::json& out) const override {
    out = {{"batch_id", data_.batch_id},
           {"product_id", data_.product_id},
           {"sku", data_.sku},
           {"batch", data_.batch},
           {"location", data_.location},
           {"quantity_remaining", data_.quantity_remaining.to_string(4)},
           {"expiry_date", data_.expiry_date},
           {"days_left", data_.days_left},
           {"severity", data_.severity}};
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    ExpiringBatch d;
    d.batch_id = require_int(p, "batch_id");
    d.product_id = require_int(p, "product_id");
    d.sku = require_string(p, "sku");
    d.batch = require_string(p, "batch");
    d.location = require_string(p, "location");
    d.quantity_remaining = require_decimal(p, "quantity_remaining");
    d.expiry_date = require_string(p, "expiry_date");
    d.days_left = require_int(p, "days_left");
    d.severity = require_string(p, "severity");
    return std::make_unique<StockExpiring>(std::move(meta), std::move(d));
  }

 private:
  const ExpiringBatch data_;
};

}  // namespace unity::erp::inventory
