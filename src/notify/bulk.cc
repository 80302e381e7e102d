#include "notify/bulk.h"

#include <algorithm>

#include "core/clock.h"
#include "core/trace.h"
#include "core/uuid.h"
#include "db/spans.h"
#include "notify/inbox.h"

namespace unity::notify {

namespace {

// INSERT … VALUES ($7,$1,$2,$3,$8,$4,NULL,$5,$5,$6), ($9,…): $1..$6 are the shared columns.
std::string insert_sql(size_t rows) {
  std::string sql =
      "INSERT INTO notifications (id, tenant_id, type, notifiable_type, notifiable_id, data,"
      " read_at, created_at, updated_at, trace_id) VALUES ";
  sql.reserve(sql.size() + rows * 44);
  for (size_t i = 0; i < rows; ++i) {
    const std::string id = "$" + std::to_string(7 + 2 * i);
    const std::string user = "$" + std::to_string(8 + 2 * i);
    if (i) sql += ", ";
    sql += "(" + id + ", $1, $2, $3, " + user + ", $4, NULL, $5, $5, $6)";
  }
  return sql;
}

}  // namespace

int64_t deliver_batch(db::Connection& conn, const std::vector<int64_t>& user_ids,
                      std::string_view type, const std::string& data, const std::string& now) {
  const int64_t tenant = conn.require_tenant();
  // The running job's trace, read once: one value for every row of every chunk.
  trace::Current* traced = trace::current_trace();
  const db::Value trace_id = traced ? db::Value{traced->trace_id} : db::kNull;
  const int64_t started = traced ? system_clock().now().time_since_epoch().count() : 0;
  int64_t written = 0;
  std::string full_sql;  // the statement for a full chunk, built once
  for (size_t start = 0; start < user_ids.size(); start += kDeliverBatchRows) {
    const size_t n = std::min(kDeliverBatchRows, user_ids.size() - start);
    if (n == kDeliverBatchRows && full_sql.empty()) full_sql = insert_sql(n);
    std::vector<db::Value> values;
    values.reserve(6 + 2 * n);
    values.emplace_back(tenant);
    values.emplace_back(std::string(type));
    values.emplace_back(std::string("user"));
    values.emplace_back(data);
    values.emplace_back(now);
    values.push_back(trace_id);
    for (size_t i = 0; i < n; ++i) {
      values.emplace_back(new_uuid().to_string());
      values.emplace_back(user_ids[start + i]);
    }
    written += conn.execute(n == kDeliverBatchRows ? full_sql : insert_sql(n),
                            db::Params(std::move(values)));
  }
  if (written > 0 && traced) {
    // One span for the whole delivery, as deliver_now() writes one: child of the running job.
    traced->recorded = true;
    db::span_insert(
        conn, {traced->trace_id, trace::new_span_id(), traced->span_id, tenant, "notification",
               std::string(type), "ok", started, system_clock().now().time_since_epoch().count(),
               std::to_string(written) + " recipient(s), bulk"});
  }
  if (written > 0) announce_notifications(conn);
  return written;
}

}  // namespace unity::notify
