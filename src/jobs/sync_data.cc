#include "jobs/sync_data.h"

#include "core/decimal.h"
#include "core/error.h"
#include "core/json.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/inventory/inventory_service.h"
#include "jobs/import_upserts.h"

namespace unity::jobs::sync_detail {

namespace {

using nlohmann::json;

// The item's fields among `names`, so that extra fields of the other system are ignored.
json pick(const json& item, std::initializer_list<const char*> names) {
  json out = json::object();
  for (const char* n : names) {
    if (item.contains(n)) out[n] = item[n];
  }
  return out;
}

struct ProductItem {
  std::optional<erp::catalog::Product> existing;
  json fields;
};

ProductItem check_product(db::Connection& conn, const json& item) {
  const json fields = pick(item, {"sku", "name", "price", "cost", "reorder_level", "unit"});
  const std::string sku = require_string(fields, "sku");
  ProductItem p{erp::catalog::load_product_by_sku(conn, sku), fields};
  if (p.existing) {
    json patch = fields;
    patch["id"] = p.existing->id;
    erp::catalog::ProductPatch::from_json(patch);  // validates
  } else {
    erp::catalog::ProductDraft::from_json(fields);
  }
  return p;
}

void upsert_product(erp::catalog::CatalogService& catalog, const ProductItem& p) {
  if (!p.existing) {
    catalog.create(erp::catalog::ProductDraft::from_json(p.fields));
    return;
  }
  json patch = p.fields;
  patch["id"] = p.existing->id;
  catalog.update(erp::catalog::ProductPatch::from_json(patch));
}

struct CustomerItem {
  std::optional<int64_t> existing;
  json fields;
};

CustomerItem check_customer(db::Connection& conn, const json& item) {
  const json fields = pick(item, {"name", "email", "payment_terms_days", "contacts"});
  const std::string email = require_string(fields, "email");
  erp::crm::CustomerDraft::from_json(fields);  // validates name, email, terms, contacts
  // Case-insensitive, like the customers_email unique index (the import's lookup).
  return {find_customer_by_email(conn, email), fields};
}

// An existing customer: name and payment terms follow the other system (no event: the seed has
// no CustomerUpdated); contacts are left as they are.
void update_customer(db::Connection& conn, const json& fields, const Clock& clock) {
  const auto d = erp::crm::CustomerDraft::from_json(fields);
  update_customer_by_email(conn, *d.email, d.name, d.payment_terms_days,
                           format_iso8601(clock.now()));
}

std::string where(int64_t page, size_t index) {
  return "page " + std::to_string(page) + ", item " + std::to_string(index) + ": ";
}

}  // namespace

void apply_pulled_page(db::Connection& conn, events::EventDispatcher& events,
                       const std::string& sync_type, int64_t page, const json& items,
                       const Clock& clock) {
  std::vector<ProductItem> products;
  std::vector<CustomerItem> customers;
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      if (!items[i].is_object()) throw invalid_argument("not a JSON object");
      if (sync_type == "products") products.push_back(check_product(conn, items[i]));
      if (sync_type == "customers") customers.push_back(check_customer(conn, items[i]));
    } catch (const Error& e) {
      throw Error(ErrorCode::kInvalidArgument, where(page, i) + e.what());
    }
  }
  erp::catalog::CatalogService catalog(conn, events, std::nullopt, clock);
  for (const auto& p : products) upsert_product(catalog, p);
  erp::crm::CrmService crm(conn, events, std::nullopt, clock);
  for (const auto& c : customers) {
    if (c.existing) {
      update_customer(conn, c.fields, clock);
    } else {
      crm.create_customer(erp::crm::CustomerDraft::from_json(c.fields));
    }
  }
}

namespace {

json inventory_page(db::Connection& conn, events::EventDispatcher* events, int64_t after, int limit,
                    int64_t& last_id, const Clock& clock) {
  const auto rows = conn.query(
      "SELECT id, sku, name FROM products WHERE tenant_id = $1 AND deleted_at IS NULL AND id > $2 "
      "ORDER BY id LIMIT $3",
      {conn.require_tenant(), after, int64_t{limit}});
  json out = json::array();
  if (rows.empty()) return out;
  // InventoryService reads only; it needs a dispatcher for its (write-side) events.
  erp::inventory::InventoryService inventory(conn, *events, std::nullopt, clock);
  for (const auto& r : rows) {
    last_id = r.get<int64_t>(0);
    out.push_back({{"sku", r.get<std::string>(1)},
                   {"name", r.get<std::string>(2)},
                   {"on_hand", inventory.on_hand(last_id).to_string()}});
  }
  return out;
}

std::string decimal_text(const db::Row& r, size_t i) {
  return Decimal::parse(r.get<std::string>(i)).to_string();
}

json order_lines(db::Connection& conn, int64_t order_id) {
  json lines = json::array();
  for (const auto& l :
       conn.query("SELECT p.sku, l.quantity, l.unit_price, l.line_total FROM order_lines l "
                  "JOIN products p ON p.id = l.product_id AND p.tenant_id = l.tenant_id "
                  "WHERE l.tenant_id = $1 AND l.order_id = $2 ORDER BY l.id",
                  {conn.require_tenant(), order_id})) {
    lines.push_back({{"sku", l.get<std::string>(0)},
                     {"quantity", decimal_text(l, 1)},
                     {"unit_price", decimal_text(l, 2)},
                     {"line_total", decimal_text(l, 3)}});
  }
  return lines;
}

json orders_page(db::Connection& conn, int64_t after, int limit, int64_t& last_id) {
  json out = json::array();
  for (const auto& r : conn.query(
           "SELECT o.id, o.status, o.customer_id, c.email, o.total, o.created_at FROM orders o "
           "JOIN customers c ON c.id = o.customer_id AND c.tenant_id = o.tenant_id "
           "WHERE o.tenant_id = $1 AND o.id > $2 ORDER BY o.id LIMIT $3",
           {conn.require_tenant(), after, int64_t{limit}})) {
    last_id = r.get<int64_t>(0);
    const auto email = r.get<std::optional<std::string>>(3);
    out.push_back({{"id", last_id},
                   {"status", r.get<std::string>(1)},
                   {"customer_id", r.get<int64_t>(2)},
                   {"customer_email", email ? json(*email) : json()},
                   {"total", decimal_text(r, 4)},
                   {"created_at", format_iso8601(parse_iso8601(r.get<std::string>(5)))},
                   {"lines", order_lines(conn, last_id)}});
  }
  return out;
}

}  // namespace

json read_push_page(db::Connection& conn, events::EventDispatcher* events,
                    const std::string& sync_type, int64_t after, int limit, int64_t& last_id,
                    const Clock& clock) {
  if (sync_type == "inventory") return inventory_page(conn, events, after, limit, last_id, clock);
  return orders_page(conn, after, limit, last_id);
}

void record_page(db::Connection& conn, int64_t sync_id, int64_t records,
                 std::optional<int64_t> resume_at, const Clock& clock) {
  conn.execute(
      "UPDATE sync_logs SET pages = pages + 1, records = records + $3, resume_at = $4, "
      "updated_at = $5 WHERE tenant_id = $1 AND id = $2",
      {conn.require_tenant(), sync_id, records, db::opt_value(resume_at),
       format_iso8601(clock.now())});
}

}  // namespace unity::jobs::sync_detail
