#include "testing/fakes.h"

#include "events/event_store.h"

namespace unity::testing {

void EventFake::dispatch(db::Connection&, const events::Event& event) {
  names_.emplace_back(event.name());
  if (registry_.contains(event.name())) {
    events_.push_back(
        registry_.read(event.name(), event.meta(), nlohmann::json::parse(event.payload_json())));
  }
}

::testing::AssertionResult EventFake::assert_nothing_dispatched() const {
  if (names_.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "events were dispatched: " << summary();
}

std::string EventFake::summary() const {
  std::string s = "[";
  for (const auto& n : names_) s += (s.size() > 1 ? ", " : "") + n;
  return s + "]";
}

std::vector<queue::InsertedJob> QueueFake::dispatch_many(db::Connection&, int64_t tenant_id,
                                                         const std::string& type,
                                                         const std::vector<std::string>& payloads,
                                                         const queue::DispatchOptions& options) {
  std::vector<queue::InsertedJob> out;
  for (const auto& p : payloads) {
    jobs_.push_back({tenant_id, type, options.queue.value_or(""), nlohmann::json::parse(p)});
    out.push_back({static_cast<int64_t>(jobs_.size()), "fake-" + std::to_string(jobs_.size()),
                   options.queue.value_or("")});
  }
  return out;
}

::testing::AssertionResult QueueFake::assert_pushed(
    const std::string& type, std::function<bool(const PushedJob&)> pred) const {
  for (const auto& j : jobs_) {
    if (j.type == type && (!pred || pred(j))) return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "no " << type << " matching was pushed; got " << summary();
}

::testing::AssertionResult QueueFake::assert_pushed_on(const std::string& queue,
                                                       const std::string& type) const {
  return assert_pushed(type, [&](const PushedJob& j) { return j.queue == queue; });
}

::testing::AssertionResult QueueFake::assert_pushed_times(const std::string& type,
                                                          size_t times) const {
  size_t n = 0;
  for (const auto& j : jobs_) n += j.type == type ? 1 : 0;
  if (n == times) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << type << " pushed " << n << " times, expected " << times;
}

::testing::AssertionResult QueueFake::assert_not_pushed(const std::string& type) const {
  return assert_pushed_times(type, 0);
}

::testing::AssertionResult QueueFake::assert_nothing_pushed() const {
  if (jobs_.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "jobs were pushed: " << summary();
}

std::string QueueFake::summary() const {
  std::string s = "[";
  for (const auto& j : jobs_) s += (s.size() > 1 ? ", " : "") + j.type;
  return s + "]";
}

void NotificationFake::send(db::Connection& conn, const std::vector<notify::Notifiable>& to,
                            const notify::Notification& notification) {
  for (const auto& r : to) notify::check_recipient(conn, r, notification);
  const auto data = nlohmann::json::parse(notify::render_data(notification));
  for (const auto& r : to) sent_.push_back({r, std::string(notification.type()), data});
}

::testing::AssertionResult NotificationFake::assert_sent_to(
    const notify::Notifiable& to, const std::string& type,
    std::function<bool(const nlohmann::json&)> pred) const {
  for (const auto& s : sent_) {
    if (s.to == to && s.type == type && (!pred || pred(s.data)))
      return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "no " << type << " sent to " << to.type_name() << " "
                                       << to.id << "; sent " << summary();
}

::testing::AssertionResult NotificationFake::assert_not_sent_to(const notify::Notifiable& to,
                                                                const std::string& type) const {
  for (const auto& s : sent_) {
    if (s.to == to && s.type == type) {
      return ::testing::AssertionFailure()
             << type << " was sent to " << to.type_name() << " " << to.id;
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult NotificationFake::assert_sent_times(const std::string& type,
                                                               size_t times) const {
  size_t n = 0;
  for (const auto& s : sent_) n += s.type == type ? 1 : 0;
  if (n == times) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << type << " sent " << n << " times, expected " << times;
}

::testing::AssertionResult NotificationFake::assert_nothing_sent() const {
  if (sent_.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "notifications were sent: " << summary();
}

std::string NotificationFake::summary() const {
  std::string s = "[";
  for (const auto& n : sent_) {
    s += (s.size() > 1 ? ", " : "") + n.type + "→" + std::string(n.to.type_name()) + " " +
         std::to_string(n.to.id);
  }
  return s + "]";
}

}  // namespace unity::testing
