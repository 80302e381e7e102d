#pragma once
// Sales (DESIGN.md module `sales`): orders with lines, created → approved → fulfilled. Each
// write and its event (OrderCreated, OrderApproved, OrderFulfilled) happen in one transaction.
// Stock leaves only at fulfilment: every line is issued first-in first-out from one location
// through the inventory module; if any line lacks stock nothing changes (oversell refused).
//
// Concurrency: each state change is a conditional update of the order row (draft → approved,
// approved → fulfilled), so of two concurrent approvals or fulfilments exactly one succeeds; the
// lines' products are locked in product id order, so fulfilments of different orders sharing
// stock serialise without deadlock and never oversell.
//
// Errors: malformed input (no lines, non-positive quantity, negative price, bad decimal, unknown
// field) → kInvalidArgument; unknown customer, order, SKU, deleted product, unknown location, or
// any of another tenant → kNotFound; approving a non-draft, fulfilling a non-approved order, not
// enough stock → kFailedPrecondition; nothing changed in every case.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "core/decimal.h"
#include "db/connection.h"
#include "events/event_bus.h"

namespace unity::erp::sales {

struct OrderLine {
  int64_t id = 0;
  int64_t product_id = 0;
  std::string sku;
  Decimal quantity;
  Decimal unit_price;
  Decimal line_total;
  std::optional<Decimal> cost;  // FIFO cost once fulfilled
};

struct Order {
  int64_t id = 0;
  int64_t customer_id = 0;
  std::string status;  // draft | approved | fulfilled | cancelled
  Decimal total;
  std::optional<Decimal> cost_of_goods;
  std::optional<std::string> location;
  std::optional<int64_t> created_by;
  std::optional<int64_t> invoice_id;
  std::optional<std::string> approved_at, fulfilled_at;
  std::string created_at;
  std::vector<OrderLine> lines;
};

// order:create {customer_id, lines:[{sku, quantity, unit_price?}]}: 1 to 1000 lines; unit_price
// defaults to the product's price.
struct OrderDraft {
  struct Line {
    std::string sku;
    Decimal quantity;
    std::optional<Decimal> unit_price;
  };
  int64_t customer_id = 0;
  std::vector<Line> lines;
  static OrderDraft from_json(const nlohmann::json& data);
};

class SalesService {
 public:
  SalesService(db::Connection& conn, events::EventDispatcher& events,
               std::optional<int64_t> user_id = std::nullopt, const Clock& clock = system_clock());

  Order create(const OrderDraft& draft);
  Order approve(int64_t order_id);
  // Issues every line from `location` (default MAIN).
  Order fulfill(int64_t order_id, const std::string& location);
  // With its lines and invoice id.
  Order find(int64_t order_id);

 private:
  // The transition's guard; throws kNotFound or kFailedPrecondition when it does not apply.
  void transition(int64_t order_id, const char* from, const char* to, const char* stamp_column,
                  const std::string& now);

  db::Connection& conn_;
  events::EventDispatcher& events_;
  std::optional<int64_t> user_id_;
  const Clock& clock_;
};

}  // namespace unity::erp::sales
