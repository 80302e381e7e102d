#pragma once
// The event bus (DESIGN.md Guarantee 1, 3, 5).
//
// dispatch(conn, event), inside the caller's transaction (or its own):
//   1. appends the event to `domain_events` (the audit trail);
//   2. runs the synchronous listeners on `conn`, in that transaction;
//   3. enqueues each queued listener as its own job, type "listener.<Name>", with the listener's
//      own queue, tries, backoff and timeout, so one failing listener neither blocks nor repeats
//      the others.
// All of it exists if and only if the caller's transaction commits.
//
// A queued listener runs in the event's tenant context, in a transaction that also records the
// (event, listener) pair in `listener_runs`: a redelivered pair finds its record and changes
// nothing, so queued listeners are idempotent by construction.
//
// Register event types and listeners at start-up (before workers run); afterwards the bus is
// read-only and thread-safe. The bus must outlive the workers that run its listener jobs.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"
#include "events/event.h"
#include "events/event_registry.h"
#include "queue/dispatch.h"
#include "queue/job.h"
#include "queue/registry.h"

namespace unity::events {

// What services dispatch through; testing::EventFake records instead.
class EventDispatcher {
 public:
  virtual ~EventDispatcher() = default;
  virtual void dispatch(db::Connection& conn, const Event& event) = 0;
  // Dispatches `events` in order, all or none (one transaction). The default dispatches them one
  // by one; EventBus appends them to the store in bulk.
  virtual void dispatch_all(db::Connection& conn, const std::vector<const Event*>& events);
};

struct ListenerOptions {
  std::string queue;         // empty: DB_QUEUE
  std::optional<int> tries;  // default: the worker's (3)
  std::optional<int> timeout_s;
  std::optional<queue::Backoff> backoff;
};

struct ListenerInfo {
  std::string event;
  std::string listener;
  bool queued = true;
  std::string queue;
  std::optional<int> tries;
  std::optional<int> timeout_s;
};

using SyncHandler = std::function<void(const Event&, db::Connection&)>;
using QueuedHandler = std::function<void(const Event&, queue::JobContext&)>;

class EventBus final : public EventDispatcher {
 public:
  // `jobs` receives one job type per queued listener; `dispatcher` enqueues them. Both must
  // outlive the bus.
  EventBus(queue::JobRegistry& jobs, queue::JobDispatcher& dispatcher);
  ~EventBus() override;

  EventRegistry& registry() { return registry_; }
  const EventRegistry& registry() const { return registry_; }

  // Registers E (if new) and a listener run inside the dispatching transaction.
  template <typename E>
  void listen_sync(std::string listener, std::function<void(const E&, db::Connection&)> fn) {
    ensure_registered<E>();
    add_sync(std::string(E::kName), std::move(listener),
             [fn = std::move(fn)](const Event& e, db::Connection& c) { fn(cast<E>(e), c); });
  }
  // Registers E (if new) and a queued listener. One listener may listen to several events; its
  // options come from the first registration.
  template <typename E>
  void listen(std::string listener, std::function<void(const E&, queue::JobContext&)> fn,
              ListenerOptions options = {}) {
    ensure_registered<E>();
    add_queued(
        std::string(E::kName), std::move(listener),
        [fn = std::move(fn)](const Event& e, queue::JobContext& c) { fn(cast<E>(e), c); },
        std::move(options));
  }

  void dispatch(db::Connection& conn, const Event& event) override;
  // The bulk form: one multi-row append per EventStore::kAppendBatch events, then each event's
  // synchronous listeners and queued listener jobs (one dispatch_many per listener), in order.
  void dispatch_all(db::Connection& conn, const std::vector<const Event*>& events) override;

  // Every event type with its listeners (listeners:list), sorted by event then listener.
  std::vector<ListenerInfo> listeners() const;

  // Runs a queued listener's job body (used by its job type).
  void run_queued(const std::string& listener, queue::JobContext& ctx) const;

 private:
  template <typename E>
  static const E& cast(const Event& e) {
    return dynamic_cast<const E&>(e);
  }
  template <typename E>
  void ensure_registered() {
    if (!registry_.contains(E::kName)) registry_.add<E>();
  }
  void add_sync(std::string event, std::string listener, SyncHandler fn);
  void add_queued(std::string event, std::string listener, QueuedHandler fn,
                  ListenerOptions options);

  struct Sync {
    std::string listener;
    SyncHandler fn;
  };
  struct Queued {
    ListenerOptions options;
    std::map<std::string, QueuedHandler, std::less<>> by_event;
  };

  queue::JobRegistry& jobs_;
  queue::JobDispatcher& dispatcher_;
  EventRegistry registry_;
  std::map<std::string, std::vector<Sync>, std::less<>> sync_;  // by event name
  std::map<std::string, std::vector<std::string>, std::less<>> queued_by_event_;
  std::map<std::string, Queued, std::less<>> queued_;  // by listener name
};

// The job type name of a queued listener: "listener.SendLowStockNotification".
std::string listener_job_type(const std::string& listener);

}  // namespace unity::events
