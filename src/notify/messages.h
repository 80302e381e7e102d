#pragma once
// The seed's system notifications: AnnouncementNotification, ReminderNotification and
// AlertNotification (the three kinds SendBulkNotifications sends, written from data), and
// ReportGeneratedNotification (a report is ready for download).
//
// Announcements, reminders and alerts have no permission: any user of the tenant may receive
// them. Their data is a JSON object with exactly these fields:
//   title       required, 1 to 200 characters
//   message     required, 1 to 5000 characters
//   severity    info | success | warning | critical; default info (alerts: warning)
//   action_url  optional, up to 2048 characters: a path ("/reports/7") or an http(s) URL
//   remind_at   reminders only, optional: an ISO 8601 time (stored normalised to UTC)
// from_json() raises Error(kInvalidArgument) naming the field for a missing or malformed one,
// and for any other field ("unknown field \"titel\"").
//
// ReportGeneratedNotification goes to the user who asked for the report: author() is the
// requester, so they receive it whatever their role. Send it to Notifiable::user(requester())
// (staff_recipients() would add admins and managers, who hold every permission).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "notify/notification.h"

namespace unity::notify {

// The permission of ReportGeneratedNotification besides its requester: no role holds it but
// admin and manager (who hold all).
inline constexpr std::string_view kReportsGenerated = "reports.generated";

// What an announcement, reminder or alert says (see the field rules above).
struct MessageData {
  std::string title;
  std::string message;
  std::string severity;    // empty: the type's default
  std::string action_url;  // empty: none
  std::optional<std::string> remind_at;
};

// The shared part of the three data-driven notifications. The constructors of the concrete types
// validate like from_json() (kInvalidArgument naming the field).
class GeneralNotification : public Notification {
 public:
  const MessageData& data() const { return data_; }
  // severity as given or defaulted; metadata {} (reminders: {"remind_at"} when set).
  DatabaseMessage to_database() const override;

 protected:
  GeneralNotification(MessageData data, std::string_view default_severity, bool reminder);

 private:
  MessageData data_;
};

class AnnouncementNotification final : public GeneralNotification {
 public:
  explicit AnnouncementNotification(MessageData data);
  static AnnouncementNotification from_json(const nlohmann::json& data);
  std::string_view type() const override { return "AnnouncementNotification"; }
};

class ReminderNotification final : public GeneralNotification {
 public:
  explicit ReminderNotification(MessageData data);
  static ReminderNotification from_json(const nlohmann::json& data);
  std::string_view type() const override { return "ReminderNotification"; }
};

class AlertNotification final : public GeneralNotification {
 public:
  explicit AlertNotification(MessageData data);
  static AlertNotification from_json(const nlohmann::json& data);
  std::string_view type() const override { return "AlertNotification"; }
};

// The notification of `kind` ("announcement", "reminder" or "alert", as `notify:bulk --type`
// names them) from its data. kInvalidArgument for another kind (the message lists them) or bad
// data.
std::unique_ptr<GeneralNotification> general_notification(std::string_view kind,
                                                          const nlohmann::json& data);

// A generated report (DESIGN.md `reports`).
struct GeneratedReport {
  int64_t report_id = 0;
  std::string report_type;  // sales | inventory | financial | customer | procurement
  std::string file_name;    // "sales-2026-03-01-2026-03-31.csv"
  std::string path;         // where it is stored, under STORAGE_PATH
  std::string format;       // csv | json | xlsx | pdf
  int64_t requester = 0;    // the user who asked for it
};

// Severity success; action URL /reports/{id}; metadata {report_id, report_type, file_name, path,
// format}. The constructor raises kInvalidArgument naming the field for an unknown report_type or
// format, an empty file_name or path, or a report_id or requester not above 0.
class ReportGeneratedNotification final : public Notification {
 public:
  explicit ReportGeneratedNotification(GeneratedReport report);
  std::string_view type() const override { return "ReportGeneratedNotification"; }
  std::string_view permission() const override { return kReportsGenerated; }
  std::optional<int64_t> author() const override { return report_.requester; }
  DatabaseMessage to_database() const override;

  const GeneratedReport& report() const { return report_; }
  int64_t requester() const { return report_.requester; }

 private:
  GeneratedReport report_;
};

}  // namespace unity::notify
