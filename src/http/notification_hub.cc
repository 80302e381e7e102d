#include "http/notification_hub.h"

#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
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
  TimePoint cursor;                       // created_at of the newest sent (or the start)
  std::map<std::string, TimePoint> sent;  // ids sent within kOverlap of the cursor
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
  s->cursor = clock_.now();
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

void NotificationHub::poll_streams(db::Connection& conn, std::optional<int64_t> tenant) {
  std::vector<std::shared_ptr<Stream>> streams;
  {
    std::lock_guard lock(mu_);
    new_streams_ = false;
    for (const auto& [_, s] : streams_) {
      if (!tenant || s->tenant == *tenant || !s->started) streams.push_back(s);
    }
  }
  std::vector<uint64_t> gone;
  for (auto& s : streams) {
    db::TenantScope scope(conn, s->tenant);
    const auto who = notify::Notifiable::user(s->user);
    if (!s->started) {
      s->started = true;
      if (!s->last_event_id.empty()) {
        if (auto seen = notify::find_notification(conn, who, s->last_event_id)) {
          s->cursor = parse_iso8601(seen->created_at);
          s->sent[seen->id] = s->cursor;
        }
      }
    }
    for (;;) {
      auto rows =
          notify::notifications_since(conn, who, format_iso8601(s->cursor - kOverlap), kBatch);
      bool any_new = false;
      for (const auto& n : rows) {
        if (s->sent.count(n.id)) continue;
        const TimePoint at = parse_iso8601(n.created_at);
        s->sent[n.id] = at;
        if (at > s->cursor) s->cursor = at;
        any_new = true;
        if (!s->send(n.id, notify::notification_json(n).dump())) s->gone = true;
      }
      for (auto it = s->sent.begin(); it != s->sent.end();) {
        it = it->second < s->cursor - kOverlap ? s->sent.erase(it) : std::next(it);
      }
      if (!any_new || static_cast<int>(rows.size()) < kBatch || s->gone) break;
    }
  }
  std::lock_guard lock(mu_);
  for (auto it = streams_.begin(); it != streams_.end();) {
    it = it->second->gone ? streams_.erase(it) : std::next(it);
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
