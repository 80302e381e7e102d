#pragma once
// The real-time side of `unity serve`: the open notification streams (SSE and WebSocket) of this
// process and the watcher that feeds them.
//
// One watcher thread owns its own connection and learns that notifications were written — by any
// process on any host of the same database — from PostgreSQL's LISTEN/NOTIFY
// (notify::kNotificationsChannel, payload the tenant id) or, on SQLite, from the file's
// data_version; it then reads, once per affected tenant and in that tenant's context (row-level
// security applies), the tenant's notifications to users created since its last read, and hands
// each to the open streams of its user: the cost of a wake grows with the notifications written,
// not with the streams open. A stream opened with Last-Event-ID first reads what it missed from
// its own user's inbox. A notification goes only to streams of its own user and tenant.
//
// Lifecycle: start() once, stop() is safe twice and without start(). subscribe()/unsubscribe()
// may be called from any thread; a stream's `send` is called on the watcher thread and must not
// block (it posts to the stream's own executor).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "db/connection.h"

namespace unity::http {

class NotificationHub {
 public:
  using ConnectionFactory = std::function<std::unique_ptr<db::Connection>()>;
  // Called with one notification: its id and its `notifications:list` object as JSON text.
  // Returns false when the stream has gone (the hub then drops it).
  using Send = std::function<bool(const std::string& id, const std::string& json)>;
  // Called every `keepalive` with no notification; false when the stream has gone.
  using Ping = std::function<bool()>;

  struct Options {
    std::chrono::milliseconds poll{5};   // SQLite: how often data_version is read
    std::chrono::seconds keepalive{15};  // a comment line this often keeps proxies open
    int max_streams_per_user = 16;       // HTTP_MAX_STREAMS_PER_USER
  };

  NotificationHub(ConnectionFactory factory, const Clock& clock, Options options);
  ~NotificationHub();
  NotificationHub(const NotificationHub&) = delete;
  NotificationHub& operator=(const NotificationHub&) = delete;

  void start();
  void stop();

  // Opens a stream of `user`'s notifications in `tenant` from now on, or, with `last_event_id`,
  // from just after that notification (what the client missed is sent first; an unknown id
  // starts from now). kUnavailable ("too many open streams") past the cap per user. Returns the
  // subscription's id for unsubscribe().
  uint64_t subscribe(int64_t tenant, int64_t user, const std::string& last_event_id, Send send,
                     Ping ping);
  void unsubscribe(uint64_t id);
  // Whether `user` may open one more stream (the cap per user).
  bool has_room(int64_t tenant, int64_t user) const;
  size_t open_streams() const;

 private:
  struct Stream;
  void run(std::stop_token stop);
  // Reads the new notifications of `tenant`'s streams (every tenant's without one).
  void poll_streams(db::Connection& conn, std::optional<int64_t> tenant);
  void poll_tenant(db::Connection& conn, int64_t tenant,
                   const std::vector<std::shared_ptr<Stream>>& streams);
  void ping_streams();

  ConnectionFactory factory_;
  const Clock& clock_;
  Options options_;
  mutable std::mutex mu_;  // guards streams_, next_id_, new_streams_
  std::map<uint64_t, std::shared_ptr<Stream>> streams_;
  uint64_t next_id_ = 1;
  bool new_streams_ = false;  // a stream waits for its first read (replay)
  // The watcher thread's own: per tenant with open streams, the created_at of the newest
  // notification read (reads start kOverlap before it).
  std::map<int64_t, TimePoint> cursors_;
  std::jthread thread_;
};

}  // namespace unity::http
