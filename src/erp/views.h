#pragma once
// The domain's output shapes (DESIGN.md "Output contract"): the JSON the command line prints with
// --json and the HTTP API answers, built in one place so the two never drift apart.

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/decimal.h"

namespace unity::erp {

namespace catalog {
struct Product;
}
namespace inventory {
struct MovementResult;
struct StockLevel;
struct Location;
}  // namespace inventory
namespace crm {
struct Customer;
struct Lead;
}  // namespace crm
namespace sales {
struct Order;
}
namespace billing {
struct Invoice;
}
namespace procurement {
struct Vendor;
struct PurchaseOrder;
struct GoodsReceipt;
}  // namespace procurement

// `product:show`: {"id","sku","name","price","cost","reorder_level","unit","on_hand","deleted_at",
// "created_at","updated_at"}.
nlohmann::json product_json(const catalog::Product& p, Decimal on_hand);
// `stock:receive` / `stock:adjust`: the movement(s) and the product's new on-hand quantity.
nlohmann::json movement_json(const std::string& sku, const std::string& location,
                             const inventory::MovementResult& r, Decimal quantity);
// `stock:show`: {"sku","on_hand","locations":[{"code","on_hand"}],"batches":[…]}.
nlohmann::json stock_json(const inventory::StockLevel& level);
nlohmann::json location_json(const inventory::Location& l);
// `customer:show`: the customer with contacts and statistics.
nlohmann::json customer_json(const crm::Customer& c);
nlohmann::json lead_json(const crm::Lead& l);
// `order:show`: {"id","status","customer_id","total","invoice_id","lines":[…], …}.
nlohmann::json order_json(const sales::Order& o);
// `invoice:show`: {"id","order_id","customer_id","status","total","paid","balance","due_date", …}.
nlohmann::json invoice_json(const billing::Invoice& i);
// `vendor:show`, `po:show` (with its lines and receipts), a goods receipt of `po:receive`.
nlohmann::json vendor_json(const procurement::Vendor& v);
nlohmann::json purchase_order_json(const procurement::PurchaseOrder& o);
nlohmann::json goods_receipt_json(const procurement::GoodsReceipt& g);

}  // namespace unity::erp
