// The SendBulkNotifications job type (see bulk_notify.h).
#include "jobs/bulk_notify.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/error.h"
#include "core/json.h"
#include "db/transaction.h"
#include "jobs/job_log.h"
#include "notify/bulk.h"
#include "notify/messages.h"
#include "notify/permissions.h"

namespace unity::jobs {

namespace {

using SteadyClock = std::chrono::steady_clock;

// The recipients column: "all" or a sorted array of unique ids.
std::optional<std::vector<int64_t>> parse_recipients(const std::string& text) {
  const auto j = nlohmann::json::parse(text);
  if (j.is_string()) return std::nullopt;
  return j.get<std::vector<int64_t>>();
}

struct Progress {
  std::string status;
  std::string notification_type;
  std::string data;
  std::optional<std::vector<int64_t>> users;
  int64_t cursor = 0;
  int64_t total = 0, sent = 0, skipped = 0;
};

Progress load_progress(db::Connection& conn, int64_t id) {
  auto row = conn.query_one(
      "SELECT status, notification_type, data, recipients, cursor_user_id, total_recipients,"
      " sent_count, skipped_count FROM bulk_notifications WHERE tenant_id = $1 AND id = $2",
      {conn.require_tenant(), id});
  if (!row) throw not_found("bulk notification " + std::to_string(id) + " not found");
  Progress p;
  p.status = row->get<std::string>(0);
  p.notification_type = row->get<std::string>(1);
  p.data = row->get<std::string>(2);
  p.users = parse_recipients(row->get<std::string>(3));
  p.cursor = row->get<int64_t>(4);
  p.total = row->get<int64_t>(5);
  p.sent = row->get<int64_t>(6);
  p.skipped = row->get<int64_t>(7);
  return p;
}

bool finished(const std::string& status) {
  return status == "completed" || status == "completed_with_errors" || status == "failed";
}

// Errors no retry can fix: the row is gone, or the payload is wrong.
bool permanent(const Error& e) {
  return e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kNotFound;
}

class SendBulkNotifications final : public queue::Job {
 public:
  explicit SendBulkNotifications(const Clock& clock) : clock_(clock) {}

  void handle(queue::JobContext& ctx) override {
    const JobLog log(ctx);
    run_attempt(
        ctx, log, [&] { run(ctx, log); }, permanent);
  }

  // Batches committed so far stay delivered; the row says how far it got and why it stopped.
  void failed(queue::JobContext& ctx, const std::string& error) override {
    JobLog(ctx).step("failed", {{"error", error}});
    const auto payload = nlohmann::json::parse(ctx.payload(), nullptr, false);
    if (!payload.is_object() || !payload.contains("bulk_id") ||
        !payload["bulk_id"].is_number_integer()) {
      return;
    }
    const std::string now = format_iso8601(clock_.now());
    ctx.db().execute(
        "UPDATE bulk_notifications SET status = 'failed', error_message = $3, failed_at = $4,"
        " updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND status IN ('pending','processing')",
        {ctx.db().require_tenant(), payload["bulk_id"].get<int64_t>(), error, now});
  }

 private:
  void run(queue::JobContext& ctx, const JobLog& log) {
    db::Connection& conn = ctx.db();
    const int64_t tenant = conn.require_tenant();
    const auto payload = parse_json_object(ctx.payload(), "the SendBulkNotifications payload");
    const int64_t id = require_int(payload, "bulk_id");
    const int64_t batch_size = optional_int(payload, "batch_size").value_or(kBulkBatchSize);
    if (batch_size < 1 || batch_size > 100000) {
      throw invalid_argument("batch_size must be from 1 to 100000");
    }
    Progress p = load_progress(conn, id);
    if (finished(p.status)) {
      log.step("already_finished", {{"bulk_id", id}, {"status", p.status}});
      return;
    }
    permission_ = permission_of(p.notification_type);
    if (p.status == "pending") {
      db::Transaction tx(conn);
      p.total = p.users
                    ? static_cast<int64_t>(p.users->size())
                    : conn.query_int("SELECT count(*) FROM users WHERE tenant_id = $1", {tenant});
      conn.execute(
          "UPDATE bulk_notifications SET status = 'processing', total_recipients = $3,"
          " updated_at = $4 WHERE tenant_id = $1 AND id = $2 AND status = 'pending'",
          {tenant, id, p.total, format_iso8601(clock_.now())});
      tx.commit();
      p.status = "processing";
    }
    log.step("started",
             {{"bulk_id", id},
              {"type", p.notification_type},
              {"recipients", p.users ? nlohmann::json(p.users->size()) : nlohmann::json("all")},
              {"total", p.total},
              {"resume_after_user_id", p.cursor}});
    const auto t0 = SteadyClock::now();
    while (true) {
      if (ctx.cancelled()) {
        log.step("stopping", {{"bulk_id", id}, {"cursor_user_id", p.cursor}});
        throw unavailable("SendBulkNotifications stopped after user " + std::to_string(p.cursor) +
                          "; the next attempt resumes there");
      }
      if (!run_batch(ctx, log, id, static_cast<int>(batch_size), p)) break;
      const int64_t done = p.sent + p.skipped;
      if (p.total > 0) ctx.progress(static_cast<int>(std::min<int64_t>(99, done * 100 / p.total)));
    }
    const std::string status = p.skipped > 0 ? "completed_with_errors" : "completed";
    const std::string now = format_iso8601(clock_.now());
    conn.execute(
        "UPDATE bulk_notifications SET status = $3, completed_at = $4, updated_at = $4"
        " WHERE tenant_id = $1 AND id = $2 AND status = 'processing'",
        {tenant, id, status, now});
    ctx.progress(100);
    log.step("finished",
             {{"bulk_id", id},
              {"status", status},
              {"sent", p.sent},
              {"skipped", p.skipped},
              {"duration_ms",
               std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count()}});
  }

  // The permission a recipient needs for the stored type (empty for all three today).
  static std::string permission_of(const std::string& type) {
    const char* kinds[] = {"announcement", "reminder", "alert"};
    for (const char* kind : kinds) {
      const auto n = notify::general_notification(kind, {{"title", "-"}, {"message", "-"}});
      if (n->type() == type) return std::string(n->permission());
    }
    throw invalid_argument("unknown bulk notification type " + quote_for_message(type));
  }

  // One batch in one transaction; false when no recipient is left. Updates `p`.
  bool run_batch(queue::JobContext& ctx, const JobLog& log, int64_t id, int batch_size,
                 Progress& p) {
    db::Connection& conn = ctx.db();
    const int64_t tenant = conn.require_tenant();
    db::Transaction tx(conn);
    // The users of this batch that exist in the tenant, with their roles.
    std::vector<int64_t> candidates;  // ascending
    std::vector<std::pair<int64_t, std::string>> found;
    if (p.users) {
      auto from = std::upper_bound(p.users->begin(), p.users->end(), p.cursor);
      auto to = from + std::min<ptrdiff_t>(batch_size, p.users->end() - from);
      candidates.assign(from, to);
      if (candidates.empty()) return false;
      conn.query_each("SELECT id, role FROM users WHERE tenant_id = $1 AND id IN " +
                          conn.id_set_sql(2) + " ORDER BY id",
                      {tenant, conn.id_set_param(candidates)}, [&](const db::Row& r) {
                        found.emplace_back(r.get<int64_t>(0), r.get<std::string>(1));
                      });
    } else {
      conn.query_each(
          "SELECT id, role FROM users WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3",
          {tenant, p.cursor, int64_t{batch_size}}, [&](const db::Row& r) {
            candidates.push_back(r.get<int64_t>(0));
            found.emplace_back(r.get<int64_t>(0), r.get<std::string>(1));
          });
      if (candidates.empty()) return false;
    }
    std::vector<int64_t> deliver;
    std::vector<SkippedRecipient> skipped;
    size_t f = 0;
    for (int64_t uid : candidates) {
      while (f < found.size() && found[f].first < uid) ++f;
      if (f == found.size() || found[f].first != uid) {
        skipped.push_back({uid, "not found in tenant " + std::to_string(tenant)});
      } else if (!notify::role_has_permission(found[f].second, permission_)) {
        skipped.push_back({uid, "role " + found[f].second + " lacks " + permission_});
      } else {
        deliver.push_back(uid);
      }
    }
    const int64_t cursor = candidates.back();
    const std::string now = format_iso8601(clock_.now());
    // Compare-and-set on the cursor: a concurrent run of the same job that got here first wins,
    // this one rolls back and reloads.
    const int64_t moved = conn.execute(
        "UPDATE bulk_notifications SET cursor_user_id = $3, sent_count = sent_count + $4,"
        " skipped_count = skipped_count + $5, updated_at = $6"
        " WHERE tenant_id = $1 AND id = $2 AND cursor_user_id = $7 AND status = 'processing'",
        {tenant, id, cursor, static_cast<int64_t>(deliver.size()),
         static_cast<int64_t>(skipped.size()), now, p.cursor});
    if (moved == 0) {
      tx.rollback();
      p = load_progress(conn, id);
      log.step("reloaded", {{"bulk_id", id}, {"cursor_user_id", p.cursor}});
      return !finished(p.status);
    }
    if (!skipped.empty() && p.skipped < kMaxListedSkipped) {
      auto listed = nlohmann::json::parse(conn.query_one("SELECT skipped FROM bulk_notifications"
                                                         " WHERE tenant_id = $1 AND id = $2",
                                                         {tenant, id})
                                              ->get<std::string>(0));
      for (const auto& s : skipped) {
        if (static_cast<int64_t>(listed.size()) >= kMaxListedSkipped) break;
        listed.push_back({{"user_id", s.user_id}, {"reason", s.reason}});
      }
      conn.execute("UPDATE bulk_notifications SET skipped = $3 WHERE tenant_id = $1 AND id = $2",
                   {tenant, id, listed.dump()});
    }
    notify::deliver_batch(conn, deliver, p.notification_type, p.data, now);
    tx.commit();
    p.cursor = cursor;
    p.sent += static_cast<int64_t>(deliver.size());
    p.skipped += static_cast<int64_t>(skipped.size());
    if (!skipped.empty()) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& s : skipped) list.push_back({{"user_id", s.user_id}, {"reason", s.reason}});
      log.step("skipped", {{"bulk_id", id}, {"recipients", list}});
    }
    log.step("batch", {{"bulk_id", id},
                       {"sent", deliver.size()},
                       {"skipped", skipped.size()},
                       {"cursor_user_id", cursor}});
    return true;
  }

  const Clock& clock_;
  std::string permission_;
};

}  // namespace

int64_t create_bulk_notification(db::Connection& conn, const BulkRequest& request,
                                 const Clock& clock) {
  const int64_t tenant = conn.require_tenant();
  const auto notification = notify::general_notification(request.kind, request.data);
  nlohmann::json recipients = "all";
  if (request.users) {
    if (request.users->empty()) throw invalid_argument("users: the list of user ids is empty");
    std::set<int64_t> ids;
    for (int64_t id : *request.users) {
      if (id < 1) throw invalid_argument("users: " + std::to_string(id) + " is not a user id");
      ids.insert(id);
    }
    recipients = std::vector<int64_t>(ids.begin(), ids.end());
  }
  const std::string now = format_iso8601(clock.now());
  return conn
      .query_one(
          "INSERT INTO bulk_notifications (tenant_id, user_id, notification_type, data,"
          " recipients, status, created_at, updated_at)"
          " VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6) RETURNING id",
          {tenant, db::opt_value(request.requester), std::string(notification->type()),
           notify::render_data(*notification), recipients.dump(), now})
      ->get<int64_t>(0);
}

BulkNotificationStatus load_bulk_notification(db::Connection& conn, int64_t id) {
  auto row = conn.query_one(
      "SELECT status, notification_type, total_recipients, sent_count, skipped_count, skipped,"
      " error_message FROM bulk_notifications WHERE tenant_id = $1 AND id = $2",
      {conn.require_tenant(), id});
  if (!row) throw not_found("bulk notification " + std::to_string(id) + " not found");
  BulkNotificationStatus s;
  s.id = id;
  s.status = row->get<std::string>(0);
  s.notification_type = row->get<std::string>(1);
  s.total = row->get<int64_t>(2);
  s.sent = row->get<int64_t>(3);
  s.skipped_count = row->get<int64_t>(4);
  for (const auto& e : nlohmann::json::parse(row->get<std::string>(5))) {
    s.skipped.push_back({e.at("user_id").get<int64_t>(), e.at("reason").get<std::string>()});
  }
  s.error_message = row->get<std::optional<std::string>>(6);
  return s;
}

nlohmann::json to_json(const BulkNotificationStatus& s) {
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& e : s.skipped) skipped.push_back({{"user_id", e.user_id}, {"reason", e.reason}});
  return {{"bulk_id", s.id},
          {"status", s.status},
          {"notification_type", s.notification_type},
          {"total", s.total},
          {"sent", s.sent},
          {"skipped", s.skipped_count},
          {"skipped_ids", skipped},
          {"error_message", s.error_message ? nlohmann::json(*s.error_message) : nlohmann::json()}};
}

void register_bulk_notify_job(queue::JobRegistry& registry, const Clock& clock) {
  registry.add(
      kSendBulkNotifications,
      {.tries = 3,
       .timeout_s = 1800,
       .backoff = queue::Backoff::exponential(std::chrono::seconds(5), std::chrono::minutes(5)),
       .transactional = false},
      [&clock] { return std::make_unique<SendBulkNotifications>(clock); });
}

}  // namespace unity::jobs
