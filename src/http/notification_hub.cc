#include "http/notification_hub.h"

#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/thread_name.h"
#include "notify/inbox.h"

namespace unity::http {

namespace {

// Notifications are read again this far back from the newest one sent, so one committed a little
// later with an earlier created_at is not missed; ids already sent are skipped.
constexpr auto kOverlap = std::chrono::seconds(2);
constexpr int kBatch = 500;
constexpr auto kWait = std::chrono::milliseconds(50);

}  // namespace

struct NotificationHub::Stream {
  int64_t tenant = 0;
  int64_t user = 0;
  std::string last_event_id;  // until the first read
  bool started = false;
  TimePoint from;                         // when it was opened
  std::map<std::string, TimePoint> sent;  // ids sent, kept while they may be read again
  Send send;
  Ping ping;
  bool gone = false;
};

NotificationHub::NotificationHub(ConnectionFactory factory, const Clock& clock, Options options)
    : factory_(std::move(factory)), clock_(clock), options_(options) {}

NotificationHub::~NotificationHub() { stop(); }

void NotificationHub::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token st) { run(st); });
}

void NotificationHub::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

uint64_t NotificationHub::subscribe(int64_t tenant, int64_t user, const std::string& last_event_id,
                                    Send send, Ping ping) {
  auto s = std::make_shared<Stream>();
  s->tenant = tenant;
  s->user = user;
  s->last_event_id = last_event_id.size() <= 64 ? last_event_id : "";
  s->from = clock_.now();
  s->send = std::move(send);
  s->ping = std::move(ping);
  std::lock_guard lock(mu_);
  int same_user = 0;
  for (const auto& [_, other] : streams_) {
    if (other->tenant == tenant && other->user == user) ++same_user;
  }
  if (same_user >= options_.max_streams_per_user) {
    throw unavailable("too many open streams for this user (" +
                      std::to_string(options_.max_streams_per_user) + "): close one first");
  }
  const uint64_t id = next_id_++;
  streams_[id] = std::move(s);
  new_streams_ = true;
  return id;
}

void NotificationHub::unsubscribe(uint64_t id) {
  std::lock_guard lock(mu_);
  streams_.erase(id);
}

bool NotificationHub::has_room(int64_t tenant, int64_t user) const {
  std::lock_guard lock(mu_);
  int same_user = 0;
  for (const auto& [_, other] : streams_) {
    if (other->tenant == tenant && other->user == user) ++same_user;
  }
  return same_user < options_.max_streams_per_user;
}

size_t NotificationHub::open_streams() const {
  std::lock_guard lock(mu_);
  return streams_.size();
}

namespace {

// Sends `n` (created at `at`) to `s` unless it was sent already.
void deliver(NotificationHub::Send& send, std::map<std::string, TimePoint>& sent, bool& gone,
             const notify::StoredNotification& n, TimePoint at, std::string& json) {
  if (gone || !sent.emplace(n.id, at).second) return;
  if (json.empty()) json = notify::notification_json(n).dump();
  if (!send(n.id, json)) gone = true;
}

}  // namespace

void NotificationHub::poll_streams(db::Connection& conn, std::optional<int64_t> tenant) {
  // Every stream of the tenants to read: the one named (all without one), and those of streams
  // waiting for their first read.
  std::map<int64_t, std::vector<std::shared_ptr<Stream>>> by_tenant;
  {
    std::lock_guard lock(mu_);
    new_streams_ = false;
    std::set<int64_t> tenants;
    if (tenant) tenants.insert(*tenant);
    for (const auto& [_, s] : streams_) {
      if (!tenant || !s->started) tenants.insert(s->tenant);
    }
    for (const auto& [_, s] : streams_) {
      if (tenants.count(s->tenant)) by_tenant[s->tenant].push_back(s);
    }
  }
  for (auto& [t, streams] : by_tenant) poll_tenant(conn, t, streams);
  std::lock_guard lock(mu_);
  std::set<int64_t> open;
  for (auto it = streams_.begin(); it != streams_.end();) {
    if (it->second->gone) {
      it = streams_.erase(it);
    } else {
      open.insert(it->second->tenant);
      ++it;
    }
  }
  for (auto it = cursors_.begin(); it != cursors_.end();) {
    it = open.count(it->first) ? std::next(it) : cursors_.erase(it);
  }
}

void NotificationHub::poll_tenant(db::Connection& conn, int64_t tenant,
                                  const std::vector<std::shared_ptr<Stream>>& streams) {
  db::TenantScope scope(conn, tenant);
  // A new stream first gets its own user's notifications from where it starts (just after its
  // Last-Event-ID, or its opening).
  std::optional<TimePoint> opened;
  for (const auto& s : streams) {
    if (s->started) continue;
    s->started = true;
    if (!opened || s->from < *opened) opened = s->from;
    const auto who = notify::Notifiable::user(s->user);
    TimePoint from = s->from;
    if (!s->last_event_id.empty()) {
      if (auto seen = notify::find_notification(conn, who, s->last_event_id)) {
        from = parse_iso8601(seen->created_at);
        s->sent[seen->id] = from;
      }
    }
    notify::InboxPosition pos{format_iso8601(from - kOverlap), ""};
    for (;;) {
      auto rows = notify::notifications_after(conn, who, pos, kBatch);
      for (const auto& n : rows) {
        std::string json;
        deliver(s->send, s->sent, s->gone, n, parse_iso8601(n.created_at), json);
      }
      if (static_cast<int>(rows.size()) < kBatch || s->gone) break;
      pos = {rows.back().created_at, rows.back().id};
    }
  }
  // Then one read of the tenant's new notifications for all its streams.
  auto [feed, created] = cursors_.try_emplace(tenant, opened.value_or(clock_.now()));
  TimePoint& cursor = feed->second;
  std::multimap<int64_t, Stream*> by_user;
  for (const auto& s : streams) by_user.emplace(s->user, s.get());
  notify::InboxPosition pos{format_iso8601(cursor - kOverlap), ""};
  for (;;) {
    auto rows = notify::user_notifications_after(conn, pos, kBatch);
    for (const auto& [user, n] : rows) {
      const TimePoint at = parse_iso8601(n.created_at);
      if (at > cursor) cursor = at;
      std::string json;
      auto [first, last] = by_user.equal_range(user);
      for (auto it = first; it != last; ++it) {
        deliver(it->second->send, it->second->sent, it->second->gone, n, at, json);
      }
    }
    if (static_cast<int>(rows.size()) < kBatch) break;
    pos = {rows.back().notification.created_at, rows.back().notification.id};
  }
  // What the next read cannot return again need not be remembered.
  for (const auto& s : streams) {
    for (auto it = s->sent.begin(); it != s->sent.end();) {
      it = it->second < cursor - kOverlap ? s->sent.erase(it) : std::next(it);
    }
  }
}

void NotificationHub::ping_streams() {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard lock(mu_);
    for (const auto& [_, s] : streams_) streams.push_back(s);
  }
  for (auto& s : streams) {
    if (!s->ping()) s->gone = true;
  }
}

void NotificationHub::run(std::stop_token stop) {
  name_this_thread("unity notify");
  auto last_ping = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    try {
      auto conn = factory_();
      const bool listen = conn->capabilities().listen_notify;
      if (listen) conn->listen(notify::kNotificationsChannel);
      int64_t version = listen ? 0 : conn->data_version();
      poll_streams(*conn, std::nullopt);
      while (!stop.stop_requested()) {
        bool fresh;
        {
          std::lock_guard lock(mu_);
          fresh = new_streams_;
        }
        if (listen) {
          std::set<int64_t> tenants;
          auto n = conn->wait_notification(fresh ? std::chrono::milliseconds(0) : kWait);
          while (n) {
            if (n->channel == notify::kNotificationsChannel) {
              tenants.insert(std::atoll(n->payload.c_str()));
            }
            n = conn->wait_notification(std::chrono::milliseconds(0));
          }
          if (fresh && tenants.empty()) poll_streams(*conn, -1);
          for (int64_t t : tenants) poll_streams(*conn, t);
        } else {
          if (!fresh) std::this_thread::sleep_for(options_.poll);
          const int64_t v = conn->data_version();
          if (v != version || fresh) {
            version = v;
            poll_streams(*conn, std::nullopt);
          }
        }
        if (std::chrono::steady_clock::now() - last_ping >= options_.keepalive) {
          last_ping = std::chrono::steady_clock::now();
          ping_streams();
        }
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "unity serve: notification watcher: %s (retrying in 1 s)\n", e.what());
      for (int i = 0; i < 20 && !stop.stop_requested(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  }
}

}  // namespace unity::http
