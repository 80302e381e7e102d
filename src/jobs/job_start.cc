#include "jobs/job_start.h"

#include <filesystem>

#include "core/error.h"
#include "core/json.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "erp/catalog/catalog_service.h"
#include "jobs/import_job.h"
#include "jobs/rate_limit.h"

namespace unity::jobs {

namespace {

nlohmann::json opt(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json();
}

nlohmann::json dispatch_json(const queue::InsertedJob& job) {
  return {{"job_id", job.id}, {"uuid", job.uuid}, {"queue", job.queue}};
}

int64_t product_id_of(db::Connection& conn, const std::string& sku) {
  auto p = erp::catalog::load_product_by_sku(conn, sku);
  if (!p) throw not_found("product with SKU " + quote_for_message(sku) + " not found");
  return p->id;
}

// An integer is the product's id, anything else its SKU.
int64_t product_id_named(db::Connection& conn, const std::string& name) {
  auto p = erp::catalog::load_product_named(conn, name);
  if (!p) throw not_found("product " + quote_for_message(name) + " not found (by id or SKU)");
  return p->id;
}

int64_t location_id_of(db::Connection& conn, const std::string& code) {
  auto row = conn.query_one("SELECT id FROM locations WHERE tenant_id = $1 AND code = $2",
                            {conn.require_tenant(), code});
  if (!row) throw not_found("location " + quote_for_message(code) + " not found");
  return row->get<int64_t>(0);
}

void check_user(db::Connection& conn, const JobStarter& who) {
  if (who.user) db::find_user(conn, *who.user);
}

}  // namespace

void check_import_request(const std::string& type, const std::string& map_spec) {
  import_fields(type);
  parse_column_map(type, map_spec);
}

StartedJob start_import(db::Connection& conn, const JobStarter& who, const std::string& type,
                        const std::string& file, const std::string& map_spec, ImportFile how) {
  ColumnMap map;
  try {
    map = parse_column_map(type, map_spec);
    check_user(conn, who);
    limit_job_start(conn, who.config, "import", who.tenant, who.user);
  } catch (...) {
    if (how == ImportFile::kMove) {
      std::error_code ignored;
      std::filesystem::remove(file, ignored);
    }
    throw;
  }
  // From here create_import owns an uploaded file (moved, or removed when refused).
  const int64_t import_id =
      create_import(conn, who.config.storage_path, type, file, who.user, system_clock(), how);
  StartedJob out;
  out.id = import_id;
  out.job = who.dispatcher.dispatch(conn, who.tenant, kProcessBulkImport,
                                    import_payload(import_id, map, who.user));
  out.json = dispatch_json(out.job);
  out.json["import_id"] = import_id;
  if (who.runs_inline()) {
    const auto s = import_status(conn, import_id);
    for (const char* k : {"status", "total_rows", "imported_rows", "failed_rows"}) {
      out.json[k] = s[k];
    }
  }
  return out;
}

StartedJob start_report(db::Connection& conn, const JobStarter& who, ReportRequest request) {
  if (!who.user) throw invalid_argument("a report needs the user who requests it");
  db::find_user(conn, *who.user);
  request.user_id = who.user;
  validate_report_request(request);
  StartedJob out;
  db::Transaction tx(conn);
  limit_job_start(conn, who.config, "report", who.tenant, who.user);
  out.id = request_report(conn, request, who.config.storage_path, system_clock());
  try {
    out.job = who.dispatcher.dispatch(conn, who.tenant, kGenerateReports,
                                      dump_json(nlohmann::json{{"report_id", out.id}}));
  } catch (const Error& e) {
    // Under the sync driver the job ran inside the dispatch and its writes rolled back: the row
    // says why it failed.
    if (!who.runs_inline()) throw;
    mark_report_failed(conn, out.id, e.what(), system_clock());
    tx.commit();
    throw;
  }
  tx.commit();
  const auto row = load_report(conn, out.id);
  out.json = dispatch_json(out.job);
  out.json["report_id"] = out.id;
  out.json["status"] = row.status;
  out.json["path"] = opt(row.path);
  return out;
}

nlohmann::json report_json(const StoredReport& r) {
  return {{"id", r.id},
          {"status", r.status},
          {"report_type", r.report_type},
          {"format", r.format},
          {"file_name", opt(r.file_name)},
          {"path", opt(r.path)},
          {"parameters", parse_json_object(r.parameters, "parameters")},
          {"error_message", opt(r.error_message)},
          {"generated_at", opt(r.generated_at)},
          {"failed_at", opt(r.failed_at)}};
}

StartedJob start_bulk_notification(db::Connection& conn, const JobStarter& who,
                                   const std::string& kind,
                                   std::optional<std::vector<int64_t>> users, nlohmann::json data) {
  check_user(conn, who);
  BulkRequest request;
  request.kind = kind;
  request.data = std::move(data);
  request.users = std::move(users);
  request.requester = who.user;
  StartedJob out;
  db::Transaction tx(conn);
  limit_job_start(conn, who.config, "notify:bulk", who.tenant, who.user);
  out.id = create_bulk_notification(conn, request);
  out.job = who.dispatcher.dispatch(conn, who.tenant, kSendBulkNotifications,
                                    dump_json({{"bulk_id", out.id}}));
  tx.commit();
  out.json = dispatch_json(out.job);
  out.json["bulk_id"] = out.id;
  if (who.runs_inline()) {
    const auto status = load_bulk_notification(conn, out.id);
    out.json["status"] = status.status;
    out.json["sent"] = status.sent;
    out.json["skipped"] = status.skipped_count;
    out.json["skipped_ids"] = to_json(status)["skipped_ids"];
  }
  return out;
}

StartedJob start_valuation(db::Connection& conn, const JobStarter& who, const std::string& product,
                           const std::string& location) {
  check_user(conn, who);
  nlohmann::json payload = nlohmann::json::object();
  if (!product.empty()) payload["product_id"] = product_id_named(conn, product);
  if (!location.empty()) {
    location_id_of(conn, location);
    payload["location"] = location;
  }
  if (who.user) payload["user_id"] = *who.user;
  limit_job_start(conn, who.config, "valuation:recalculate", who.tenant, who.user);
  StartedJob out;
  out.job =
      who.dispatcher.dispatch(conn, who.tenant, kRecalculateInventoryValuation, dump_json(payload));
  out.json = dispatch_json(out.job);
  return out;
}

nlohmann::json valuations_json(db::Connection& conn, const std::optional<std::string>& sku,
                               const std::optional<std::string>& location) {
  ValuationScope scope;
  if (sku) scope.product_id = product_id_of(conn, *sku);
  if (location) scope.location_id = location_id_of(conn, *location);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& s : load_valuations(conn, scope)) {
    const auto& v = s.valuation;
    out.push_back({{"sku", s.sku},
                   {"location", opt(s.location)},
                   {"on_hand", v.on_hand.to_string()},
                   {"fifo_value", v.fifo_value.to_string()},
                   {"average_cost", v.average_cost.to_string()},
                   {"movements_count", v.movements},
                   {"calculated_at", s.calculated_at}});
  }
  return out;
}

namespace {

nlohmann::json sync_payload(int64_t sync_id, const std::optional<int64_t>& user) {
  nlohmann::json p = {{"sync_id", sync_id}};
  if (user) p["user_id"] = *user;
  return p;
}

}  // namespace

StartedJob start_sync_job(db::Connection& conn, const JobStarter& who, const std::string& type,
                          const std::string& direction, const std::string& endpoint) {
  const auto request = check_sync_request(type, direction, endpoint, who.config.sync_allowed_hosts);
  check_user(conn, who);
  limit_job_start(conn, who.config, "sync", who.tenant, who.user);
  StartedJob out;
  if (who.runs_inline()) {
    // The job runs inside dispatch and its failure rolls back what it wrote: the row is
    // committed first so that it can say why.
    out.id = start_sync(conn, request, system_clock());
    try {
      out.job = who.dispatcher.dispatch(conn, who.tenant, kSyncExternalData,
                                        dump_json(sync_payload(out.id, who.user)));
    } catch (const std::exception& e) {
      mark_sync_failed(conn, out.id, e.what(), system_clock());
      throw;
    }
  } else {
    db::Transaction tx(conn);  // the row exists if and only if its job does
    out.id = start_sync(conn, request, system_clock());
    out.job = who.dispatcher.dispatch(conn, who.tenant, kSyncExternalData,
                                      dump_json(sync_payload(out.id, who.user)));
    tx.commit();
  }
  const auto row = load_sync(conn, out.id);
  out.json = dispatch_json(out.job);
  out.json["sync_id"] = out.id;
  out.json["status"] = row ? row->status : "running";
  return out;
}

nlohmann::json sync_json(const SyncLog& s) {
  return {{"id", s.id},
          {"sync_type", s.sync_type},
          {"status", s.status},
          {"error_message", opt(s.error_message)},
          {"synced_at", opt(s.synced_at)},
          {"failed_at", opt(s.failed_at)},
          {"direction", s.direction},
          {"endpoint", s.endpoint},
          {"pages", s.pages},
          {"records", s.records},
          {"created_at", s.created_at}};
}

}  // namespace unity::jobs
