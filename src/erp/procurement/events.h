#pragma once
// Procurement events (the seed's PurchaseOrderApproved and GoodsReceived). Decimals travel as
// strings with 4 fraction digits; every event's aggregate is ("purchase_order", id).

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/decimal.h"
#include "core/error.h"
#include "core/json.h"
#include "events/event.h"

namespace unity::erp::procurement {

namespace detail {
inline nlohmann::json opt_int(std::optional<int64_t> v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}
inline const nlohmann::json& require_array(const nlohmann::json& p, const char* field) {
  if (!p.contains(field) || !p[field].is_array()) {
    throw invalid_argument(std::string("field \"") + field + "\" must be an array");
  }
  return p[field];
}
}  // namespace detail

// One line of an approved order.
struct ApprovedLine {
  int64_t product_id = 0;
  std::string sku;
  Decimal quantity;
  Decimal unit_cost;
  Decimal line_total;
};

// A draft order was approved; NotifyPurchaseOrderApproval tells procurement staff and the order's
// creator. `created_by`/`approved_by` are none when a system (no user) did it.
class PurchaseOrderApproved final : public events::Event {
 public:
  static constexpr std::string_view kName = "PurchaseOrderApproved";
  PurchaseOrderApproved(events::EventMeta meta, int64_t purchase_order_id, int64_t vendor_id,
                        std::string vendor_name, Decimal total, std::optional<int64_t> created_by,
                        std::optional<int64_t> approved_by, std::vector<ApprovedLine> lines)
      : Event(std::move(meta)),
        purchase_order_id_(purchase_order_id),
        vendor_id_(vendor_id),
        vendor_name_(std::move(vendor_name)),
        total_(total),
        created_by_(created_by),
        approved_by_(approved_by),
        lines_(std::move(lines)) {}

  int64_t purchase_order_id() const { return purchase_order_id_; }
  int64_t vendor_id() const { return vendor_id_; }
  const std::string& vendor_name() const { return vendor_name_; }
  Decimal total() const { return total_; }
  std::optional<int64_t> created_by() const { return created_by_; }
  std::optional<int64_t> approved_by() const { return approved_by_; }
  const std::vector<ApprovedLine>& lines() const { return lines_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "purchase_order"; }
  std::string aggregate_id() const override { return std::to_string(purchase_order_id_); }
  void write_payload(nlohmann::json& out) const override {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& l : lines_) {
      lines.push_back({{"product_id", l.product_id},
                       {"sku", l.sku},
                       {"quantity", l.quantity.to_string(4)},
                       {"unit_cost", l.unit_cost.to_string(4)},
                       {"line_total", l.line_total.to_string(4)}});
    }
    out = {{"purchase_order_id", purchase_order_id_},
           {"vendor_id", vendor_id_},
           {"vendor_name", vendor_name_},
           {"total", total_.to_string(4)},
           {"created_by", detail::opt_int(created_by_)},
           {"approved_by", detail::opt_int(approved_by_)},
           {"lines", lines}};
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    std::vector<ApprovedLine> lines;
    for (const auto& l : detail::require_array(p, "lines")) {
      lines.push_back({require_int(l, "product_id"), require_string(l, "sku"),
                       require_decimal(l, "quantity"), require_decimal(l, "unit_cost"),
                       require_decimal(l, "line_total")});
    }
    return std::make_unique<PurchaseOrderApproved>(
        std::move(meta), require_int(p, "purchase_order_id"), require_int(p, "vendor_id"),
        require_string(p, "vendor_name"), require_decimal(p, "total"),
        optional_int(p, "created_by"), optional_int(p, "approved_by"), std::move(lines));
  }

 private:
  const int64_t purchase_order_id_, vendor_id_;
  const std::string vendor_name_;
  const Decimal total_;
  const std::optional<int64_t> created_by_, approved_by_;
  const std::vector<ApprovedLine> lines_;
};

// One line of a goods receipt: the stock batch it created at the order line's unit cost.
struct ReceivedLine {
  int64_t purchase_order_line_id = 0;
  int64_t product_id = 0;
  std::string sku;
  Decimal quantity;
  Decimal unit_cost;
  int64_t batch_id = 0;
  std::string batch;
};

// Goods arrived against an approved order: one receipt, its lines, and the order's status after
// it ("partially_received" or "received"). The stock itself was recorded by the inventory module
// (StockMovementRecorded per line) in the same transaction.
class GoodsReceived final : public events::Event {
 public:
  static constexpr std::string_view kName = "GoodsReceived";
  GoodsReceived(events::EventMeta meta, int64_t purchase_order_id, int64_t goods_receipt_id,
                int64_t vendor_id, std::string location, std::string status,
                std::vector<ReceivedLine> lines)
      : Event(std::move(meta)),
        purchase_order_id_(purchase_order_id),
        goods_receipt_id_(goods_receipt_id),
        vendor_id_(vendor_id),
        location_(std::move(location)),
        status_(std::move(status)),
        lines_(std::move(lines)) {}

  int64_t purchase_order_id() const { return purchase_order_id_; }
  int64_t goods_receipt_id() const { return goods_receipt_id_; }
  int64_t vendor_id() const { return vendor_id_; }
  const std::string& location() const { return location_; }
  const std::string& status() const { return status_; }
  const std::vector<ReceivedLine>& lines() const { return lines_; }

  std::string_view name() const override { return kName; }
  std::string aggregate_type() const override { return "purchase_order"; }
  std::string aggregate_id() const override { return std::to_string(purchase_order_id_); }
  void write_payload(nlohmann::json& out) const override {
    nlohmann::json lines = nlohmann::json::array();
    for (const auto& l : lines_) {
      lines.push_back({{"purchase_order_line_id", l.purchase_order_line_id},
                       {"product_id", l.product_id},
                       {"sku", l.sku},
                       {"quantity", l.quantity.to_string(4)},
                       {"unit_cost", l.unit_cost.to_string(4)},
                       {"batch_id", l.batch_id},
                       {"batch", l.batch}});
    }
    out = {{"purchase_order_id", purchase_order_id_},
           {"goods_receipt_id", goods_receipt_id_},
           {"vendor_id", vendor_id_},
           {"location", location_},
           {"status", status_},
           {"lines", lines}};
  }
  static std::unique_ptr<Event> read(events::EventMeta meta, const nlohmann::json& p) {
    std::vector<ReceivedLine> lines;
    for (const auto& l : detail::require_array(p, "lines")) {
      lines.push_back({require_int(l, "purchase_order_line_id"), require_int(l, "product_id"),
                       require_string(l, "sku"), require_decimal(l, "quantity"),
                       require_decimal(l, "unit_cost"), require_int(l, "batch_id"),
                       require_string(l, "batch")});
    }
    return std::make_unique<GoodsReceived>(
        std::move(meta), require_int(p, "purchase_order_id"), require_int(p, "goods_receipt_id"),
        require_int(p, "vendor_id"), require_string(p, "location"), require_string(p, "status"),
        std::move(lines));
  }

 private:
  const int64_t purchase_order_id_, goods_receipt_id_, vendor_id_;
  const std::string location_, status_;
  const std::vector<ReceivedLine> lines_;
};

}  // namespace unity::erp::procurement
