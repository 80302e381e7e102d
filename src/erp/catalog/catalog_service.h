#pragma once
// The catalog (DESIGN.md module `catalog`): products of the connection's tenant. Each write and
// its event (ProductCreated, ProductUpdated, ProductDeleted) happen in one transaction (a
// savepoint when the caller already has one), so both exist if and only if it commits.
//
// Errors: malformed input → kInvalidArgument (naming the field; nothing written); a product that
// is unknown, deleted (for writes) or of another tenant → kNotFound; a SKU already used by a
// live product of the tenant → kAlreadyExists; no tenant context → kFailedPrecondition.
// Not thread-safe (like the connection it uses).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "core/decimal.h"
#include "db/connection.h"
#include "events/event_bus.h"

namespace unity::erp::catalog {

struct Product {
  int64_t id = 0;
  std::string sku;
  std::string name;
  Decimal price;
  Decimal cost;
  Decimal reorder_level;
  std::string unit;
  bool low_stock_flag = false;
  std::optional<std::string> deleted_at;
  std::string created_at;
  std::string updated_at;
};

// product:create {sku, name, price, cost?, reorder_level?, unit?}: cost and reorder_level
// default to 0, unit to "each". Decimals are strings (or integral numbers), never negative.
struct ProductDraft {
  std::string sku;
  std::string name;
  Decimal price;
  Decimal cost;
  Decimal reorder_level;
  std::string unit = "each";
  static ProductDraft from_json(const nlohmann::json& data);
  // The checks from_json and create make (lengths, no negative amounts); throws kInvalidArgument
  // naming the field.
  void check() const;
};

// product:update {id, …fields}: only the fields given change.
struct ProductPatch {
  int64_t id = 0;
  std::optional<std::string> sku, name;
  std::optional<Decimal> price, cost, reorder_level;
  std::optional<std::string> unit;
  static ProductPatch from_json(const nlohmann::json& data);
};

// Reads a product row of the connection's tenant (deleted ones too); nullopt if none.
std::optional<Product> load_product(db::Connection& conn, int64_t id);
// A live product by SKU; nullopt if none. A SKU that is not plain text (erp/input.h
// check_plain_text, e.g. with a NUL) is kInvalidArgument on both drivers.
std::optional<Product> load_product_by_sku(db::Connection& conn, const std::string& sku);
// A live product named the way DESIGN.md names products: an integer ("12") is its id, anything
// else its SKU. nullopt if none.
std::optional<Product> load_product_named(db::Connection& conn, const std::string& name);
// The live products with these SKUs, by SKU (absent ones are missing from the map). One query
// per kSkuBatch SKUs; SKUs are checked like load_product_by_sku's.
std::map<std::string, Product> load_products_by_sku(db::Connection& conn,
                                                    const std::vector<std::string>& skus);
inline constexpr size_t kSkuBatch = 500;

class CatalogService {
 public:
  // `user_id` is the acting user stamped on events (none for system work). `events` and `clock`
  // must outlive the service.
  CatalogService(db::Connection& conn, events::EventDispatcher& events,
                 std::optional<int64_t> user_id = std::nullopt,
                 const Clock& clock = system_clock());

  Product create(const ProductDraft& draft);
  // The bulk form of create, for imports: creates the drafts whose SKU no live product of the
  // tenant has, all or none (multi-row INSERT … ON CONFLICT DO NOTHING, one lookup of the SKU
  // index per row; ProductCreated events appended in bulk). The drafts' SKUs must be distinct
  // (kInvalidArgument). Returns, in the drafts' order, the new id, or nullopt where a live
  // product already had the SKU (nothing written for it: the caller updates it if it wants).
  //
  // `load` kCopy, where the connection offers COPY (capabilities().copy_from: PostgreSQL), streams
  // the drafts into a session-local staging table (CREATE TEMP TABLE IF NOT EXISTS … ON COMMIT
  // DELETE ROWS; not a tenant table, emptied by the statement that reads it) and creates them
  // with one INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING: same rows, ids and events as
  // kInsert, the multi-row INSERT … VALUES (per kSkuBatch drafts) used everywhere else.
  enum class BulkLoad { kInsert, kCopy };
  std::vector<std::optional<int64_t>> create_missing(const std::vector<ProductDraft>& drafts,
                                                     BulkLoad load = BulkLoad::kInsert);
  // Dispatches ProductUpdated with the changed fields only; nothing (no write, no event) when
  // nothing changed.
  Product update(const ProductPatch& patch);
  // Soft delete: sets deleted_at; the SKU becomes free for a new product.
  Product remove(int64_t id);

  // By id, deleted ones included (product:show shows deleted_at).
  Product find(int64_t id);
  // A live product by SKU.
  Product find_by_sku(const std::string& sku);
  // A live product by id ("12") or SKU (load_product_named); kNotFound naming what was given.
  Product find_named(const std::string& name);
  // A live product by id, for writes.
  Product find_live(int64_t id);
  // Live products in id order after `after_id` (0: from the start), at most `limit` (a page of
  // `GET /products`).
  std::vector<Product> list(int64_t after_id, int limit);

 private:
  db::Connection& conn_;
  events::EventDispatcher& events_;
  std::optional<int64_t> user_id_;
  const Clock& clock_;
};

}  // namespace unity::erp::catalog
