#include "notify/inbox.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"

namespace unity::notify {

void require_recipient(db::Connection& conn, const Notifiable& who) {
  const int64_t tenant = conn.require_tenant();
  const char* sql = who.kind == Notifiable::Kind::kUser
                        ? "SELECT 1 FROM users WHERE id = $1 AND tenant_id = $2"
                        : "SELECT 1 FROM customer_contacts WHERE id = $1 AND tenant_id = $2";
  if (!conn.query_one(sql, {who.id, tenant})) {
    throw not_found(std::string(who.type_name()) + " " + std::to_string(who.id) +
                    " not found in tenant " + std::to_string(tenant));
  }
}

std::vector<StoredNotification> list_notifications(db::Connection& conn, const Notifiable& who,
                                                   bool unread_only, int limit) {
  require_recipient(conn, who);
  std::vector<StoredNotification> out;
  conn.query_each(
      std::string("SELECT id, type, data, read_at, created_at FROM notifications"
                  " WHERE tenant_id = $1 AND notifiable_type = $2 AND notifiable_id = $3") +
          (unread_only ? " AND read_at IS NULL" : "") +
          " ORDER BY created_at DESC, id DESC LIMIT $4",
      {conn.require_tenant(), std::string(who.type_name()), who.id, int64_t{limit}},
      [&](const db::Row& r) {
        out.push_back({r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2),
                       r.get<std::optional<std::string>>(3), r.get<std::string>(4)});
      });
  return out;
}

namespace {

constexpr const char* kColumns = "SELECT id, type, data, read_at, created_at FROM notifications";

StoredNotification stored_from(const db::Row& r) {
  return {r.get<std::string>(0), r.get<std::string>(1), r.get<std::string>(2),
          r.get<std::optional<std::string>>(3), r.get<std::string>(4)};
}

}  // namespace

std::vector<StoredNotification> list_notifications_page(
    db::Connection& conn, const Notifiable& who, bool unread_only, int limit,
    const std::optional<InboxPosition>& before) {
  if (!before) return list_notifications(conn, who, unread_only, limit);
  require_recipient(conn, who);
  std::vector<StoredNotification> out;
  conn.query_each(std::string(kColumns) +
                      " WHERE tenant_id = $1 AND notifiable_type = $2 AND notifiable_id = $3" +
                      (unread_only ? " AND read_at IS NULL" : "") +
                      " AND (created_at < $5 OR (created_at = $5 AND CAST(id AS TEXT) < $6))"
                      " ORDER BY created_at DESC, id DESC LIMIT $4",
                  {conn.require_tenant(), std::string(who.type_name()), who.id, int64_t{limit},
                   before->created_at, before->id},
                  [&](const db::Row& r) { out.push_back(stored_from(r)); });
  return out;
}

std::vector<StoredNotification> notifications_after(db::Connection& conn, const Notifiable& who,
                                                    const InboxPosition& after, int limit) {
  std::vector<StoredNotification> out;
  conn.query_each(std::string(kColumns) +
                      " WHERE tenant_id = $1 AND notifiable_type = $2 AND notifiable_id = $3"
                      " AND (created_at > $4 OR (created_at = $4 AND CAST(id AS TEXT) > $5))"
                      " ORDER BY created_at, id LIMIT $6",
                  {conn.require_tenant(), std::string(who.type_name()), who.id, after.created_at,
                   after.id, int64_t{limit}},
                  [&](const db::Row& r) { out.push_back(stored_from(r)); });
  return out;
}

std::vector<UserNotification> user_notifications_after(db::Connection& conn,
                                                       const InboxPosition& after, int limit) {
  std::vector<UserNotification> out;
  conn.query_each(
      "SELECT id, type, data, read_at, created_at, notifiable_id FROM notifications"
      " WHERE tenant_id = $1 AND (created_at > $2 OR (created_at = $2 AND CAST(id AS TEXT) > $3))"
      " AND notifiable_type = 'user' ORDER BY created_at, id LIMIT $4",
      {conn.require_tenant(), after.created_at, after.id, int64_t{limit}}, [&](const db::Row& r) {
        out.push_back({r.get<int64_t>(5), stored_from(r)});
      });
  return out;
}

std::optional<StoredNotification> find_notification(db::Connection& conn, const Notifiable& who,
                                                    const std::string& id) {
  auto row = conn.query_one(std::string(kColumns) +
                                " WHERE CAST(id AS TEXT) = $1 AND tenant_id = $2"
                                " AND notifiable_type = $3 AND notifiable_id = $4",
                            {id, conn.require_tenant(), std::string(who.type_name()), who.id});
  if (!row) return std::nullopt;
  return stored_from(*row);
}

nlohmann::json notification_json(const StoredNotification& n) {
  return {{"id", n.id},
          {"type", n.type},
          {"data", parse_json(n.data, "notification data")},
          {"read_at", n.read_at ? nlohmann::json(*n.read_at) : nlohmann::json()},
          {"created_at", n.created_at}};
}

void announce_notifications(db::Connection& conn) {
  if (!conn.capabilities().listen_notify) return;
  conn.notify(kNotificationsChannel, std::to_string(conn.require_tenant()));
}

int64_t unread_count(db::Connection& conn, const Notifiable& who) {
  return conn.query_int(
      "SELECT count(*) FROM notifications WHERE tenant_id = $1 AND notifiable_type = $2"
      " AND notifiable_id = $3 AND read_at IS NULL",
      {conn.require_tenant(), std::string(who.type_name()), who.id});
}

int64_t mark_read(db::Connection& conn, const Notifiable& who, const std::vector<std::string>& ids,
                  const Clock& clock) {
  require_recipient(conn, who);
  const int64_t tenant = conn.require_tenant();
  const std::string now = format_iso8601(clock.now());
  if (ids.empty()) {
    return conn.execute(
        "UPDATE notifications SET read_at = $4, updated_at = $4 WHERE tenant_id = $1 AND"
        " notifiable_type = $2 AND notifiable_id = $3 AND read_at IS NULL",
        {tenant, std::string(who.type_name()), who.id, now});
  }
  int64_t changed = 0;
  for (const auto& id : ids) {
    // Checked first so an id of someone else is "not found" and nothing is half-marked.
    if (!conn.query_one("SELECT 1 FROM notifications WHERE CAST(id AS TEXT) = $1 AND tenant_id = $2"
                        " AND notifiable_type = $3 AND notifiable_id = $4",
                        {id, tenant, std::string(who.type_name()), who.id})) {
      throw not_found("notification " + id + " not found for this recipient");
    }
  }
  for (const auto& id : ids) {
    changed += conn.execute(
        "UPDATE notifications SET read_at = $2, updated_at = $2 WHERE CAST(id AS TEXT) = $1"
        " AND read_at IS NULL",
        {id, now});
  }
  return changed;
}

int64_t prune_read(db::Connection& conn, TimePoint before) {
  return conn.execute(
      "DELETE FROM notifications WHERE tenant_id = $1 AND read_at IS NOT NULL AND read_at < $2",
      {conn.require_tenant(), format_iso8601(before)});
}

}  // namespace unity::notify
