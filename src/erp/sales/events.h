#pragma once
// Sales events (the seed's OrderCreated, OrderApproved, OrderFulfilled). `created_by` and
// `approved_by` are user ids, 0 when none.

#include <cstdint>
#include <string>
#include <vector>

#include "core/decimal.h"
#include "erp/data_event.h"

namespace unity::erp::sales {

struct OrderLineData {
  int64_t product_id = 0;
  std::string sku;
  Decimal quantity;
  Decimal unit_price;
  Decimal line_total;
  Decimal cost;  // FIFO cost of the stock that left; zero until fulfilled
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OrderLineData, product_id, sku, quantity, unit_price, line_total,
                                   cost)

struct OrderCreatedData {
  static constexpr std::string_view kName = "OrderCreated";
  static constexpr std::string_view kAggregate = "order";
  int64_t order_id = 0;
  int64_t customer_id = 0;
  Decimal total;
  int64_t created_by = 0;
  std::vector<OrderLineData> lines;
  int64_t aggregate_id() const { return order_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OrderCreatedData, order_id, customer_id, total, created_by,
                                   lines)
using OrderCreated = DataEvent<OrderCreatedData>;

struct OrderApprovedData {
  static constexpr std::string_view kName = "OrderApproved";
  static constexpr std::string_view kAggregate = "order";
  int64_t order_id = 0;
  int64_t customer_id = 0;
  Decimal total;
  int64_t created_by = 0;
  int64_t approved_by = 0;
  int64_t aggregate_id() const { return order_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OrderApprovedData, order_id, customer_id, total, created_by,
                                   approved_by)
using OrderApproved = DataEvent<OrderApprovedData>;

struct OrderFulfilledData {
  static constexpr std::string_view kName = "OrderFulfilled";
  static constexpr std::string_view kAggregate = "order";
  int64_t order_id = 0;
  int64_t customer_id = 0;
  Decimal total;
  Decimal cost_of_goods;
  std::string location;
  std::string fulfilled_at;
  int64_t created_by = 0;
  std::vector<OrderLineData> lines;
  int64_t aggregate_id() const { return order_id; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OrderFulfilledData, order_id, customer_id, total, cost_of_goods,
                                   location, fulfilled_at, created_by, lines)
using OrderFulfilled = DataEvent<OrderFulfilledData>;

}  // namespace unity::erp::sales
