#include "notify/notifier.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/json.h"
#include "core/trace.h"
#include "core/uuid.h"
#include "db/spans.h"
#include "notify/inbox.h"
#include "notify/permissions.h"

namespace unity::notify {

namespace {

constexpr const char* kDeliverJob = "notify.deliver";

// Writes the rows of one queued send, in the job's transaction. Recipients are checked again: a
// user deleted or moved meanwhile is skipped, never written across tenants.
class DeliverJob final : public queue::Job {
 public:
  void handle(queue::JobContext& ctx) override {
    const auto p = parse_json_object(ctx.payload(), "notify.deliver payload");
    std::vector<Notifiable> to;
    for (const auto& r : p.at("to")) {
      const std::string kind = r.at("type").get<std::string>();
      const int64_t id = r.at("id").get<int64_t>();
      Notifiable n = kind == "contact" ? Notifiable::contact(id) : Notifiable::user(id);
      try {
        require_recipient(ctx.db(), n);
        to.push_back(n);
      } catch (const Error&) {
        // gone since it was queued: skip
      }
    }
    deliver_now(ctx.db(), to, require_string(p, "type"), p.at("data").dump());
  }
};

}  // namespace

std::string render_data(const Notification& n) {
  const DatabaseMessage m = n.to_database();
  nlohmann::json data = {{"title", m.title},
                         {"message", m.message},
                         {"severity", m.severity},
                         {"action_url", m.action_url},
                         {"metadata", parse_json_object(m.metadata, "notification metadata")}};
  return data.dump();
}

DatabaseNotifier::DatabaseNotifier(queue::JobRegistry& jobs, queue::JobDispatcher& dispatcher)
    : dispatcher_(dispatcher) {
  if (!jobs.find(kDeliverJob))
    jobs.add(kDeliverJob, {}, [] { return std::make_unique<DeliverJob>(); });
}

void check_recipient(db::Connection& conn, const Notifiable& to, const Notification& n) {
  if (to.kind == Notifiable::Kind::kContact) {
    require_recipient(conn, to);
    if (!n.to_contacts()) {
      throw permission_denied(std::string(n.type()) + " is not sent to customer contacts");
    }
    return;
  }
  const int64_t tenant = conn.require_tenant();
  auto row =
      conn.query_one("SELECT role FROM users WHERE id = $1 AND tenant_id = $2", {to.id, tenant});
  if (!row)
    throw not_found("user " + std::to_string(to.id) + " not found in tenant " +
                    std::to_string(tenant));
  const std::string role = row->get<std::string>(0);
  if (n.author() == to.id) return;
  if (!role_has_permission(role, n.permission())) {
    throw permission_denied("user " + std::to_string(to.id) + " (" + role + ") lacks " +
                            std::string(n.permission()) + " for " + std::string(n.type()));
  }
}

void DatabaseNotifier::send(db::Connection& conn, const std::vector<Notifiable>& to,
                            const Notification& notification) {
  if (to.empty()) return;
  nlohmann::json recipients = nlohmann::json::array();
  for (const auto& r : to) {
    check_recipient(conn, r, notification);
    recipients.push_back({{"type", r.type_name()}, {"id", r.id}});
  }
  nlohmann::json payload = {{"type", notification.type()},
                            {"to", recipients},
                            {"data", nlohmann::json::parse(render_data(notification))}};
  dispatcher_.dispatch(conn, conn.require_tenant(), kDeliverJob, payload.dump());
}

std::vector<Notifiable> users_with_permission(db::Connection& conn, std::string_view permission) {
  const int64_t tenant = conn.require_tenant();
  std::vector<Notifiable> out;
  conn.query_each("SELECT id, role FROM users WHERE tenant_id = $1 ORDER BY id", {tenant},
                  [&](const db::Row& r) {
                    if (role_has_permission(r.get<std::string>(1), permission)) {
                      out.push_back(Notifiable::user(r.get<int64_t>(0)));
                    }
                  });
  return out;
}

std::vector<Notifiable> staff_recipients(db::Connection& conn, const Notification& n) {
  std::vector<Notifiable> out = users_with_permission(conn, n.permission());
  if (auto author = n.author()) {
    const Notifiable a = Notifiable::user(*author);
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  }
  return out;
}

std::vector<std::string> deliver_now(db::Connection& conn, const std::vector<Notifiable>& to,
                                     std::string_view type, const std::string& data) {
  const int64_t tenant = conn.require_tenant();
  const TimePoint at = system_clock().now();
  const std::string now = format_iso8601(at);
  trace::Current* traced = trace::current_trace();
  const db::Value trace_id = traced ? db::Value{traced->trace_id} : db::kNull;
  std::vector<std::string> ids;
  for (const auto& r : to) {
    std::string id = new_uuid().to_string();
    conn.execute(
        "INSERT INTO notifications (id, tenant_id, type, notifiable_type, notifiable_id, data,"
        " read_at, created_at, updated_at, trace_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $7, $8)",
        {id, tenant, std::string(type), std::string(r.type_name()), r.id, data, now, trace_id});
    ids.push_back(std::move(id));
  }
  if (traced) {
    // One span for the delivery, child of the job that writes it.
    traced->recorded = true;
    const int64_t started = at.time_since_epoch().count();
    db::span_insert(
        conn, {traced->trace_id, trace::new_span_id(), traced->span_id, tenant, "notification",
               std::string(type), "ok", started, system_clock().now().time_since_epoch().count(),
               std::to_string(ids.size()) + " recipient(s)"});
  }
  announce_notifications(conn);
  return ids;
}

}  // namespace unity::notify
