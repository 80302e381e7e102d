#pragma once
// GenerateReports (the seed's job): a tenant's sales, inventory, financial, customer or
// procurement report for a date range, written as CSV, JSON, XLSX or PDF under STORAGE_PATH,
// tracked by a `reports` row and announced to its requester with ReportGeneratedNotification.
//
// Flow: request_report() records the request (status pending, with the file's final path) and the
// `report` command dispatches the job with {"report_id"} in the same transaction. The job marks
// the row processing, reads the tenant's rows (build_report), writes the file to `path + ".part"`
// and renames it to `path`, then, in one transaction, marks the row completed and writes the
// requester's notification. A report that is already completed is not written again
// (redelivery). When the job is given up, failed() removes any file it wrote and marks the row
// failed with the error (mark_report_failed()): a reader never sees a half-written report.
//
// Figures: decimals are read as the ledger and invoices store them and summed exactly with
// unity::Decimal (never in SQL). Dates are YYYY-MM-DD, inclusive, in UTC: --from 2026-03-01 --to
// 2026-03-31 covers [2026-03-01T00:00Z, 2026-04-01T00:00Z). What each report holds:
//   sales        fulfilled orders whose fulfilment falls in the range: sections "orders" (one row
//                per order), "products" (per product: quantity, revenue, cost of goods, margin)
//                and "totals". Revenue = Σ line_total, cost of goods = Σ the lines' FIFO cost.
//   inventory    the stock ledger replayed FIFO up to the end of --to: "stock" (per product and
//                location with stock: on hand, FIFO value, average cost) and "totals". --from is
//                recorded but does not filter (a position is as of a date).
//   financial    "invoices" issued in the range (total, paid, balance), "payments" received in
//                the range and "totals": invoiced, payments received, outstanding (Σ balance of
//                the range's invoices) and overdue (the part of it whose invoice is marked overdue
//                or was due before --to).
//   customer     per customer: fulfilled orders in the range, spent (Σ their totals), and the
//                outstanding balance of all the customer's invoices.
//   procurement  "purchase_orders" created in the range, "receipts" (goods received in the range,
//                valued at the order's unit cost), "vendors" (per vendor totals) and "totals".

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "db/connection.h"
#include "jobs/report_writers.h"
#include "queue/registry.h"

namespace unity::jobs {

inline constexpr const char* kGenerateReports = "GenerateReports";

bool is_report_type(std::string_view type);

struct ReportRequest {
  std::string report_type;  // sales | inventory | financial | customer | procurement
  std::string format;       // csv | json | xlsx | pdf
  std::string from, to;     // YYYY-MM-DD, from <= to
  std::optional<int64_t> user_id;
};

// Checks the request: type, format and dates (kInvalidArgument naming the flag).
void validate_report_request(const ReportRequest& request);

// Inserts the pending `reports` row of the connection's tenant for a valid request, with
// file_name "{type}-{from}-{to}-{id}.{format}" and the absolute path
// "{storage_path}/reports/{tenant}/{file_name}" (a relative storage_path is resolved in the
// current directory; the file is created 0640). Returns its id. In the caller's transaction.
int64_t request_report(db::Connection& conn, const ReportRequest& request,
                       const std::string& storage_path, const Clock& clock);

// A `reports` row as reports:show prints it.
struct StoredReport {
  int64_t id = 0;
  std::string report_type, status, format;
  std::optional<std::string> file_name, path, error_message, generated_at, failed_at;
  std::optional<int64_t> user_id;
  std::string parameters;  // JSON object: {"from","to","format"}
};
// The connection tenant's report `id`; kNotFound when there is none.
StoredReport load_report(db::Connection& conn, int64_t id);

// Removes the report's file and its partial file if any, and marks the row failed with `error`
// (unless it is completed). For Job::failed() and for the sync driver's caller.
void mark_report_failed(db::Connection& conn, int64_t id, const std::string& error,
                        const Clock& clock);

// Reads the tenant's rows and builds the report (see the header comment). `cancelled` is polled
// every 4096 rows; true → Error(kDeadlineExceeded). Errors: unknown type → kInvalidArgument; an
// oversold ledger (inventory) → kFailedPrecondition; database errors as the driver throws them.
Report build_report(db::Connection& conn, const ReportRequest& request,
                    const std::string& generated_at, const std::function<bool()>& cancelled = {});

// The half-open UTC interval of an inclusive date range, as stored timestamps sort:
// {"2026-03-01T00:00:00.000000Z", "2026-04-01T00:00:00.000000Z"}.
std::pair<std::string, std::string> report_interval(const std::string& from, const std::string& to);

// The sales report's one streaming query (order lines of fulfilled orders in the interval, by
// order): exposed so the benchmark times the job's own query. Parameters: tenant, start, end.
extern const char* const kSalesLinesSql;

// Registers GenerateReports: 3 tries, 1800 s timeout, backoff 30 s then 2 min then 5 min,
// non-transactional (its file outlives a transaction; the row is its idempotency key). Payload:
// {"report_id": id}. A missing row or a bad request gives the job up at once. `clock` stamps
// generated_at/failed_at and must outlive the registry.
void register_report_job(queue::JobRegistry& registry, const Clock& clock);

}  // namespace unity::jobs
