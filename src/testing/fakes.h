#pragma once
// Test fakes for users' tests (DESIGN.md layer `testing`), in the spirit of Laravel's
// Event::fake(), Queue::fake() and Notification::fake(): hand them to your service instead of the
// real EventBus, Dispatcher or DatabaseNotifier, run the service, then assert on what it did.
//
//   unity::testing::EventFake events;
//   ProductService service(conn, events, jobs, notifications);
//   service.create(...);
//   EXPECT_TRUE(events.assert_dispatched<ProductCreated>(
//       [&](const ProductCreated& e) { return e.product_id() == id; }));
//
// Assertions return ::testing::AssertionResult, so a failure says what was recorded instead.
// Fakes record; they write nothing (the caller's transaction still commits its own rows).
// Not thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "events/event_bus.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"

namespace unity::testing {

class EventFake final : public events::EventDispatcher {
 public:
  void dispatch(db::Connection& conn, const events::Event& event) override;

  // Rebuilt copies of every event dispatched, in order (rebuilt through the type's read(), so a
  // type whose JSON round trip loses data fails here too).
  const std::vector<std::unique_ptr<events::Event>>& dispatched() const { return events_; }

  template <typename E>
  ::testing::AssertionResult assert_dispatched(std::function<bool(const E&)> pred = nullptr) const {
    for (const auto& e : events_) {
      if (const auto* typed = dynamic_cast<const E*>(e.get()); typed && (!pred || pred(*typed))) {
        return ::testing::AssertionSuccess();
      }
    }
    return ::testing::AssertionFailure()
           << "no " << E::kName << " matching was dispatched; got " << summary();
  }
  template <typename E>
  ::testing::AssertionResult assert_dispatched_times(size_t times) const {
    size_t n = 0;
    for (const auto& e : events_) n += dynamic_cast<const E*>(e.get()) ? 1 : 0;
    if (n == times) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << E::kName << " dispatched " << n << " times, expected "
                                         << times << "; got " << summary();
  }
  template <typename E>
  ::testing::AssertionResult assert_not_dispatched() const {
    return assert_dispatched_times<E>(0);
  }
  ::testing::AssertionResult assert_nothing_dispatched() const;

  // Register event types whose copies should be rebuilt (others are kept by name only).
  events::EventRegistry& registry() { return registry_; }

 private:
  std::string summary() const;
  events::EventRegistry registry_;
  std::vector<std::unique_ptr<events::Event>> events_;
  std::vector<std::string> names_;
};

struct PushedJob {
  int64_t tenant_id = 0;
  std::string type;
  std::string queue;  // as requested; empty: the type's default
  nlohmann::json payload;
};

class QueueFake final : public queue::JobDispatcher {
 public:
  std::vector<queue::InsertedJob> dispatch_many(
      db::Connection& conn, int64_t tenant_id, const std::string& type,
      const std::vector<std::string>& payloads,
      const queue::DispatchOptions& options = {}) override;

  const std::vector<PushedJob>& pushed() const { return jobs_; }
  ::testing::AssertionResult assert_pushed(
      const std::string& type, std::function<bool(const PushedJob&)> pred = nullptr) const;
  ::testing::AssertionResult assert_pushed_on(const std::string& queue,
                                              const std::string& type) const;
  ::testing::AssertionResult assert_pushed_times(const std::string& type, size_t times) const;
  ::testing::AssertionResult assert_not_pushed(const std::string& type) const;
  ::testing::AssertionResult assert_nothing_pushed() const;

 private:
  std::string summary() const;
  std::vector<PushedJob> jobs_;
};

struct SentNotification {
  notify::Notifiable to;
  std::string type;
  nlohmann::json data;
};

class NotificationFake final : public notify::Notifier {
 public:
  // Checks recipients like the real notifier (tenant, permission), then records.
  void send(db::Connection& conn, const std::vector<notify::Notifiable>& to,
            const notify::Notification& notification) override;

  const std::vector<SentNotification>& sent() const { return sent_; }
  ::testing::AssertionResult assert_sent_to(
      const notify::Notifiable& to, const std::string& type,
      std::function<bool(const nlohmann::json& data)> pred = nullptr) const;
  ::testing::AssertionResult assert_not_sent_to(const notify::Notifiable& to,
                                                const std::string& type) const;
  ::testing::AssertionResult assert_sent_times(const std::string& type, size_t times) const;
  ::testing::AssertionResult assert_nothing_sent() const;

 private:
  std::string summary() const;
  std::vector<SentNotification> sent_;
};

}  // namespace unity::testing
