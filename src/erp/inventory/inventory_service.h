#pragma once
// Inventory (DESIGN.md module `inventory`): stock is a ledger (`stock_movements`) over batches
// (`stock_batches`); outgoing stock consumes a location's batches first-in first-out. Each write
// and its events happen in one transaction (a savepoint inside the caller's), so nothing is ever
// half-written.
//
// Events: StockMovementRecorded per ledger row; LowStockDetected when an outgoing movement leaves
// the product's on-hand (all locations) below its reorder level, once, and again only after it
// has recovered to the level or above (a product that never had stock never fires); StockExpiring
// from check_expiry(), once per batch and severity.
//
// Locations are named by code; each tenant has MAIN, created on first use.
//
// Errors: malformed input (non-positive quantity where one is required, bad decimal or date) →
// kInvalidArgument; unknown, deleted or another tenant's product, or unknown location →
// kNotFound; not enough stock for an outgoing movement → kFailedPrecondition (nothing changed);
// no tenant context → kFailedPrecondition. Not thread-safe (like the connection); concurrent
// services on other connections serialise per product (the product row is locked first).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "core/decimal.h"
#include "db/connection.h"
#include "erp/inventory/events.h"
#include "events/event_bus.h"

namespace unity::erp::inventory {

inline constexpr const char* kMainLocation = "MAIN";

struct Location {
  int64_t id = 0;
  std::string code;
  std::string name;
};

struct Batch {
  int64_t id = 0;
  int64_t product_id = 0;
  std::string location;  // code
  std::string batch;
  Decimal quantity_received;
  Decimal quantity_remaining;
  Decimal unit_cost;
  std::string received_at;
  std::optional<std::string> expiry_date;  // YYYY-MM-DD
};

// stock:receive {sku, location?, quantity, unit_cost?, batch?, expiry_date?}: location defaults
// to MAIN, unit_cost to the product's cost, batch to "RCV-<date>".
struct Receipt {
  std::string sku;
  std::string location = kMainLocation;
  Decimal quantity;
  std::optional<Decimal> unit_cost;
  std::string batch;
  std::optional<std::string> expiry_date;
  // What the receipt is for, recorded on the ledger row (e.g. "purchase_order", "12"); empty when
  // none. Set by other modules, never parsed from stock:receive input.
  std::string reference_type;
  std::string reference_id;
  static Receipt from_json(const nlohmann::json& data);
};

// stock:adjust {sku, location?, quantity (signed, not zero), reason?}: positive adds a batch at
// the product's cost, negative consumes batches FIFO. reason defaults to "adjustment".
struct Adjustment {
  std::string sku;
  std::string location = kMainLocation;
  Decimal quantity;
  std::string reason = "adjustment";
  static Adjustment from_json(const nlohmann::json& data);
};

struct MovementResult {
  std::vector<int64_t> movement_ids;
  std::optional<int64_t> batch_id;  // the batch created by an incoming movement
  Decimal cost;                     // total cost of the stock moved (FIFO for outgoing)
  Decimal on_hand;                  // the product's on-hand afterwards, all locations
};

struct LocationStock {
  std::string code;
  Decimal on_hand;
};

// stock:show: on-hand in total and per location, and the batches with stock left (FIFO order).
struct StockLevel {
  int64_t product_id = 0;
  std::string sku;
  Decimal on_hand;
  std::vector<LocationStock> locations;
  std::vector<Batch> batches;
};

class InventoryService {
 public:
  // `user_id` is the acting user stamped on events (none for system work such as the daily
  // scan). `events` and `clock` must outlive the service.
  InventoryService(db::Connection& conn, events::EventDispatcher& events,
                   std::optional<int64_t> user_id = std::nullopt,
                   const Clock& clock = system_clock());

  // The location with `code` (MAIN is created on first use); kNotFound for another unknown code.
  Location location(const std::string& code);
  // kAlreadyExists when the code is taken.
  Location create_location(const std::string& code, const std::string& name);

  MovementResult receive(const Receipt& receipt);
  MovementResult adjust(const Adjustment& adjustment);
  // Takes `quantity` (> 0) of a live product out of `location`, FIFO, for sales fulfilment;
  // result.cost is the FIFO cost of what left.
  MovementResult issue(int64_t product_id, const std::string& location, Decimal quantity,
                       const std::string& reference_type, const std::string& reference_id,
                       const std::string& reason = "sale");

  Decimal on_hand(int64_t product_id);
  Decimal on_hand(int64_t product_id, const std::string& location);
  // The stock of a live product by SKU.
  StockLevel stock(const std::string& sku);

  // The daily scan as of `as_of` (YYYY-MM-DD): batches of live products with stock left that
  // expire within `days` days (expired ones included, days_left < 0) get StockExpiring, once per
  // batch and severity. Returns the alerts raised by this call. kInvalidArgument for a bad date
  // or days outside 0..3650.
  std::vector<ExpiringBatch> check_expiry(const std::string& as_of, int days = 30);

 private:
  struct Locked;
  Locked lock_product(int64_t product_id);
  int64_t insert_batch(const Locked& p, const Location& loc, const std::string& batch,
                       Decimal quantity, Decimal unit_cost,
                       const std::optional<std::string>& expiry, const std::string& now);
  int64_t record(const Locked& p, const Location& loc, std::optional<int64_t> batch_id,
                 Decimal quantity, Decimal unit_cost, const std::string& reason,
                 const std::string& reference_type, const std::string& reference_id,
                 const std::string& now);
  MovementResult take_out(const Locked& p, const Location& loc, Decimal quantity,
                          const std::string& reason, const std::string& reference_type,
                          const std::string& reference_id);
  MovementResult put_in(const Locked& p, const Location& loc, Decimal quantity, Decimal unit_cost,
                        const std::string& batch, const std::optional<std::string>& expiry,
                        const std::string& reason, const std::string& reference_type = "",
                        const std::string& reference_id = "");
  void check_low_stock(const Locked& p, const Location& loc, Decimal on_hand, bool decreased);

  db::Connection& conn_;
  events::EventDispatcher& events_;
  std::optional<int64_t> user_id_;
  const Clock& clock_;
};

// Severity of an expiring batch by days left: <= 7 "critical", <= 14 "warning", else "info".
std::string expiry_severity(int64_t days_left);

}  // namespace unity::erp::inventory
