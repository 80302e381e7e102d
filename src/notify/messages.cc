#include "notify/messages.h"

#include <algorithm>
#include <array>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"

namespace unity::notify {

namespace {

constexpr std::array<std::string_view, 4> kSeverities = {"info", "success", "warning", "critical"};
constexpr std::array<std::string_view, 5> kReportTypes = {"sales", "inventory", "financial",
                                                          "customer", "procurement"};
constexpr std::array<std::string_view, 4> kFormats = {"csv", "json", "xlsx", "pdf"};

template <size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view v) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

template <size_t N>
std::string listed(const std::array<std::string_view, N>& set) {
  std::string out;
  for (size_t i = 0; i < N; ++i)
    out += (i == 0 ? "" : i + 1 == N ? " or " : ", ") + std::string(set[i]);
  return out;
}

Error bad_field(std::string_view field, const std::string& why) {
  return invalid_argument("field \"" + std::string(field) + "\" " + why);
}

void check_length(std::string_view field, const std::string& v, size_t min, size_t max) {
  if (v.size() < min || v.size() > max) {
    throw bad_field(field, "must be " + std::to_string(min) + " to " + std::to_string(max) +
                               " characters, got " + std::to_string(v.size()));
  }
}

void check_message(MessageData& d, std::string_view default_severity, bool reminder) {
  check_length("title", d.title, 1, 200);
  check_length("message", d.message, 1, 5000);
  if (d.severity.empty()) d.severity = default_severity;
  if (!one_of(kSeverities, d.severity)) {
    throw bad_field("severity", "must be " + listed(kSeverities) + ", got \"" + d.severity + "\"");
  }
  check_length("action_url", d.action_url, 0, 2048);
  const std::string& u = d.action_url;
  if (!u.empty() && u[0] != '/' && u.rfind("https://", 0) != 0 && u.rfind("http://", 0) != 0) {
    throw bad_field("action_url", "must be a path (/…) or an http(s) URL, got \"" + u + "\"");
  }
  if (d.remind_at && !reminder) throw invalid_argument("unknown field \"remind_at\"");
  if (d.remind_at) {
    try {
      d.remind_at = format_iso8601(parse_iso8601(*d.remind_at));
    } catch (const Error& e) {
      throw bad_field("remind_at", "must be an ISO 8601 time (" + std::string(e.what()) + ")");
    }
  }
}

std::string string_field(const nlohmann::json& data, std::string_view field, bool required) {
  auto it = data.find(field);
  if (it == data.end()) {
    if (required) throw bad_field(field, "is required");
    return "";
  }
  if (!it->is_string()) throw bad_field(field, "must be a string");
  return it->get<std::string>();
}

MessageData message_from_json(const nlohmann::json& data, bool reminder) {
  if (!data.is_object()) throw invalid_argument("notification data must be a JSON object");
  for (const auto& [key, value] : data.items()) {
    const bool known = key == "title" || key == "message" || key == "severity" ||
                       key == "action_url" || (reminder && key == "remind_at");
    if (!known) throw invalid_argument("unknown field \"" + key + "\"");
  }
  MessageData d{string_field(data, "title", true), string_field(data, "message", true),
                string_field(data, "severity", false), string_field(data, "action_url", false),
                std::nullopt};
  if (reminder && data.contains("remind_at")) d.remind_at = string_field(data, "remind_at", true);
  return d;
}

}  // namespace

GeneralNotification::GeneralNotification(MessageData data, std::string_view default_severity,
                                         bool reminder)
    : data_(std::move(data)) {
  check_message(data_, default_severity, reminder);
}

DatabaseMessage GeneralNotification::to_database() const {
  nlohmann::json meta = nlohmann::json::object();
  if (data_.remind_at) meta["remind_at"] = *data_.remind_at;
  return {data_.title, data_.message, data_.severity, data_.action_url, meta.dump()};
}

AnnouncementNotification::AnnouncementNotification(MessageData data)
    : GeneralNotification(std::move(data), "info", false) {}
AnnouncementNotification AnnouncementNotification::from_json(const nlohmann::json& data) {
  return AnnouncementNotification(message_from_json(data, false));
}

ReminderNotification::ReminderNotification(MessageData data)
    : GeneralNotification(std::move(data), "info", true) {}
ReminderNotification ReminderNotification::from_json(const nlohmann::json& data) {
  return ReminderNotification(message_from_json(data, true));
}

AlertNotification::AlertNotification(MessageData data)
    : GeneralNotification(std::move(data), "warning", false) {}
AlertNotification AlertNotification::from_json(const nlohmann::json& data) {
  return AlertNotification(message_from_json(data, false));
}

std::unique_ptr<GeneralNotification> general_notification(std::string_view kind,
                                                          const nlohmann::json& data) {
  if (kind == "announcement") {
    return std::make_unique<AnnouncementNotification>(AnnouncementNotification::from_json(data));
  }
  if (kind == "reminder") {
    return std::make_unique<ReminderNotification>(ReminderNotification::from_json(data));
  }
  if (kind == "alert") {
    return std::make_unique<AlertNotification>(AlertNotification::from_json(data));
  }
  throw invalid_argument("notification type must be announcement, reminder or alert, got \"" +
                         std::string(kind) + "\"");
}

ReportGeneratedNotification::ReportGeneratedNotification(GeneratedReport report)
    : report_(std::move(report)) {
  const auto& r = report_;
  if (r.report_id <= 0) throw bad_field("report_id", "must be above 0");
  if (!one_of(kReportTypes, r.report_type)) {
    throw bad_field("report_type",
                    "must be " + listed(kReportTypes) + ", got \"" + r.report_type + "\"");
  }
  check_length("file_name", r.file_name, 1, 255);
  check_length("path", r.path, 1, 4096);
  if (!one_of(kFormats, r.format)) {
    throw bad_field("format", "must be " + listed(kFormats) + ", got \"" + r.format + "\"");
  }
  if (r.requester <= 0) throw bad_field("requester", "must be a user id above 0");
}

DatabaseMessage ReportGeneratedNotification::to_database() const {
  const auto& r = report_;
  nlohmann::json meta = {{"report_id", r.report_id},
                         {"report_type", r.report_type},
                         {"file_name", r.file_name},
                         {"path", r.path},
                         {"format", r.format}};
  return {"Report ready: " + r.report_type,
          "Your " + r.report_type + " report (" + r.file_name + ") is ready for download",
          "success", "/reports/" + std::to_string(r.report_id), meta.dump()};
}

}  // namespace unity::notify
