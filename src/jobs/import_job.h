#pragma once
// ProcessBulkImport (the seed's job): imports a CSV file of products, customers, vendors or
// inventory receipts for one tenant, tracked by its import_logs row.
//
// - The file is read by CsvReader (RFC 4180, streaming). A first pass checks the whole file
//   (size ≤ kMaxImportBytes, CSV, UTF-8, at most IMPORT_MAX_COLUMNS fields in every record, a
//   header with every mapped column) and counts its rows; a file-level error fails the import
//   with one error at row 0 and writes nothing.
// - Columns: with a map (field → column header, `--map=sku=SKU,…`) each field reads its column;
//   without one, a header matching a field name case-insensitively. Other columns are ignored.
// - Every row is validated; good rows are written through the domain services (so their events
//   fire). Products upsert by SKU, customers and vendors by e-mail (case-insensitively), a chunk
//   at once: one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING of the chunk's first
//   occurrences (CatalogService::create_missing, CrmService::create_missing_customers,
//   ProcurementService::create_missing_vendors), their Created events appended in bulk
//   (ProductCreated, CustomerCreated; vendors have none), then the rows whose key existed or came
//   again, as updates in file order (a product's changed fields with ProductUpdated; a customer's
//   name and payment terms, a vendor's name). On PostgreSQL products can instead be streamed with
//   COPY into a temporary staging table, then moved by one INSERT … SELECT (COPY cannot write a
//   table with row-level security): ImportRunOptions::copy, off by default since it measured
//   slower than the multi-row INSERT. If the bulk attempt fails as a whole it is rolled back to a
//   savepoint and the chunk runs row by row, which gives each row its own error; the result is
//   the same rows, events and errors (tested). Inventory rows are receipts, row by row
//   (InventoryService::receive: a batch and a ledger row whose ids StockMovementRecorded
//   carries, the product locked, the on-hand limit checked after each row, the low-stock flag
//   maybe cleared — no natural key to match a multi-row RETURNING to its rows, so not in bulk). A
//   bad row is recorded in import_logs.errors as {"row","column","message"}, `row` as a spreadsheet
//   shows it (header = row 1), `column` the file's header (null for the whole row). At most
//   kMaxStoredErrors errors are stored; failed_rows counts them all.
// - Rows are written in chunks of `chunk_rows`, each in one transaction that also advances
//   import_logs (processed_rows, imported_rows, failed_rows, errors), so a redelivered job skips
//   the rows already committed and never imports a row twice. Status: pending → processing →
//   completed | completed_with_errors (some rows failed) | failed (file-level error).
// - The job is non-transactional (it commits its own chunks) and reads the copy of the upload the
//   dispatching command stored under STORAGE_PATH/imports/<id>.csv.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "db/connection.h"
#include "events/event_bus.h"
#include "queue/registry.h"

namespace unity::jobs {

inline constexpr const char* kProcessBulkImport = "ProcessBulkImport";
inline constexpr uint64_t kMaxImportBytes = uint64_t{1} << 30;  // 1 GiB
inline constexpr size_t kMaxStoredErrors = 1000;
inline constexpr int64_t kImportChunkRows = 500;

// products, customers, vendors, inventory.
const std::vector<std::string>& import_types();
// The fields of a type, required ones first; throws kInvalidArgument for an unknown type.
const std::vector<std::string>& import_fields(const std::string& type);

using ColumnMap = std::map<std::string, std::string>;  // field → column header
// Parses "sku=SKU,name=Product Name" (kInvalidArgument naming the bad part; unknown fields of
// `type` are rejected).
ColumnMap parse_column_map(const std::string& type, const std::string& spec);

// How the file of an import reaches `storage_path`/imports/<tenant>-<id>.csv.
enum class ImportFile {
  kCopy,  // copied: the caller's file stays (the CLI)
  kMove,  // renamed (same file system): an upload the server wrote under storage_path/imports,
          // which is removed when the import is refused
};

// Creates the import_logs row (pending) for `source` and copies (or moves) the file to
// `storage_path`/imports/<tenant>-<id>.csv, in one transaction. Throws kInvalidArgument for an
// unknown type, a file that cannot be read or one over kMaxImportBytes (nothing created).
int64_t create_import(db::Connection& conn, const std::string& storage_path,
                      const std::string& type, const std::string& source,
                      std::optional<int64_t> user_id, const Clock& clock = system_clock(),
                      ImportFile how = ImportFile::kCopy);

// The payload of a ProcessBulkImport job.
std::string import_payload(int64_t import_id, const ColumnMap& map, std::optional<int64_t> user);

// imports:show: {"id","status","total_rows","imported_rows","failed_rows","errors":[…]}.
// kNotFound when the tenant has no such import.
nlohmann::json import_status(db::Connection& conn, int64_t import_id);

// The worker's limits on imports (Config: IMPORT_MAX_COLUMNS).
struct ImportSettings {
  size_t max_columns = 1000;  // fields per record; a wider record fails the file
};

struct ImportRunOptions {
  int64_t chunk_rows = kImportChunkRows;
  size_t max_columns = ImportSettings{}.max_columns;
  std::function<void(int)> progress;  // 0–100
  std::function<bool()> cancelled;    // true: stop after the current chunk (throws kUnavailable)
  // false: every row through the row-by-row path (a lookup, a write and an event per row), the
  // reference the bulk path is tested and measured against.
  bool bulk = true;
  // Products on a connection that offers COPY (PostgreSQL): true streams each chunk into a
  // staging table with COPY, then one INSERT … SELECT; false (the default: measured faster at
  // 500-row chunks, docs/PERFORMANCE.md) uses the multi-row INSERT … VALUES.
  bool copy = false;
};

// Runs (or resumes) import `import_id` of the connection's tenant: the job's body.
void run_import(db::Connection& conn, events::EventDispatcher& events, int64_t import_id,
                const ColumnMap& map, std::optional<int64_t> user_id, const Clock& clock,
                const ImportRunOptions& options = {});

// Registers ProcessBulkImport (3 tries, 1 h timeout, backoff from 10 s, non-transactional). Its
// services dispatch their events on `events`; `events`, `clock` and `settings` (read at each
// attempt) must outlive the registry.
void register_import_job(queue::JobRegistry& registry, events::EventDispatcher& events,
                         const Clock& clock, const ImportSettings& settings);

}  // namespace unity::jobs
