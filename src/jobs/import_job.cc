// The ProcessBulkImport job type (see import_job.h).
#include "jobs/import_job.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <set>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/decimal.h"
#include "core/error.h"
#include "core/json.h"
#include "core/text.h"
#include "db/transaction.h"
#include "erp/catalog/catalog_service.h"
#include "erp/crm/crm_service.h"
#include "erp/input.h"
#include "erp/inventory/inventory_service.h"
#include "erp/procurement/procurement_service.h"
#include "jobs/csv_reader.h"
#include "jobs/import_upserts.h"
#include "jobs/job_log.h"

namespace unity::jobs {

namespace fs = std::filesystem;

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

struct TypeSpec {
  std::vector<std::string> fields;
  size_t required;  // the first `required` fields must have a value
  std::vector<std::string> decimals;
  std::vector<std::string> integers;
};

const std::map<std::string, TypeSpec>& specs() {
  static const std::map<std::string, TypeSpec> s = {
      {"products",
       {{"sku", "name", "price", "cost", "reorder_level", "unit"},
        3,
        {"price", "cost", "reorder_level"},
        {}}},
      {"customers", {{"name", "email", "payment_terms_days"}, 2, {}, {"payment_terms_days"}}},
      {"vendors", {{"name", "email"}, 2, {}, {}}},
      {"inventory",
       {{"sku", "quantity", "location", "unit_cost", "batch", "expiry_date"},
        2,
        {"quantity", "unit_cost"},
        {}}},
  };
  return s;
}

const TypeSpec& spec_of(const std::string& type) {
  auto it = specs().find(type);
  if (it == specs().end()) {
    throw invalid_argument("unknown import type " + quote_for_message(type) +
                           " (expected products, customers, vendors or inventory)");
  }
  return it->second;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A file-level problem: the import fails with one error at row 0.
struct FileError {
  std::string message;
  std::optional<std::string> column;
};

struct Layout {
  std::vector<std::pair<size_t, size_t>> fields;  // field index (in the spec) → column index
  std::vector<std::string> header;
  std::map<std::string, std::string> column_of;  // field → its column's header
  size_t width = 0;
};

// Resolves the fields to header columns, or says what is missing.
std::optional<FileError> resolve(const TypeSpec& spec, const ColumnMap& map,
                                 const std::vector<std::string>& raw_header, Layout& out) {
  out.header.clear();
  for (const auto& h : raw_header) out.header.push_back(trim(h));
  out.width = out.header.size();
  auto find = [&](const std::string& name) -> std::optional<size_t> {
    for (size_t i = 0; i < out.header.size(); ++i) {
      if (out.header[i] == name) return i;
    }
    const std::string l = ascii_lower(name);
    for (size_t i = 0; i < out.header.size(); ++i) {
      if (ascii_lower(out.header[i]) == l) return i;
    }
    return std::nullopt;
  };
  for (size_t f = 0; f < spec.fields.size(); ++f) {
    const std::string& field = spec.fields[f];
    auto m = map.find(field);
    std::optional<size_t> idx;
    if (m != map.end()) {
      idx = find(m->second);
      if (!idx) {
        return FileError{"mapped column " + quote_for_message(m->second) + " (for field " + field +
                             ") is not in the header",
                         m->second};
      }
    } else {
      idx = find(field);
    }
    if (idx) {
      out.fields.emplace_back(f, *idx);
      out.column_of[field] = out.header[*idx];
    } else if (f < spec.required) {
      return FileError{"no column for required field " + field +
                           (map.empty() ? " (name a column " + field + " or use --map)"
                                        : " (add " + field + "=COLUMN to --map)"),
                       std::nullopt};
    }
  }
  return std::nullopt;
}

struct RowError {
  std::optional<std::string> column;
  std::string message;
};

// A row's checked values by field index (nullopt: no column, or an empty cell), trimmed.
using Values = std::vector<std::optional<std::string>>;

// One record of the file and what became of it.
struct Record {
  int64_t sheet_row = 0;  // as a spreadsheet shows it: header = 1
  std::vector<std::string> cells;
  Values values;
  std::optional<RowError> error;
};

class Importer {
 public:
  Importer(db::Connection& conn, events::EventDispatcher& events, std::string type,
           const Layout& layout, std::optional<int64_t> user, const Clock& clock, bool bulk,
           bool copy)
      : conn_(conn),
        events_(events),
        type_(std::move(type)),
        spec_(spec_of(type_)),
        layout_(layout),
        user_(user),
        clock_(clock),
        bulk_(bulk),
        load_(copy ? erp::catalog::CatalogService::BulkLoad::kCopy
                   : erp::catalog::CatalogService::BulkLoad::kInsert) {}

  // Validates and writes the records of one chunk, inside the caller's transaction, setting
  // each record's error (nothing is written for a bad one). Products, customers and vendors take
  // the bulk path (one multi-row INSERT … ON CONFLICT DO NOTHING of the chunk's new keys, events
  // appended in bulk, then the updates of the rows whose key existed); if it fails as a whole (a
  // key created concurrently, a listener refusing one event) it is rolled back and the chunk runs
  // row by row, which records the precise error of each row. Inventory rows are row by row.
  void write_chunk(std::vector<Record>& chunk) {
    for (auto& r : chunk) r.error = check(r);
    if (bulk_ && type_ != "inventory") {
      try {
        db::Transaction attempt(conn_);
        if (type_ == "products") {
          write_products(chunk);
        } else if (type_ == "customers") {
          write_customers(chunk);
        } else {
          write_vendors(chunk);
        }
        attempt.commit();
        return;
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kInternal || e.code() == ErrorCode::kUnavailable) throw;
        for (auto& r : chunk) r.error = check(r);
      }
    }
    for (auto& r : chunk) {
      if (r.error) continue;
      try {
        write_one(to_json(r.values));
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kInternal || e.code() == ErrorCode::kUnavailable) throw;
        r.error = RowError{column_for(e.what()), e.what()};
      }
    }
  }

 private:
  // The row's shape and values: every required field present, decimals and whole numbers
  // well-formed.
  std::optional<RowError> check(Record& r) const {
    if (r.cells.size() != layout_.width) {
      return RowError{std::nullopt, "the row has " + std::to_string(r.cells.size()) +
                                        " fields, the header has " + std::to_string(layout_.width)};
    }
    r.values.assign(spec_.fields.size(), std::nullopt);
    for (const auto& [f, idx] : layout_.fields) {
      const std::string& field = spec_.fields[f];
      std::string v = trim(r.cells[idx]);
      if (v.empty()) continue;
      if (contains(spec_.decimals, field)) {
        try {
          Decimal::parse(v);
        } catch (const Error& e) {
          return RowError{layout_.header[idx], field + ": " + e.what()};
        }
      }
      if (contains(spec_.integers, field)) {
        size_t used = 0;
        try {
          std::stoll(v, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != v.size()) {
          return RowError{layout_.header[idx],
                          field + ": " + quote_for_message(v) + " is not a whole number"};
        }
      }
      r.values[f] = std::move(v);
    }
    for (size_t f = 0; f < spec_.required; ++f) {
      if (!r.values[f]) return RowError{column(spec_.fields[f]), spec_.fields[f] + " is required"};
    }
    return std::nullopt;
  }

  std::optional<std::string> column(const std::string& field) const {
    auto it = layout_.column_of.find(field);
    if (it == layout_.column_of.end()) return std::nullopt;
    return it->second;
  }

  nlohmann::json to_json(const Values& values) const {
    nlohmann::json obj = nlohmann::json::object();
    for (size_t f = 0; f < values.size(); ++f) {
      if (!values[f]) continue;
      const std::string& field = spec_.fields[f];
      if (contains(spec_.integers, field)) {
        obj[field] = std::stoll(*values[f]);
      } else {
        obj[field] = *values[f];
      }
    }
    return obj;
  }

  // The column an error message is about: the first field it names, else the key's.
  std::optional<std::string> column_for(const std::string& message) const {
    const std::string m = ascii_lower(message);
    for (const auto& field : spec_.fields) {  // "field \"price\" …" names it exactly
      if (m.find('"' + field + '"') != std::string::npos && column(field)) return column(field);
    }
    for (const auto& field : spec_.fields) {
      if (m.find(field) != std::string::npos && column(field)) return column(field);
    }
    const std::string key = type_ == "customers" || type_ == "vendors" ? "email" : "sku";
    if (m.find(key == "email" ? "mail" : "sku") != std::string::npos) return column(key);
    return std::nullopt;
  }

  // products: sku, name, price, cost, reorder_level, unit (see specs()).
  static erp::catalog::ProductDraft draft_of(const Values& v) {
    erp::catalog::ProductDraft d;
    d.sku = *v[0];
    d.name = *v[1];
    d.price = Decimal::parse(*v[2]);
    if (v[3]) d.cost = Decimal::parse(*v[3]);
    if (v[4]) d.reorder_level = Decimal::parse(*v[4]);
    if (v[5]) d.unit = *v[5];
    return d;
  }

  // The bulk path for products; row-level problems become the rows' errors, anything else
  // throws (and the caller falls back to the row-by-row path).
  void write_products(std::vector<Record>& chunk) {
    namespace catalog = erp::catalog;
    std::vector<catalog::ProductDraft> drafts(chunk.size());
    for (size_t i = 0; i < chunk.size(); ++i) {
      Record& r = chunk[i];
      if (r.error) continue;
      drafts[i] = draft_of(r.values);
      try {
        drafts[i].check();
      } catch (const Error& e) {
        r.error = RowError{column_for(e.what()), e.what()};
      }
    }
    // First occurrences of SKUs are created together where no live product has them; every
    // other row updates the product its SKU names by then, in file order (so a SKU twice in a
    // chunk ends with its last row).
    std::vector<catalog::ProductDraft> creates;
    std::vector<size_t> first_rows, updates;
    std::set<std::string> seen;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (chunk[i].error) continue;
      if (seen.insert(drafts[i].sku).second) {
        first_rows.push_back(i);
        creates.push_back(drafts[i]);
      } else {
        updates.push_back(i);
      }
    }
    catalog::CatalogService service(conn_, events_, user_, clock_);
    const auto ids = service.create_missing(creates, load_);
    std::map<std::string, catalog::Product> current;
    std::vector<std::string> existing;
    for (size_t k = 0; k < creates.size(); ++k) {
      const auto& d = creates[k];
      if (!ids[k]) {
        existing.push_back(d.sku);
        updates.push_back(first_rows[k]);
        continue;
      }
      catalog::Product p;
      p.id = *ids[k];
      p.sku = d.sku;
      p.name = d.name;
      p.price = d.price;
      p.cost = d.cost;
      p.reorder_level = d.reorder_level;
      p.unit = d.unit;
      current.emplace(d.sku, std::move(p));
    }
    current.merge(catalog::load_products_by_sku(conn_, existing));
    std::sort(updates.begin(), updates.end());
    for (size_t i : updates) {
      const Values& v = chunk[i].values;
      const catalog::ProductDraft& d = drafts[i];
      auto found = current.find(d.sku);
      if (found == current.end()) {  // deleted since the INSERT saw it: take the row-by-row path
        throw failed_precondition("product " + quote_for_message(d.sku) + " changed meanwhile");
      }
      catalog::Product& before = found->second;
      catalog::ProductPatch patch;
      patch.id = before.id;
      if (d.name != before.name) patch.name = d.name;
      if (d.price != before.price) patch.price = d.price;
      if (v[3] && d.cost != before.cost) patch.cost = d.cost;
      if (v[4] && d.reorder_level != before.reorder_level) patch.reorder_level = d.reorder_level;
      if (v[5] && d.unit != before.unit) patch.unit = d.unit;
      if (!patch.name && !patch.price && !patch.cost && !patch.reorder_level && !patch.unit) {
        continue;  // nothing changes: no write, no event (as CatalogService::update)
      }
      try {
        before = service.update(patch);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kInternal || e.code() == ErrorCode::kUnavailable) throw;
        chunk[i].error = RowError{column_for(e.what()), e.what()};
      }
    }
  }

  // The drafts of the chunk's good rows, in `drafts[i]` for record i (through the same
  // from_json as the row-by-row path, so a bad row gets the same error), and which rows create
  // (the first of each key, case-insensitively) and which update (the others, in file order).
  template <typename Draft, typename Key>
  void plan(std::vector<Record>& chunk, std::vector<Draft>& drafts, Key key,
            std::vector<Draft>& creates, std::vector<size_t>& first_rows,
            std::vector<size_t>& updates) const {
    drafts.resize(chunk.size());
    std::set<std::string> seen;
    for (size_t i = 0; i < chunk.size(); ++i) {
      Record& r = chunk[i];
      if (r.error) continue;
      try {
        drafts[i] = Draft::from_json(to_json(r.values));
      } catch (const Error& e) {
        r.error = RowError{column_for(e.what()), e.what()};
        continue;
      }
      if (seen.insert(ascii_lower(key(drafts[i]))).second) {
        first_rows.push_back(i);
        creates.push_back(drafts[i]);
      } else {
        updates.push_back(i);
      }
    }
  }

  // The bulk path for customers (keyed by e-mail): CrmService::create_missing_customers, then
  // update_customer_by_email for the rows whose e-mail existed, in file order.
  void write_customers(std::vector<Record>& chunk) {
    using erp::crm::CustomerDraft;
    std::vector<CustomerDraft> drafts, creates;
    std::vector<size_t> first_rows, updates;
    plan(
        chunk, drafts, [](const CustomerDraft& d) { return *d.email; }, creates, first_rows,
        updates);
    const auto ids =
        erp::crm::CrmService(conn_, events_, user_, clock_).create_missing_customers(creates);
    for (size_t k = 0; k < creates.size(); ++k) {
      if (!ids[k]) updates.push_back(first_rows[k]);
    }
    std::sort(updates.begin(), updates.end());
    const std::string now = format_iso8601(clock_.now());
    for (size_t i : updates) {
      const CustomerDraft& d = drafts[i];
      std::optional<int64_t> terms;
      if (chunk[i].values[2]) terms = d.payment_terms_days;
      if (!update_customer_by_email(conn_, *d.email, d.name, terms, now)) {
        // gone since the INSERT saw it: take the row-by-row path
        throw failed_precondition("customer " + quote_for_message(*d.email) + " changed meanwhile");
      }
    }
  }

  // The bulk path for vendors (keyed by e-mail): ProcurementService::create_missing_vendors, then
  // update_vendor_by_email for the rows whose e-mail existed, in file order.
  void write_vendors(std::vector<Record>& chunk) {
    using erp::procurement::VendorDraft;
    std::vector<VendorDraft> drafts, creates;
    std::vector<size_t> first_rows, updates;
    plan(
        chunk, drafts, [](const VendorDraft& d) { return d.email; }, creates, first_rows, updates);
    const auto ids = erp::procurement::ProcurementService(conn_, events_, user_, clock_)
                         .create_missing_vendors(creates);
    for (size_t k = 0; k < creates.size(); ++k) {
      if (!ids[k]) updates.push_back(first_rows[k]);
    }
    std::sort(updates.begin(), updates.end());
    const std::string now = format_iso8601(clock_.now());
    for (size_t i : updates) {
      if (!update_vendor_by_email(conn_, drafts[i].email, drafts[i].name, now)) {
        throw failed_precondition("vendor " + quote_for_message(drafts[i].email) +
                                  " changed meanwhile");
      }
    }
  }

  // The row-by-row path: one record through the domain service.
  void write_one(const nlohmann::json& obj) {
    const std::string now = format_iso8601(clock_.now());
    if (type_ == "products") {
      erp::catalog::CatalogService catalog(conn_, events_, user_, clock_);
      if (auto existing = erp::catalog::load_product_by_sku(conn_, obj.at("sku"))) {
        nlohmann::json patch = obj;
        patch.erase("sku");
        patch["id"] = existing->id;
        erp::catalog::ProductDraft::from_json(obj);  // the same checks as a new product
        catalog.update(erp::catalog::ProductPatch::from_json(patch));
      } else {
        catalog.create(erp::catalog::ProductDraft::from_json(obj));
      }
    } else if (type_ == "customers") {
      const auto draft = erp::crm::CustomerDraft::from_json(obj);
      std::optional<int64_t> terms;
      if (obj.contains("payment_terms_days")) terms = draft.payment_terms_days;
      if (!update_customer_by_email(conn_, *draft.email, draft.name, terms, now)) {
        erp::crm::CrmService(conn_, events_, user_, clock_).create_customer(draft);
      }
    } else if (type_ == "vendors") {
      const auto draft = erp::procurement::VendorDraft::from_json(obj);
      if (!update_vendor_by_email(conn_, draft.email, draft.name, now)) {
        erp::procurement::ProcurementService(conn_, events_, user_, clock_).create_vendor(draft);
      }
    } else {
      erp::inventory::InventoryService(conn_, events_, user_, clock_)
          .receive(erp::inventory::Receipt::from_json(obj));
    }
  }

  db::Connection& conn_;
  events::EventDispatcher& events_;
  std::string type_;
  const TypeSpec& spec_;
  const Layout& layout_;
  std::optional<int64_t> user_;
  const Clock& clock_;
  bool bulk_;
  erp::catalog::CatalogService::BulkLoad load_;
};

nlohmann::json error_entry(int64_t row, const std::optional<std::string>& column,
                           const std::string& message) {
  return {{"row", row},
          {"column", column ? nlohmann::json(*column) : nlohmann::json()},
          {"message", message}};
}

void mark_failed(db::Connection& conn, int64_t id, const std::string& message,
                 const std::optional<std::string>& column, const Clock& clock) {
  const std::string now = format_iso8601(clock.now());
  nlohmann::json errors = nlohmann::json::array({error_entry(0, column, message)});
  conn.execute(
      "UPDATE import_logs SET status = 'failed', errors = $1, failed_at = $2, updated_at = $2 "
      "WHERE tenant_id = $3 AND id = $4",
      {dump_json(errors), now, conn.require_tenant(), id});
}

// The first pass: the whole file is CSV and UTF-8, the header has the columns; counts the rows.
std::optional<FileError> check_file(const std::string& path, const TypeSpec& spec,
                                    const ColumnMap& map, size_t max_columns, int64_t& rows) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return FileError{"cannot read the import file: " + ec.message(), std::nullopt};
  if (size > kMaxImportBytes) {
    return FileError{"the file is too large: " + std::to_string(size) + " bytes (the limit is " +
                         std::to_string(kMaxImportBytes) + ")",
                     std::nullopt};
  }
  try {
    CsvReader reader(path, max_columns);
    std::vector<std::string> record;
    if (!reader.next(record)) return FileError{"the file is empty: no header row", std::nullopt};
    Layout layout;
    if (auto e = resolve(spec, map, record, layout)) return e;
    rows = reader.skip_rest();
  } catch (const CsvError& e) {
    return FileError{e.what(), std::nullopt};
  }
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& import_types() {
  static const std::vector<std::string> t = {"products", "customers", "vendors", "inventory"};
  return t;
}

const std::vector<std::string>& import_fields(const std::string& type) {
  return spec_of(type).fields;
}

ColumnMap parse_column_map(const std::string& type, const std::string& spec) {
  const TypeSpec& ts = spec_of(type);
  ColumnMap out;
  size_t start = 0;
  while (start <= spec.size() && !spec.empty()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string::npos) comma = spec.size();
    const std::string part = spec.substr(start, comma - start);
    const size_t eq = part.find('=');
    if (eq == std::string::npos || trim(part.substr(0, eq)).empty() ||
        trim(part.substr(eq + 1)).empty()) {
      throw invalid_argument("--map: " + quote_for_message(part) +
                             " is not field=Column (e.g. --map=sku=SKU,name=Name)");
    }
    const std::string field = ascii_lower(trim(part.substr(0, eq)));
    if (!contains(ts.fields, field)) {
      std::string known;
      for (const auto& f : ts.fields) known += (known.empty() ? "" : ", ") + f;
      throw invalid_argument("--map: unknown field " + quote_for_message(field) + " for " + type +
                             " (fields: " + known + ")");
    }
    if (out.count(field)) throw invalid_argument("--map: field " + field + " is mapped twice");
    out[field] = trim(part.substr(eq + 1));
    start = comma + 1;
  }
  return out;
}

int64_t create_import(db::Connection& conn, const std::string& storage_path,
                      const std::string& type, const std::string& source,
                      std::optional<int64_t> user_id, const Clock& clock, ImportFile how) {
  // A refused upload leaves nothing behind; a moved one is no longer at `source`.
  struct RemoveUpload {
    const std::string& path;
    bool armed;
    ~RemoveUpload() {
      std::error_code ignored;
      if (armed) fs::remove(path, ignored);
    }
  } remove_upload{source, how == ImportFile::kMove};
  spec_of(type);
  std::error_code ec;
  if (!fs::is_regular_file(source, ec)) {
    throw invalid_argument("cannot read " + quote_for_message(source) + ": not a file");
  }
  const auto size = fs::file_size(source, ec);
  if (ec) throw invalid_argument("cannot read " + quote_for_message(source) + ": " + ec.message());
  if (size > kMaxImportBytes) {
    throw invalid_argument(quote_for_message(source) + " is too large: " + std::to_string(size) +
                           " bytes (the limit is " + std::to_string(kMaxImportBytes) + ")");
  }
  const fs::path dir = fs::path(storage_path) / "imports";
  fs::create_directories(dir, ec);
  if (ec) throw internal_error("cannot create " + dir.string() + ": " + ec.message());
  const std::string now = format_iso8601(clock.now());
  db::Transaction tx(conn);
  const int64_t tenant = conn.require_tenant();
  const int64_t id = conn.query_int(
      "INSERT INTO import_logs (tenant_id, user_id, import_type, file_path, status, created_at, "
      "updated_at) VALUES ($1, $2, $3, '', 'pending', $4, $4) RETURNING id",
      {tenant, user_id ? db::Value{*user_id} : db::kNull, type, now});
  const fs::path dest = dir / (std::to_string(tenant) + "-" + std::to_string(id) + ".csv");
  conn.execute("UPDATE import_logs SET file_path = $1 WHERE id = $2",
               {fs::absolute(dest).string(), id});
  if (how == ImportFile::kMove) {
    fs::rename(source, dest, ec);
  } else {
    fs::copy_file(source, dest, fs::copy_options::overwrite_existing, ec);
  }
  if (!ec) fs::permissions(dest, fs::perms::owner_read | fs::perms::owner_write, ec);  // not 0644
  if (ec) {
    const std::string why = ec.message();
    fs::remove(dest, ec);
    throw invalid_argument("cannot store " + quote_for_message(source) + ": " + why);
  }
  try {
    tx.commit();
  } catch (...) {
    fs::remove(dest, ec);
    throw;
  }
  remove_upload.armed = false;
  return id;
}

std::string import_payload(int64_t import_id, const ColumnMap& map, std::optional<int64_t> user) {
  nlohmann::json p = {{"import_id", import_id}, {"map", map}};
  if (user) p["user_id"] = *user;
  return dump_json(p);
}

nlohmann::json import_status(db::Connection& conn, int64_t import_id) {
  auto row = conn.query_one(
      "SELECT id, status, total_rows, imported_rows, failed_rows, errors FROM import_logs "
      "WHERE tenant_id = $1 AND id = $2",
      {conn.require_tenant(), import_id});
  if (!row) throw not_found("import " + std::to_string(import_id) + " not found");
  nlohmann::json errors = nlohmann::json::parse(row->get<std::string>(5));
  return {{"id", row->get<int64_t>(0)},          {"status", row->get<std::string>(1)},
          {"total_rows", row->get<int64_t>(2)},  {"imported_rows", row->get<int64_t>(3)},
          {"failed_rows", row->get<int64_t>(4)}, {"errors", errors}};
}

void run_import(db::Connection& conn, events::EventDispatcher& events, int64_t import_id,
                const ColumnMap& map, std::optional<int64_t> user_id, const Clock& clock,
                const ImportRunOptions& options) {
  const int64_t tenant = conn.require_tenant();
  auto row = conn.query_one(
      "SELECT import_type, file_path, status, processed_rows, imported_rows, failed_rows, errors "
      "FROM import_logs WHERE tenant_id = $1 AND id = $2",
      {tenant, import_id});
  if (!row) throw not_found("import " + std::to_string(import_id) + " not found");
  const std::string type = row->get<std::string>(0);
  const std::string path = row->get<std::string>(1);
  const std::string status = row->get<std::string>(2);
  if (status != "pending" && status != "processing") return;  // already finished
  int64_t processed = row->get<int64_t>(3);
  int64_t imported = row->get<int64_t>(4);
  int64_t failed = row->get<int64_t>(5);
  nlohmann::json errors = nlohmann::json::parse(row->get<std::string>(6));

  auto it = specs().find(type);
  if (it == specs().end()) {
    mark_failed(conn, import_id, "unknown import type " + quote_for_message(type), std::nullopt,
                clock);
    return;
  }
  const TypeSpec& spec = it->second;
  for (const auto& [field, column] : map) {
    if (!contains(spec.fields, field)) {
      mark_failed(conn, import_id, "unknown field " + quote_for_message(field) + " in the map",
                  std::nullopt, clock);
      return;
    }
  }
  int64_t total = 0;
  if (auto e = check_file(path, spec, map, options.max_columns, total)) {
    mark_failed(conn, import_id, e->message, e->column, clock);
    return;
  }
  conn.execute(
      "UPDATE import_logs SET status = 'processing', total_rows = $1, updated_at = $2 "
      "WHERE tenant_id = $3 AND id = $4",
      {total, format_iso8601(clock.now()), tenant, import_id});
  if (options.progress) options.progress(total == 0 ? 0 : int(processed * 100 / total));

  CsvReader reader(path, options.max_columns);
  std::vector<std::string> record;
  reader.next(record);
  Layout layout;
  resolve(spec, map, record, layout);
  for (int64_t skipped = 0; skipped < processed && reader.next(record); ++skipped) {
  }
  Importer importer(conn, events, type, layout, user_id, clock, options.bulk, options.copy);
  bool more = true;
  std::vector<Record> chunk;
  while (more) {
    if (options.cancelled && options.cancelled()) {
      throw unavailable("import " + std::to_string(import_id) + " interrupted at row " +
                        std::to_string(processed + 1) + "; it resumes there");
    }
    chunk.resize(static_cast<size_t>(std::max<int64_t>(options.chunk_rows, 1)));
    size_t n = 0;
    for (; n < chunk.size(); ++n) {
      if (!reader.next(chunk[n].cells)) {
        more = false;
        break;
      }
      chunk[n].sheet_row = reader.record();
    }
    chunk.resize(n);
    db::Transaction tx(conn);
    const size_t errors_before = errors.size();
    importer.write_chunk(chunk);
    for (const auto& r : chunk) {
      if (r.error) {
        ++failed;
        if (errors.size() < kMaxStoredErrors) {
          errors.push_back(error_entry(r.sheet_row, r.error->column, r.error->message));
        }
      } else {
        ++imported;
      }
    }
    processed += static_cast<int64_t>(n);
    const std::string now = format_iso8601(clock.now());
    if (errors.size() != errors_before) {
      conn.execute(
          "UPDATE import_logs SET processed_rows = $1, imported_rows = $2, failed_rows = $3, "
          "errors = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7",
          {processed, imported, failed, dump_json(errors), now, tenant, import_id});
    } else {
      conn.execute(
          "UPDATE import_logs SET processed_rows = $1, imported_rows = $2, failed_rows = $3, "
          "updated_at = $4 WHERE tenant_id = $5 AND id = $6",
          {processed, imported, failed, now, tenant, import_id});
    }
    if (!more) {
      conn.execute(
          "UPDATE import_logs SET status = $1, completed_at = $2 WHERE tenant_id = $3 AND id = $4",
          {std::string(failed > 0 ? "completed_with_errors" : "completed"), now, tenant,
           import_id});
    }
    tx.commit();
    if (options.progress) options.progress(total == 0 ? 100 : int(processed * 100 / total));
  }
}

namespace {

// The import has ended (completed or failed): its copy of the file is no longer needed.
void remove_import_copy(db::Connection& conn, int64_t import_id) {
  auto row = conn.query_one(
      "SELECT file_path FROM import_logs WHERE tenant_id = $1 AND id = $2 "
      "AND status NOT IN ('pending', 'processing')",
      {conn.require_tenant(), import_id});
  std::error_code ec;
  if (row && !row->get<std::string>(0).empty()) fs::remove(row->get<std::string>(0), ec);
}

class ProcessBulkImport final : public queue::Job {
 public:
  ProcessBulkImport(events::EventDispatcher& events, const Clock& clock,
                    const ImportSettings& settings)
      : events_(events), clock_(clock), settings_(settings) {}

  void handle(queue::JobContext& ctx) override {
    const JobLog log(ctx);
    int64_t id = 0;
    try {
      const auto payload = parse_json_object(ctx.payload(), "the ProcessBulkImport payload");
      erp::reject_unknown_fields(payload, {"import_id", "map", "user_id"});
      id = require_int(payload, "import_id");
      ColumnMap map;
      if (payload.contains("map")) map = payload.at("map").get<ColumnMap>();
      const auto user = optional_int(payload, "user_id");
      log.step("started", {{"import_id", id}, {"map", map}});
      const auto t0 = std::chrono::steady_clock::now();
      ImportRunOptions options;
      options.max_columns = settings_.max_columns;
      options.progress = [&ctx](int p) { ctx.progress(p); };
      options.cancelled = [&ctx] { return ctx.cancelled(); };
      run_import(ctx.db(), events_, id, map, user, clock_, options);
      remove_import_copy(ctx.db(), id);
      const auto status = import_status(ctx.db(), id);
      log.step("finished", {{"import_id", id},
                            {"status", status["status"]},
                            {"total_rows", status["total_rows"]},
                            {"imported_rows", status["imported_rows"]},
                            {"failed_rows", status["failed_rows"]},
                            {"duration_ms", std::chrono::duration<double, std::milli>(
                                                std::chrono::steady_clock::now() - t0)
                                                .count()}});
    } catch (const nlohmann::json::exception& e) {
      log.step("error", {{"error", e.what()}, {"retry", false}});
      if (ctx.attempt() < ctx.max_tries()) ctx.fail(e.what());
      throw invalid_argument(std::string("the ProcessBulkImport payload: ") + e.what());
    } catch (const Error& e) {
      const bool permanent = e.code() == ErrorCode::kInvalidArgument ||
                             e.code() == ErrorCode::kNotFound ||
                             e.code() == ErrorCode::kFailedPrecondition;
      log.step("error", {{"import_id", id}, {"error", e.what()}, {"retry", !permanent}});
      if (permanent && ctx.attempt() < ctx.max_tries()) ctx.fail(e.what());
      throw;
    }
  }

  // Given up: the import row says so (committed chunks stay; the errors say where it stopped).
  void failed(queue::JobContext& ctx, const std::string& error) override {
    JobLog(ctx).step("failed", {{"error", error}});
    try {
      const auto payload = parse_json_object(ctx.payload(), "the ProcessBulkImport payload");
      const int64_t id = payload.at("import_id").get<int64_t>();
      db::Connection& conn = ctx.db();
      auto row = conn.query_one(
          "SELECT status, processed_rows, errors FROM import_logs WHERE tenant_id = $1 AND id = $2",
          {conn.require_tenant(), id});
      if (!row) return;
      const std::string status = row->get<std::string>(0);
      if (status != "pending" && status != "processing") return;
      nlohmann::json errors = nlohmann::json::parse(row->get<std::string>(2));
      errors.push_back(error_entry(
          0, std::nullopt,
          "the import failed after " + std::to_string(row->get<int64_t>(1)) + " rows: " + error));
      const std::string now = format_iso8601(clock_.now());
      conn.execute(
          "UPDATE import_logs SET status = 'failed', errors = $1, failed_at = $2, "
          "updated_at = $2 WHERE tenant_id = $3 AND id = $4",
          {dump_json(errors), now, conn.require_tenant(), id});
      remove_import_copy(conn, id);
    } catch (const std::exception&) {
      // The payload was unreadable: there is no row to mark.
    }
  }

 private:
  events::EventDispatcher& events_;
  const Clock& clock_;
  const ImportSettings& settings_;
};

}  // namespace

void register_import_job(queue::JobRegistry& registry, events::EventDispatcher& events,
                         const Clock& clock, const ImportSettings& settings) {
  registry.add(
      kProcessBulkImport,
      {.tries = 3,
       .timeout_s = 3600,
       .backoff = queue::Backoff::exponential(std::chrono::seconds(10), std::chrono::minutes(10)),
       .transactional = false},
      [&events, &clock, &settings] {
        return std::make_unique<ProcessBulkImport>(events, clock, settings);
      });
}

}  // namespace unity::jobs
