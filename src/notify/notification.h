#pragma once
// Notifications (DESIGN.md layer `notify`): what a user or a customer contact is told, stored by
// the database channel in the seed's `notifications` table.
//
// A notification type derives from Notification, names itself with the seed's class name, says
// which permission a user recipient must hold (roles map to permissions: permissions.h), whether
// customer contacts may receive it, and renders the database payload a front end displays:
// title, message, severity, action URL and free metadata.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace unity::notify {

struct Notifiable {
  enum class Kind { kUser, kContact };
  Kind kind = Kind::kUser;
  int64_t id = 0;

  static Notifiable user(int64_t id) { return {Kind::kUser, id}; }
  static Notifiable contact(int64_t id) { return {Kind::kContact, id}; }
  // The notifiable_type column: "user" or "contact".
  std::string_view type_name() const { return kind == Kind::kUser ? "user" : "contact"; }
  friend bool operator==(const Notifiable&, const Notifiable&) = default;
  friend auto operator<=>(const Notifiable&, const Notifiable&) = default;
};

struct DatabaseMessage {
  std::string title;
  std::string message;
  std::string severity = "info";  // info | success | warning | critical
  std::string action_url;         // where the front end takes the reader, e.g. /products/42
  std::string metadata = "{}";    // a JSON object with what the front end needs to display it
};

class Notification {
 public:
  virtual ~Notification() = default;
  // The seed's class name, e.g. "LowStockNotification" (the notifications.type column).
  virtual std::string_view type() const = 0;
  // The permission a user recipient must hold; empty: any user of the tenant.
  virtual std::string_view permission() const { return ""; }
  // Whether customer contacts may receive it (invoices and payments).
  virtual bool to_contacts() const { return false; }
  // The user the notification is about as its author (the order's creator): that user receives it
  // whether or not their role holds permission(). Same tenant still required.
  virtual std::optional<int64_t> author() const { return std::nullopt; }
  virtual DatabaseMessage to_database() const = 0;
};

// The `data` column: {"title","message","severity","action_url","metadata":{…}}.
std::string render_data(const Notification& n);

}  // namespace unity::notify
