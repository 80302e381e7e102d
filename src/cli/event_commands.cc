// events:list, listeners:list, notifications:list, notifications:read, notifications:prune.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/error.h"
#include "events/event_bus.h"
#include "events/event_store.h"
#include "notify/inbox.h"
#include "queue/registry.h"

namespace unity::cli {

namespace {

struct ListArgs {
  int64_t tenant = 0;
  std::string type, since, aggregate;
  int limit = 1000;
};

void define_events_list(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ListArgs>();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--type", a->type, "Only this event, e.g. ProductCreated");
  app.add_option("--since", a->since, "Only events at or after this ISO 8601 time or date");
  app.add_option("--aggregate", a->aggregate, "Only events about this entity, e.g. product:42");
  app.add_option("--limit", a->limit, "At most this many, oldest first (default 1000)")
      ->check(CLI::Range(1, 1000000));
  app.callback([&ctx, a] {
    const auto f = events::event_filter(a->type, a->since, a->aggregate, a->limit);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : events::EventStore(ctx.tenant_app(a->tenant)).list(f)) {
      out.push_back(events::event_json(e));
      std::string payload = e.payload.size() > 70 ? e.payload.substr(0, 67) + "..." : e.payload;
      rows.push_back(
          {e.occurred_at, e.name, e.user_id ? std::to_string(*e.user_id) : "-", payload});
    }
    ctx.emit(out, render_table({"occurred at", "event", "user", "payload"}, rows));
  });
}

// The job types of queued listeners: "listener.<Name>" (events/event_bus.h).
constexpr std::string_view kListenerJobPrefix = "listener.";

void define_listeners_list(CLI::App& app, Context& ctx) {
  app.callback([&ctx] {
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    const queue::JobRegistry& registry = ctx.registry();
    for (const auto& l : ctx.bus().listeners()) {
      const std::string q =
          l.queued ? (l.queue.empty() ? ctx.config().queue_default : l.queue) : "";
      // A queued listener runs as its own job type: its payload is sealed at rest when that type
      // is encrypted. A synchronous one stores nothing.
      const bool sealed =
          l.queued && registry.get(events::listener_job_type(l.listener)).options.encrypted;
      out.push_back({{"kind", "listener"},
                     {"event", l.event},
                     {"listener", l.listener},
                     {"queued", l.queued},
                     {"queue", l.queued ? nlohmann::json(q) : nlohmann::json()},
                     {"encrypted", sealed},
                     {"tries", l.tries ? nlohmann::json(*l.tries) : nlohmann::json()},
                     {"timeout", l.timeout_s ? nlohmann::json(*l.timeout_s) : nlohmann::json()}});
      rows.push_back({l.event, l.listener, l.queued ? "queued:" + q : "sync", sealed ? "yes" : "no",
                      l.tries ? std::to_string(*l.tries) : "default",
                      l.timeout_s ? std::to_string(*l.timeout_s) + "s" : "default"});
    }
    // Then every job type that is not a listener's, with its queue ("event" and "listener" null).
    std::vector<std::vector<std::string>> job_rows;
    for (const auto& name : registry.names()) {
      if (name.starts_with(kListenerJobPrefix)) continue;  // listed above, as its listener
      const queue::JobOptions& o = registry.get(name).options;
      const std::string q = o.queue.empty() ? ctx.config().queue_default : o.queue;
      out.push_back({{"kind", "job"},
                     {"job", name},
                     {"event", nullptr},
                     {"listener", nullptr},
                     {"queued", true},
                     {"queue", q},
                     {"encrypted", o.encrypted},
                     {"tries", o.tries ? nlohmann::json(*o.tries) : nlohmann::json()},
                     {"timeout", o.timeout_s ? nlohmann::json(*o.timeout_s) : nlohmann::json()}});
      job_rows.push_back({name, q, o.encrypted ? "yes" : "no",
                          o.tries ? std::to_string(*o.tries) : "default",
                          o.timeout_s ? std::to_string(*o.timeout_s) + "s" : "default"});
    }
    ctx.emit(out,
             render_table({"event", "listener", "runs", "encrypted", "tries", "timeout"}, rows) +
                 "\n" + render_table({"job", "queue", "encrypted", "tries", "timeout"}, job_rows));
  });
}

struct InboxArgs {
  int64_t tenant = 0;
  std::optional<int64_t> user, contact;
  bool unread = false;
  std::vector<std::string> ids;
  int limit = 100;
};

notify::Notifiable recipient(const InboxArgs& a) {
  if (a.user.has_value() == a.contact.has_value()) {
    throw invalid_argument("give exactly one of --user or --contact");
  }
  return a.user ? notify::Notifiable::user(*a.user) : notify::Notifiable::contact(*a.contact);
}

void define_notifications_list(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<InboxArgs>();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "A user's notifications");
  app.add_option("--contact", a->contact, "A customer contact's notifications");
  app.add_flag("--unread", a->unread, "Only unread ones");
  app.add_option("--limit", a->limit, "Newest N (default 100)")->check(CLI::Range(1, 100000));
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    const auto who = recipient(*a);
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& n : notify::list_notifications(conn, who, a->unread, a->limit)) {
      nlohmann::json j = notify::notification_json(n);
      const auto& data = j["data"];
      rows.push_back({n.created_at, n.type, data.value("severity", ""), data.value("title", ""),
                      n.read_at ? "read" : "unread", n.id});
      out.push_back(std::move(j));
    }
    // --json keeps DESIGN.md's array (its contract adds fields to objects only): the unread
    // count is `notifications:unread --json` (README "Commands").
    const int64_t unread = notify::unread_count(conn, who);
    ctx.emit(out, render_table({"created at", "type", "severity", "title", "status", "id"}, rows) +
                      std::to_string(unread) + " unread");
  });
}

void define_notifications_read(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<InboxArgs>();
  app.add_option("ids", a->ids, "Notification ids, or all")->required();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "The user whose notifications to mark");
  app.add_option("--contact", a->contact, "The customer contact whose notifications to mark");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    std::vector<std::string> ids = a->ids;
    if (ids.size() == 1 && ids[0] == "all") ids.clear();
    const int64_t n = notify::mark_read(conn, recipient(*a), ids);
    ctx.emit({{"marked", n}}, "Marked " + std::to_string(n) + " notification(s) read");
  });
}

void define_notifications_unread(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<InboxArgs>();
  app.add_option("--tenant", a->tenant, "Tenant id")->required();
  app.add_option("--user", a->user, "A user");
  app.add_option("--contact", a->contact, "A customer contact");
  app.callback([&ctx, a] {
    db::Connection& conn = ctx.tenant_app(a->tenant);
    const auto who = recipient(*a);
    notify::require_recipient(conn, who);
    const int64_t n = notify::unread_count(conn, who);
    // "unread_count" is the HTTP API's name (GET /notifications/unread-count); "unread" stays.
    ctx.emit({{"unread", n}, {"unread_count", n}}, std::to_string(n) + " unread");
  });
}

void define_notifications_prune(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<int64_t>(0);
  auto days = std::make_shared<int>(90);
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.add_option("--days", *days,
                 "Delete read notifications read more than this many days ago (default 90)")
      ->check(CLI::Range(0, 36500));
  app.callback([&ctx, tenant, days] {
    const int64_t n = notify::prune_read(ctx.tenant_app(*tenant),
                                         system_clock().now() - std::chrono::hours(24 * *days));
    ctx.emit({{"deleted", n}}, "Deleted " + std::to_string(n) + " read notification(s)");
  });
}

}  // namespace

void add_event_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back(
      {"events:list", "A tenant's audit trail of domain events", with(define_events_list)});
  commands.push_back(
      {"listeners:list",
       "Every event type with its listeners, then every job type (queue, tries, timeout)",
       with(define_listeners_list)});
  commands.push_back({"notifications:list", "A user's or customer contact's notifications",
                      with(define_notifications_list)});
  commands.push_back({"notifications:read", "Mark notifications (ids or all) read",
                      with(define_notifications_read)});
  commands.push_back({"notifications:unread", "A user's or customer contact's unread count",
                      with(define_notifications_unread)});
  commands.push_back({"notifications:prune", "Delete old read notifications of a tenant",
                      with(define_notifications_prune)});
}

}  // namespace unity::cli
