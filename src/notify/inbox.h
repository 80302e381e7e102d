#pragma once
// Reading a recipient's notifications (`notifications:list`, `notifications:read`), unread
// counts, and pruning of old read ones. Every call works in the connection's tenant only.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/clock.h"
#include "db/connection.h"
#include "notify/notification.h"

namespace unity::notify {

struct StoredNotification {
  std::string id;    // uuid
  std::string type;  // "LowStockNotification"
  std::string data;  // JSON text
  std::optional<std::string> read_at;
  std::string created_at;
};

// Newest first. kNotFound when the recipient is not of the connection's tenant.
std::vector<StoredNotification> list_notifications(db::Connection& conn, const Notifiable& who,
                                                   bool unread_only, int limit = 100);
// A page of the list for cursor pagination: the notifications strictly older (by created_at,
// then id) than `before` (the last one of the previous page), newest first.
struct InboxPosition {
  std::string created_at;
  std::string id;
};
std::vector<StoredNotification> list_notifications_page(db::Connection& conn, const Notifiable& who,
                                                        bool unread_only, int limit,
                                                        const std::optional<InboxPosition>& before);
// For real-time streams: the recipient's notifications created after `after` (by created_at,
// then id; an empty id takes every one created at `after.created_at`), oldest first, at most
// `limit`.
std::vector<StoredNotification> notifications_after(db::Connection& conn, const Notifiable& who,
                                                    const InboxPosition& after, int limit);
// For real-time streams: the tenant's notifications to users created after `after` (by
// created_at, then id; an empty id takes every one created at `after.created_at`), oldest first,
// at most `limit`, each with its user's id.
struct UserNotification {
  int64_t user_id = 0;
  StoredNotification notification;
};
std::vector<UserNotification> user_notifications_after(db::Connection& conn,
                                                       const InboxPosition& after, int limit);
// The notification `id` of the recipient (nullopt when it is not theirs).
std::optional<StoredNotification> find_notification(db::Connection& conn, const Notifiable& who,
                                                    const std::string& id);

// `notifications:list --json`'s object: {"id","type","data","read_at","created_at"}.
nlohmann::json notification_json(const StoredNotification& n);

// The channel on which the writers of notifications announce them (PostgreSQL NOTIFY; payload:
// the tenant id), so real-time streams in any process learn of them at once.
inline constexpr const char* kNotificationsChannel = "unity_notifications";
// Announces, in the caller's transaction, that the connection's tenant has new notifications
// (delivered at commit); a no-op where the driver has no LISTEN/NOTIFY (SQLite readers watch the
// file's data_version instead).
void announce_notifications(db::Connection& conn);
int64_t unread_count(db::Connection& conn, const Notifiable& who);
// Marks the given ids (or every unread one when `ids` is empty) read; returns how many changed.
// kNotFound naming an id that is not this recipient's.
int64_t mark_read(db::Connection& conn, const Notifiable& who, const std::vector<std::string>& ids,
                  const Clock& clock = system_clock());
// Deletes read notifications read before `before`; returns how many (connection's tenant).
int64_t prune_read(db::Connection& conn, TimePoint before);

// Throws kNotFound unless `who` exists in the connection's tenant.
void require_recipient(db::Connection& conn, const Notifiable& who);

}  // namespace unity::notify
