#pragma once
// Procurement (DESIGN.md module `procurement`): vendors, purchase orders and goods receipts of the
// connection's tenant. Each write and its events happen in one transaction (a savepoint inside
// the caller's), so both exist if and only if it commits.
//
// A purchase order's life: draft (po:create) → approved (po:approve; PurchaseOrderApproved, whose
// queued listener NotifyPurchaseOrderApproval tells procurement staff and the creator) →
// partially_received → received (po:receive; each receipt line becomes a stock batch at the order
// line's unit cost through inventory::InventoryService::receive, so the ledger, its
// StockMovementRecorded and the low-stock flag are the inventory module's; then GoodsReceived).
// `cancelled` is a valid status of the schema; no command sets it yet.
//
// Errors (all raised with nothing written): malformed input (unknown field, non-positive
// quantity, negative cost, bad decimal or date, empty or duplicate lines, a receipt SKU that is
// not on the order) → kInvalidArgument naming the field; a vendor, order, product (unknown,
// deleted, another tenant's) or location that is not there → kNotFound; a vendor e-mail already
// used in the tenant (case-insensitively) → kAlreadyExists; the wrong status for the operation
// (approving twice, receiving a draft or a fully received order) or receiving more than is
// outstanding on a line → kFailedPrecondition; no tenant context → kFailedPrecondition.
// Not thread-safe (like the connection); concurrent services on other connections serialise per
// order (the order row is locked first).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "core/decimal.h"
#include "db/connection.h"
#include "events/event_bus.h"

namespace unity::erp::procurement {

inline constexpr const char* kDraft = "draft";
inline constexpr const char* kApproved = "approved";
inline constexpr const char* kPartiallyReceived = "partially_received";
inline constexpr const char* kReceived = "received";
inline constexpr const char* kCancelled = "cancelled";

struct Vendor {
  int64_t id = 0;
  std::string name;
  std::string email;
  std::string created_at;
  std::string updated_at;
};

// vendor:create {name, email}: both required; the e-mail must contain '@'.
struct VendorDraft {
  std::string name;
  std::string email;
  static VendorDraft from_json(const nlohmann::json& data);
};

// po:create {vendor_id, lines:[{sku, quantity, unit_cost}]}: at least one line, each SKU once,
// quantity > 0, unit_cost >= 0 (defaults to the product's cost).
struct OrderLineDraft {
  std::string sku;
  Decimal quantity;
  std::optional<Decimal> unit_cost;
};
struct OrderDraft {
  int64_t vendor_id = 0;
  std::vector<OrderLineDraft> lines;
  static OrderDraft from_json(const nlohmann::json& data);
};

// po:receive {id, location?, lines?:[{sku, quantity, batch?, expiry_date?}]}: location defaults
// to MAIN; without lines everything outstanding is received (one batch per order line). A SKU may
// appear on several lines (several batches); together they may not exceed what is outstanding.
// batch defaults to "PO-<id>".
struct ReceiptLineDraft {
  std::string sku;
  Decimal quantity;
  std::string batch;
  std::optional<std::string> expiry_date;
};
struct ReceiptDraft {
  int64_t id = 0;
  std::string location = "MAIN";
  std::optional<std::vector<ReceiptLineDraft>> lines;
  static ReceiptDraft from_json(const nlohmann::json& data);
};

struct OrderLine {
  int64_t id = 0;
  int64_t product_id = 0;
  std::string sku;
  Decimal quantity;
  Decimal quantity_received;
  Decimal unit_cost;
  Decimal line_total;
  Decimal outstanding() const { return quantity - quantity_received; }
};

struct ReceiptLine {
  int64_t id = 0;
  int64_t purchase_order_line_id = 0;
  std::string sku;
  Decimal quantity;
  Decimal unit_cost;
  int64_t batch_id = 0;
  std::string batch;
  std::optional<std::string> expiry_date;
};

struct GoodsReceipt {
  int64_t id = 0;
  int64_t purchase_order_id = 0;
  std::string location;  // code
  std::optional<int64_t> received_by;
  std::string received_at;
  std::vector<ReceiptLine> lines;
};

struct PurchaseOrder {
  int64_t id = 0;
  int64_t vendor_id = 0;
  std::string vendor_name;
  std::string status;
  Decimal total;
  std::optional<int64_t> created_by;
  std::optional<int64_t> approved_by;
  std::optional<std::string> approved_at;
  std::optional<std::string> received_at;  // when the last outstanding quantity arrived
  std::string created_at;
  std::string updated_at;
  std::vector<OrderLine> lines;        // in order of creation
  std::vector<GoodsReceipt> receipts;  // oldest first
};

inline constexpr size_t kVendorBatch = 500;  // rows per INSERT of create_missing_vendors

class ProcurementService {
 public:
  // `user_id` is the acting user: stamped on events, recorded as the order's creator, approver or
  // receiver (none for system work). `events` and `clock` must outlive the service.
  ProcurementService(db::Connection& conn, events::EventDispatcher& events,
                     std::optional<int64_t> user_id = std::nullopt,
                     const Clock& clock = system_clock());

  Vendor create_vendor(const VendorDraft& draft);
  // The bulk form of create_vendor, for imports: creates the drafts whose e-mail no vendor of the
  // tenant has (case-insensitively, as the unique index on lower(email) compares), all or none,
  // with one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING per kVendorBatch drafts (no
  // event: the module defines none for a new vendor, as create_vendor dispatches none). The
  // e-mails must be distinct ignoring ASCII case (kInvalidArgument). Returns, in the drafts'
  // order, the new id, or nullopt where a vendor already had the e-mail (nothing written for it).
  std::vector<std::optional<int64_t>> create_missing_vendors(
      const std::vector<VendorDraft>& drafts);
  // A draft order; total = Σ quantity × unit_cost (each line rounded to 4 places).
  PurchaseOrder create_order(const OrderDraft& draft);
  // draft → approved, dispatching PurchaseOrderApproved.
  PurchaseOrder approve(int64_t id);
  // Receives goods against an approved or partially received order; returns the new receipt.
  // The order becomes "received" when nothing is outstanding, else "partially_received".
  GoodsReceipt receive(const ReceiptDraft& draft);

  Vendor find_vendor(int64_t id);
  // The order with its lines and receipts.
  PurchaseOrder find_order(int64_t id);

 private:
  // Locks the order row (PostgreSQL; SQLite write transactions are serial) and loads it.
  PurchaseOrder lock_order(int64_t id);
  std::vector<OrderLine> load_lines(int64_t order_id);
  std::vector<GoodsReceipt> load_receipts(int64_t order_id);

  db::Connection& conn_;
  events::EventDispatcher& events_;
  std::optional<int64_t> user_id_;
  const Clock& clock_;
};

}  // namespace unity::erp::procurement
