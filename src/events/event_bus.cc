#include "events/event_bus.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json.h"
#include "core/trace.h"
#include "db/transaction.h"
#include "events/event_store.h"

namespace unity::events {

namespace {

// The job behind every queued listener: rebuild the event from the store, skip a pair that ran
// already, run the handler. Its transaction (the worker's) holds all three.
class ListenerJob final : public queue::Job {
 public:
  ListenerJob(const EventBus& bus, std::string listener)
      : bus_(bus), listener_(std::move(listener)) {}
  void handle(queue::JobContext& ctx) override { bus_.run_queued(listener_, ctx); }

 private:
  const EventBus& bus_;
  std::string listener_;
};

}  // namespace

std::string listener_job_type(const std::string& listener) { return "listener." + listener; }

EventBus::EventBus(queue::JobRegistry& jobs, queue::JobDispatcher& dispatcher)
    : jobs_(jobs), dispatcher_(dispatcher) {}

EventBus::~EventBus() = default;

void EventBus::add_sync(std::string event, std::string listener, SyncHandler fn) {
  sync_[event].push_back({std::move(listener), std::move(fn)});
}

void EventBus::add_queued(std::string event, std::string listener, QueuedHandler fn,
                          ListenerOptions options) {
  auto it = queued_.find(listener);
  if (it == queued_.end()) {
    queue::JobOptions jo;
    jo.queue = options.queue;
    jo.tries = options.tries;
    jo.timeout_s = options.timeout_s;
    jo.backoff = options.backoff;
    jo.transactional = true;  // the run record and the handler's writes commit together
    jobs_.add(listener_job_type(listener), jo,
              [this, listener] { return std::make_unique<ListenerJob>(*this, listener); });
    it = queued_.emplace(listener, Queued{std::move(options), {}}).first;
  }
  if (it->second.by_event.count(event)) {
    throw already_exists("listener " + listener + " listens to " + event + " twice");
  }
  it->second.by_event.emplace(event, std::move(fn));
  queued_by_event_[event].push_back(std::move(listener));
}

void EventBus::dispatch(db::Connection& conn, const Event& event) {
  db::Transaction tx(conn);
  EventStore(conn).append(event);
  if (auto it = sync_.find(event.name()); it != sync_.end()) {
    for (const auto& s : it->second) s.fn(event, conn);
  }
  if (auto it = queued_by_event_.find(event.name()); it != queued_by_event_.end()) {
    const std::string payload =
        nlohmann::json{{"event_id", event.meta().id}, {"event", std::string(event.name())}}.dump();
    // A traced event's listeners are children of its span (event_store.cc names it).
    queue::DispatchOptions options;
    if (trace::current_trace()) options.parent_span_ids = {trace::span_id_of_uuid(event.meta().id)};
    for (const auto& listener : it->second) {
      dispatcher_.dispatch(conn, event.tenant_id(), listener_job_type(listener), payload, options);
    }
  }
  tx.commit();
}

void EventDispatcher::dispatch_all(db::Connection& conn, const std::vector<const Event*>& events) {
  db::Transaction tx(conn);
  for (const Event* e : events) dispatch(conn, *e);
  tx.commit();
}

void EventBus::dispatch_all(db::Connection& conn, const std::vector<const Event*>& events) {
  if (events.empty()) return;
  db::Transaction tx(conn);
  EventStore(conn).append_all(events);
  std::map<std::string, std::vector<std::string>> payloads;  // by listener, in event order
  std::map<std::string, std::vector<std::string>> parents;   // their events' spans, when traced
  const bool traced = trace::current_trace() != nullptr;
  for (const Event* e : events) {
    if (auto it = sync_.find(e->name()); it != sync_.end()) {
      for (const auto& s : it->second) s.fn(*e, conn);
    }
    if (auto it = queued_by_event_.find(e->name()); it != queued_by_event_.end()) {
      const std::string payload =
          nlohmann::json{{"event_id", e->meta().id}, {"event", std::string(e->name())}}.dump();
      for (const auto& listener : it->second) {
        payloads[listener].push_back(payload);
        if (traced) parents[listener].push_back(trace::span_id_of_uuid(e->meta().id));
      }
    }
  }
  for (const auto& [listener, list] : payloads) {
    queue::DispatchOptions options;
    if (traced) options.parent_span_ids = std::move(parents[listener]);
    dispatcher_.dispatch_many(conn, events.front()->tenant_id(), listener_job_type(listener), list,
                              options);
  }
  tx.commit();
}

void EventBus::run_queued(const std::string& listener, queue::JobContext& ctx) const {
  const auto payload = parse_json_object(ctx.payload(), "listener job payload");
  const std::string event_id = require_string(payload, "event_id");
  db::Connection& conn = ctx.db();
  auto stored = EventStore(conn).find(event_id);
  if (!stored) {
    // Not in this tenant's store: a payload pointing at another tenant's event, or a bug.
    ctx.fail("event " + event_id + " not found in tenant " + std::to_string(ctx.tenant_id()));
  }
  const Queued& q = queued_.at(listener);
  auto handler = q.by_event.find(stored->name);
  if (handler == q.by_event.end()) {
    ctx.fail("listener " + listener + " does not listen to " + stored->name);
  }
  // Idempotency: the first delivery records the pair in this transaction; a redelivery after it
  // committed finds the record and does nothing.
  const int64_t fresh = conn.execute(
      "INSERT INTO listener_runs (tenant_id, event_id, listener, job_id) VALUES ($1, $2, $3, $4)"
      " ON CONFLICT (event_id, listener) DO NOTHING",
      {ctx.tenant_id(), event_id, listener, ctx.job_id()});
  if (fresh == 0) return;
  auto event =
      registry_.read(stored->name, meta_of(*stored), parse_json(stored->payload, "event payload"));
  handler->second(*event, ctx);
}

std::vector<ListenerInfo> EventBus::listeners() const {
  std::vector<ListenerInfo> out;
  for (const auto& name : registry_.names()) {
    if (auto it = sync_.find(name); it != sync_.end()) {
      for (const auto& s : it->second) out.push_back({name, s.listener, false, "", {}, {}});
    }
    if (auto it = queued_by_event_.find(name); it != queued_by_event_.end()) {
      for (const auto& l : it->second) {
        const auto& o = queued_.at(l).options;
        out.push_back({name, l, true, o.queue, o.tries, o.timeout_s});
      }
    }
  }
  return out;
}

}  // namespace unity::events
