#include "erp/catalog/catalog_service.h"

#include <algorithm>
#include <charconv>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "db/values_sql.h"
#include "erp/catalog/events.h"
#include "erp/input.h"

namespace unity::erp::catalog {

namespace {

constexpr const char* kColumns =
    "id, sku, name, price, cost, reorder_level, unit, low_stock_flag, deleted_at, created_at, "
    "updated_at";

Product product_from(const db::Row& r) {
  Product p;
  p.id = r.get<int64_t>("id");
  p.sku = r.get<std::string>("sku");
  p.name = r.get<std::string>("name");
  p.price = Decimal::parse(r.get<std::string>("price"));
  p.cost = Decimal::parse(r.get<std::string>("cost"));
  p.reorder_level = Decimal::parse(r.get<std::string>("reorder_level"));
  p.unit = r.get<std::string>("unit");
  p.low_stock_flag = r.get<int64_t>("low_stock_flag") != 0;
  p.deleted_at = r.get<std::optional<std::string>>("deleted_at");
  p.created_at = r.get<std::string>("created_at");
  p.updated_at = r.get<std::string>("updated_at");
  return p;
}

Error sku_taken(const std::string& sku) {
  return already_exists("a product with SKU " + quote_for_message(sku) + " already exists");
}

}  // namespace

ProductDraft ProductDraft::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"sku", "name", "price", "cost", "reorder_level", "unit"});
  ProductDraft d;
  d.sku = require_string(data, "sku");
  d.name = require_string(data, "name");
  d.price = require_decimal(data, "price");
  d.cost = optional_decimal(data, "cost").value_or(Decimal());
  d.reorder_level = optional_decimal(data, "reorder_level").value_or(Decimal());
  d.unit = optional_string(data, "unit").value_or("each");
  d.check();
  return d;
}

void ProductDraft::check() const {
  check_text("sku", sku, 64);
  check_text("name", name, 200);
  check_text("unit", unit, 20);
  check_non_negative("price", price);
  check_non_negative("cost", cost);
  check_non_negative("reorder_level", reorder_level);
}

ProductPatch ProductPatch::from_json(const nlohmann::json& data) {
  reject_unknown_fields(data, {"id", "sku", "name", "price", "cost", "reorder_level", "unit"});
  ProductPatch p;
  p.id = require_int(data, "id");
  p.sku = optional_string(data, "sku");
  p.name = optional_string(data, "name");
  p.price = optional_decimal(data, "price");
  p.cost = optional_decimal(data, "cost");
  p.reorder_level = optional_decimal(data, "reorder_level");
  p.unit = optional_string(data, "unit");
  return p;
}

std::optional<Product> load_product(db::Connection& conn, int64_t id) {
  auto row = conn.query_one(
      std::string("SELECT ") + kColumns + " FROM products WHERE tenant_id = $1 AND id = $2",
      {conn.require_tenant(), id});
  if (!row) return std::nullopt;
  return product_from(*row);
}

std::optional<Product> load_product_by_sku(db::Connection& conn, const std::string& sku) {
  check_plain_text("sku", sku);
  auto row =
      conn.query_one(std::string("SELECT ") + kColumns +
                         " FROM products WHERE tenant_id = $1 AND sku = $2 AND deleted_at IS NULL",
                     {conn.require_tenant(), sku});
  if (!row) return std::nullopt;
  return product_from(*row);
}

std::map<std::string, Product> load_products_by_sku(db::Connection& conn,
                                                    const std::vector<std::string>& skus) {
  std::map<std::string, Product> out;
  const int64_t tenant = conn.require_tenant();
  for (const auto& sku : skus) check_plain_text("sku", sku);
  for (size_t start = 0; start < skus.size(); start += kSkuBatch) {
    const size_t n = std::min(kSkuBatch, skus.size() - start);
    db::Params p{tenant};
    std::string in;
    for (size_t i = start; i < start + n; ++i) {
      p.add(skus[i]);
      in += (i == start ? "$" : ", $") + std::to_string(p.size());
    }
    conn.query_each(std::string("SELECT ") + kColumns +
                        " FROM products WHERE tenant_id = $1 AND deleted_at IS NULL AND sku IN (" +
                        in + ")",
                    p, [&out](const db::Row& r) {
                      Product prod = product_from(r);
                      out.emplace(prod.sku, std::move(prod));
                    });
  }
  return out;
}

std::optional<Product> load_product_named(db::Connection& conn, const std::string& name) {
  int64_t id = 0;
  const char* end = name.data() + name.size();
  const auto [ptr, ec] = std::from_chars(name.data(), end, id);
  if (name.empty() || ec != std::errc() || ptr != end) return load_product_by_sku(conn, name);
  auto p = load_product(conn, id);
  if (!p || p->deleted_at) return std::nullopt;
  return p;
}

CatalogService::CatalogService(db::Connection& conn, events::EventDispatcher& events,
                               std::optional<int64_t> user_id, const Clock& clock)
    : conn_(conn), events_(events), user_id_(user_id), clock_(clock) {}

Product CatalogService::find(int64_t id) {
  auto p = load_product(conn_, id);
  if (!p) throw not_found("product " + std::to_string(id) + " not found");
  return *p;
}

Product CatalogService::find_live(int64_t id) {
  Product p = find(id);
  if (p.deleted_at) throw not_found("product " + std::to_string(id) + " not found (deleted)");
  return p;
}

std::vector<Product> CatalogService::list(int64_t after_id, int limit) {
  std::vector<Product> out;
  conn_.query_each(std::string("SELECT ") + kColumns +
                       " FROM products WHERE tenant_id = $1 AND id > $2 AND deleted_at IS NULL"
                       " ORDER BY id LIMIT $3",
                   {conn_.require_tenant(), after_id, int64_t{limit}},
                   [&](const db::Row& r) { out.push_back(product_from(r)); });
  return out;
}

Product CatalogService::find_by_sku(const std::string& sku) {
  auto p = load_product_by_sku(conn_, sku);
  if (!p) throw not_found("product with SKU " + quote_for_message(sku) + " not found");
  return *p;
}

Product CatalogService::find_named(const std::string& name) {
  auto p = load_product_named(conn_, name);
  if (!p) throw not_found("product " + quote_for_message(name) + " not found (by id or SKU)");
  return *p;
}

Product CatalogService::create(const ProductDraft& d) {
  const int64_t tenant = conn_.require_tenant();
  d.check();
  db::Transaction tx(conn_);
  if (load_product_by_sku(conn_, d.sku)) throw sku_taken(d.sku);
  const std::string now = format_iso8601(clock_.now());
  const int64_t id = conn_.query_int(
      "INSERT INTO products (tenant_id, sku, name, price, cost, reorder_level, unit, "
      "low_stock_flag, deleted_at, created_at, updated_at) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7, 0, NULL, $8, $8) RETURNING id",
      {tenant, d.sku, d.name, db_decimal(d.price), db_decimal(d.cost), db_decimal(d.reorder_level),
       d.unit, now});
  events_.dispatch(conn_, ProductCreated(events::new_event_meta(tenant, user_id_, clock_), id,
                                         d.sku, d.name, d.price, d.cost, d.reorder_level, d.unit));
  Product p = find(id);
  tx.commit();
  return p;
}

std::vector<std::optional<int64_t>> CatalogService::create_missing(
    const std::vector<ProductDraft>& drafts, BulkLoad load) {
  const int64_t tenant = conn_.require_tenant();
  for (const auto& d : drafts) d.check();
  {
    std::vector<std::string> skus;
    skus.reserve(drafts.size());
    for (const auto& d : drafts) skus.push_back(d.sku);
    refuse_repeated("SKU", std::move(skus));
  }
  db::Transaction tx(conn_);
  const std::string now = format_iso8601(clock_.now());
  std::map<std::string, int64_t> id_of;  // RETURNING's order is not guaranteed: match by SKU
  auto returned = [&id_of](const db::Row& r) {
    id_of.emplace(r.get<std::string>(1), r.get<int64_t>(0));
  };
  const bool copy = load == BulkLoad::kCopy && conn_.capabilities().copy_from && !drafts.empty();
  if (copy) {
    conn_.execute_script(
        "CREATE TEMP TABLE IF NOT EXISTS unity_product_staging (sku TEXT, name TEXT, "
        "price NUMERIC(20,4), cost NUMERIC(20,4), reorder_level NUMERIC(20,4), unit TEXT) "
        "ON COMMIT DELETE ROWS");
    std::vector<db::CopyRow> rows;
    rows.reserve(drafts.size());
    for (const auto& d : drafts) {
      rows.push_back({d.sku, d.name, db_decimal(d.price), db_decimal(d.cost),
                      db_decimal(d.reorder_level), d.unit});
    }
    conn_.copy_rows("unity_product_staging",
                    {"sku", "name", "price", "cost", "reorder_level", "unit"}, rows);
    conn_.query_each(
        "WITH staged AS (DELETE FROM pg_temp.unity_product_staging "
        "RETURNING sku, name, price, cost, reorder_level, unit) "
        "INSERT INTO products (tenant_id, sku, name, price, cost, reorder_level, unit, "
        "low_stock_flag, deleted_at, created_at, updated_at) "
        "SELECT $1::bigint, sku, name, price, cost, reorder_level, unit, 0, NULL, "
        "$2::timestamptz, $2::timestamptz FROM staged "
        "ON CONFLICT (tenant_id, sku) WHERE deleted_at IS NULL DO NOTHING RETURNING id, sku",
        {tenant, now}, returned);
  }
  for (size_t start = 0; !copy && start < drafts.size(); start += kSkuBatch) {
    const size_t n = std::min(kSkuBatch, drafts.size() - start);
    db::Params p{tenant, now};  // $1, $2: shared by every row
    for (size_t i = start; i < start + n; ++i) {
      const auto& d = drafts[i];
      p.add(d.sku)
          .add(d.name)
          .add(db_decimal(d.price))
          .add(db_decimal(d.cost))
          .add(db_decimal(d.reorder_level))
          .add(d.unit);
    }
    conn_.query_each(
        "INSERT INTO products (tenant_id, sku, name, price, cost, reorder_level, unit, "
        "low_stock_flag, deleted_at, created_at, updated_at) VALUES " +
            db::values_sql(n, 6, 3, "$1, ", ", 0, NULL, $2, $2") +
            " ON CONFLICT (tenant_id, sku) WHERE deleted_at IS NULL DO NOTHING RETURNING id, sku",
        p, returned);
  }
  std::vector<std::optional<int64_t>> ids;
  ids.reserve(drafts.size());
  std::vector<std::unique_ptr<ProductCreated>> created;
  created.reserve(id_of.size());
  std::vector<const events::Event*> list;
  list.reserve(id_of.size());
  for (const auto& d : drafts) {
    auto it = id_of.find(d.sku);
    if (it == id_of.end()) {
      ids.emplace_back(std::nullopt);
      continue;
    }
    ids.emplace_back(it->second);
    created.push_back(std::make_unique<ProductCreated>(
        events::new_event_meta(tenant, user_id_, clock_), it->second, d.sku, d.name, d.price,
        d.cost, d.reorder_level, d.unit));
    list.push_back(created.back().get());
  }
  events_.dispatch_all(conn_, list);
  tx.commit();
  return ids;
}

Product CatalogService::update(const ProductPatch& patch) {
  const int64_t tenant = conn_.require_tenant();
  db::Transaction tx(conn_);
  Product before = find_live(patch.id);
  ProductDraft after{patch.sku.value_or(before.sku),
                     patch.name.value_or(before.name),
                     patch.price.value_or(before.price),
                     patch.cost.value_or(before.cost),
                     patch.reorder_level.value_or(before.reorder_level),
                     patch.unit.value_or(before.unit)};
  after.check();
  FieldChanges changes;
  auto text = [&](const char* field, const std::string& o, const std::string& n) {
    if (o != n) changes[field] = {o, n};
  };
  auto dec = [&](const char* field, Decimal o, Decimal n) {
    if (o != n) changes[field] = {db_decimal(o), db_decimal(n)};
  };
  text("sku", before.sku, after.sku);
  text("name", before.name, after.name);
  dec("price", before.price, after.price);
  dec("cost", before.cost, after.cost);
  dec("reorder_level", before.reorder_level, after.reorder_level);
  text("unit", before.unit, after.unit);
  if (changes.empty()) return before;
  if (after.sku != before.sku && load_product_by_sku(conn_, after.sku)) throw sku_taken(after.sku);
  conn_.execute(
      "UPDATE products SET sku = $1, name = $2, price = $3, cost = $4, reorder_level = $5, "
      "unit = $6, updated_at = $7 WHERE tenant_id = $8 AND id = $9",
      {after.sku, after.name, db_decimal(after.price), db_decimal(after.cost),
       db_decimal(after.reorder_level), after.unit, format_iso8601(clock_.now()), tenant,
       before.id});
  events_.dispatch(conn_, ProductUpdated(events::new_event_meta(tenant, user_id_, clock_),
                                         before.id, after.sku, std::move(changes)));
  Product p = find(before.id);
  tx.commit();
  return p;
}

Product CatalogService::remove(int64_t id) {
  const int64_t tenant = conn_.require_tenant();
  db::Transaction tx(conn_);
  Product p = find_live(id);
  const std::string now = format_iso8601(clock_.now());
  conn_.execute(
      "UPDATE products SET deleted_at = $1, updated_at = $1 WHERE tenant_id = $2 AND id = $3",
      {now, tenant, id});
  events_.dispatch(conn_,
                   ProductDeleted(events::new_event_meta(tenant, user_id_, clock_), id, p.sku));
  p = find(id);
  tx.commit();
  return p;
}

}  // namespace unity::erp::catalog
