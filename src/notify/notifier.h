#pragma once
// Sending notifications. Delivery is queued: send() checks every recipient at once (same tenant,
// holds the permission) and enqueues one `notify.deliver` job in the caller's transaction; the
// job writes one `notifications` row per recipient in its own transaction (exactly once with the
// job's completion).
//
// Errors from send(): a recipient of another tenant or unknown → kNotFound (never "forbidden",
// so ids do not leak); a user without the permission, or a contact for a notification contacts
// may not receive → kPermissionDenied; no tenant context → kFailedPrecondition. Nothing is
// queued then.

#include <vector>

#include "db/connection.h"
#include "notify/notification.h"
#include "queue/dispatch.h"
#include "queue/registry.h"

namespace unity::notify {

// What services and listeners send through; testing::NotificationFake records instead.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void send(db::Connection& conn, const std::vector<Notifiable>& to,
                    const Notification& notification) = 0;
};

class DatabaseNotifier final : public Notifier {
 public:
  // Registers the `notify.deliver` job type in `jobs` (once per registry).
  DatabaseNotifier(queue::JobRegistry& jobs, queue::JobDispatcher& dispatcher);
  void send(db::Connection& conn, const std::vector<Notifiable>& to,
            const Notification& notification) override;

 private:
  queue::JobDispatcher& dispatcher_;
};

// The users of the connection's tenant whose role holds `permission` (empty: every user).
std::vector<Notifiable> users_with_permission(db::Connection& conn, std::string_view permission);

// The staff recipients of `n`: users_with_permission(n.permission()) and n.author() (once).
std::vector<Notifiable> staff_recipients(db::Connection& conn, const Notification& n);

// Checks one recipient against the connection's tenant and the notification (see send()).
void check_recipient(db::Connection& conn, const Notifiable& to, const Notification& n);

// Writes the rows now, in the caller's transaction (what notify.deliver does). Returns the ids.
std::vector<std::string> deliver_now(db::Connection& conn, const std::vector<Notifiable>& to,
                                     std::string_view type, const std::string& data);

}  // namespace unity::notify
