#pragma once
// Reading a recipient's notifications (`notifications:list`, `notifications:read`), unread
// counts, and pruning of old read ones. Every call works in the connection's tenant only.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
