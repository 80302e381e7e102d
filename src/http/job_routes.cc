// The routes that start jobs and show them (DESIGN.md's table): imports, reports, bulk
// notifications, valuations, syncs. Each calls the jobs::start_* function its CLI twin calls
// (jobs/job_start.h) and answers 202 with the twin's --json dispatch object; the shows answer the
// twins' *:show objects, the lists {"data":[…],"next_cursor"}.
#include <charconv>
#include <filesystem>

#include "core/error.h"
#include "core/json.h"
#include "erp/input.h"
#include "http/route.h"
#include "jobs/import_job.h"
#include "jobs/job_start.h"
#include "jobs/report_job.h"
#include "jobs/sync_job.h"

namespace unity::http {

namespace {

using Call = Api::Call;

jobs::JobStarter starter(const Call& c) {
  return {c.config, c.dispatcher, c.who.tenant_id, c.who.user_id};
}

std::string query_or(const Call& c, const std::string& key, const std::string& fallback = "") {
  auto it = c.query.find(key);
  return it == c.query.end() ? fallback : it->second;
}

// The integer a cursor carries (what the previous page ended on).
int64_t cursor_value(const Call& c, int64_t fallback) {
  auto it = c.query.find("cursor");
  if (it == c.query.end()) return fallback;
  const std::string text = decode_cursor(it->second);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
    throw invalid_argument("malformed cursor: pass next_cursor from the previous page as it is");
  }
  return v;
}

// --- imports ---------------------------------------------------------------------------------

// Products and inventory receipts are the inventory team's, customers sales', vendors
// procurement's (as the routes creating them one by one).
Access import_access(const Call& c) {
  const std::string& type = c.params.at(0);
  if (type == "customers") return Access::kSales;
  if (type == "vendors") return Access::kProcurement;
  return Access::kInventory;
}

// Before the upload is read: the type, the map and the body's type.
void check_import(const Call& c) {
  jobs::check_import_request(c.params.at(0), query_or(c, "map"));
  std::string type = c.request.content_type.substr(0, c.request.content_type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  if (type != "text/csv") {
    throw invalid_argument("send the CSV file as the request body with Content-Type: text/csv");
  }
}

Response create_import(Call& c) {
  if (c.request.body_file.empty()) {
    throw invalid_argument("send the CSV file as the request body with Content-Type: text/csv");
  }
  const auto started = jobs::start_import(c.conn, starter(c), c.params[0], c.request.body_file,
                                          query_or(c, "map"), jobs::ImportFile::kMove);
  return json_response(202, started.json);
}

Response show_import(Call& c) {
  return json_response(200, jobs::import_status(c.conn, c.id_param()));
}

// --- reports ---------------------------------------------------------------------------------

Response create_report(Call& c) {
  const nlohmann::json body = c.body();
  erp::reject_unknown_fields(body, {"type", "from", "to", "format"});
  jobs::ReportRequest request;
  request.report_type = require_string(body, "type");
  request.from = require_string(body, "from");
  request.to = require_string(body, "to");
  request.format = require_string(body, "format");
  return json_response(202, jobs::start_report(c.conn, starter(c), request).json);
}

Response show_report(Call& c) {
  return json_response(200, jobs::report_json(jobs::load_report(c.conn, c.id_param())));
}

std::string report_content_type(const std::string& format) {
  if (format == "csv") return "text/csv; charset=utf-8";
  if (format == "xlsx") return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  if (format == "pdf") return "application/pdf";
  return "application/json";
}

Response report_file(Call& c) {
  const auto r = jobs::load_report(c.conn, c.id_param());
  if (r.status != "completed" || !r.path || !r.file_name) {
    throw failed_precondition("report " + std::to_string(r.id) + " is " + r.status +
                              ": its file exists once it is completed");
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(*r.path, ec)) {
    throw not_found("the file of report " + std::to_string(r.id) + " is no longer stored");
  }
  Response res;
  res.content_type = report_content_type(r.format);
  res.file = *r.path;
  res.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + *r.file_name + "\"");
  return res;
}

// --- bulk notifications, valuations, syncs ---------------------------------------------------

// {"users": "all" | [ids], "type": "announcement"|"reminder"|"alert", "data": {"title",…}}.
Response create_bulk_notification(Call& c) {
  const nlohmann::json body = c.body();
  erp::reject_unknown_fields(body, {"users", "type", "data"});
  if (!body.contains("users")) throw invalid_argument("users: required (\"all\" or user ids)");
  std::optional<std::vector<int64_t>> users;
  const auto& u = body["users"];
  if (u.is_array()) {
    users.emplace();
    for (const auto& id : u) {
      if (!id.is_number_integer()) throw invalid_argument("users: user ids are integers");
      users->push_back(id.get<int64_t>());
    }
  } else if (u != "all") {
    throw invalid_argument("users: \"all\" or an array of user ids");
  }
  nlohmann::json data = body.contains("data") ? body["data"] : nlohmann::json::object();
  if (!data.is_object()) throw invalid_argument("data: a JSON object");
  return json_response(
      202, jobs::start_bulk_notification(c.conn, starter(c), require_string(body, "type"),
                                         std::move(users), std::move(data))
               .json);
}

// {"product"?: id or SKU, "location"?: code}.
Response recalculate_valuations(Call& c) {
  const nlohmann::json body = c.body();
  erp::reject_unknown_fields(body, {"product", "location"});
  return json_response(
      202, jobs::start_valuation(c.conn, starter(c), optional_string(body, "product").value_or(""),
                                 optional_string(body, "location").value_or(""))
               .json);
}

// ?sku=&location=: valuation:show's rows, a page at a time (the cursor is the rows seen).
Response list_valuations(Call& c) {
  auto sku = c.query.find("sku");
  auto location = c.query.find("location");
  const nlohmann::json all = jobs::valuations_json(
      c.conn, sku == c.query.end() ? std::nullopt : std::optional(sku->second),
      location == c.query.end() ? std::nullopt : std::optional(location->second));
  const int limit = c.limit();
  const auto from = static_cast<size_t>(cursor_value(c, 0));
  nlohmann::json data = nlohmann::json::array();
  for (size_t i = from; i < all.size() && data.size() < static_cast<size_t>(limit); ++i) {
    data.push_back(all[i]);
  }
  std::optional<std::string> next;
  if (from + data.size() < all.size()) next = encode_cursor(std::to_string(from + data.size()));
  return json_response(200, page_json(std::move(data), next));
}

// {"type", "endpoint", "direction"?}.
Response create_sync(Call& c) {
  const nlohmann::json body = c.body();
  erp::reject_unknown_fields(body, {"type", "endpoint", "direction"});
  return json_response(202, jobs::start_sync_job(c.conn, starter(c), require_string(body, "type"),
                                                 optional_string(body, "direction").value_or(""),
                                                 require_string(body, "endpoint"))
                                .json);
}

// syncs:list's rows, newest first (the cursor is the last id seen).
Response list_syncs(Call& c) {
  const int limit = c.limit();
  std::optional<int64_t> before;
  if (c.query.count("cursor")) before = cursor_value(c, 0);
  auto rows = jobs::load_syncs(c.conn, limit + 1, before);
  std::optional<std::string> next;
  if (static_cast<int>(rows.size()) > limit) {
    rows.resize(limit);
    next = encode_cursor(std::to_string(rows.back().id));
  }
  nlohmann::json data = nlohmann::json::array();
  for (const auto& s : rows) data.push_back(jobs::sync_json(s));
  return json_response(200, page_json(std::move(data), next));
}

}  // namespace

std::vector<Api::Route> job_routes() {
  Api::Route upload = route("POST", "imports/{}", Access::kInventory, create_import);
  upload.upload = true;
  upload.precheck = check_import;
  upload.access_of = import_access;
  return {
      std::move(upload),
      route("GET", "imports/{}", Access::kAnyUser, show_import),
      route("POST", "reports", Access::kManagers, create_report),
      route("GET", "reports/{}", Access::kManagers, show_report),
      route("GET", "reports/{}/file", Access::kManagers, report_file),
      route("POST", "notifications/bulk", Access::kManagers, create_bulk_notification),
      route("POST", "valuations/recalculate", Access::kInventory, recalculate_valuations),
      route("GET", "valuations", Access::kInventory, list_valuations),
      route("POST", "syncs", Access::kAdmin, create_sync),
      route("GET", "syncs", Access::kManagers, list_syncs),
  };
}

}  // namespace unity::http
