#pragma once
// The worker registry (table queue_workers, migration 0017): every `unity queue:work` process
// records itself when it starts, beats while it runs and removes itself when it exits, so
// `queue:workers`, GET /metrics and the dashboard can list the workers alive.
//
// Alive: the last heartbeat is younger than kMissedBeats of the worker's own heartbeat period
// (QUEUE_WORKER_HEARTBEAT_MS, stored with its row, so readers need not share its configuration).
// A killed worker (kill -9, power cut) stops beating and drops out of workers_alive() after that
// long; its row is pruned by the next worker_register() or worker_beat() of any worker.
//
// Each call runs one or two statements on `conn` (in the caller's transaction if one is open).
// System rows: no tenant context is needed or used. Times are microseconds since the Unix epoch
// from `clock`. Database errors throw as the driver raises them (kUnavailable, …).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "db/connection.h"

namespace unity::queue {

class AuditLog;

// How many heartbeat periods a worker may miss before it counts as dead.
inline constexpr int kMissedBeats = 3;

struct WorkerInfo {
  int64_t id = 0;  // random, chosen at registration
  std::string name;
  std::string host;
  int64_t pid = 0;
  std::vector<std::string> queues;  // priority order
  int concurrency = 1;
  int heartbeat_ms = 5000;
  int64_t started_at_us = 0;
  int64_t last_heartbeat_us = 0;
  int64_t jobs_done = 0;
};

// Records a worker starting now: sets info.id (random), started_at_us and last_heartbeat_us.
// Prunes dead workers' rows.
void worker_register(db::Connection& conn, const Clock& clock, WorkerInfo& info);
// Records a heartbeat and the jobs the worker has finished so far. Prunes dead workers' rows.
// A worker whose row was pruned (it stalled past its expiry) is recorded again, under its id.
void worker_beat(db::Connection& conn, const Clock& clock, const WorkerInfo& info,
                 int64_t jobs_done);
// Removes the worker's row (a clean exit).
void worker_unregister(db::Connection& conn, int64_t id);
// The workers alive now, by name.
std::vector<WorkerInfo> workers_alive(db::Connection& conn, const Clock& clock);
// Deletes the rows of workers no longer alive; returns how many.
int64_t workers_prune(db::Connection& conn, const Clock& clock);

// A running worker's entry in the registry, on a connection of its own (opened lazily, dropped
// and reopened after an error). The constructor registers (this host, this pid, the heartbeat
// period QUEUE_WORKER_HEARTBEAT_MS); beat_if_due() beats when a period has passed since the last
// beat; the destructor unregisters. Never throws: the registry is for operators, so a database
// error is written to `log` (may be null) and tried again at the next beat, which registers
// again if the first attempt failed. Used by one thread at a time (the worker's keeper).
class WorkerPresence {
 public:
  // `heartbeat_ms`: QUEUE_WORKER_HEARTBEAT_MS.
  WorkerPresence(db::ConnectionFactory connect, int heartbeat_ms, const Clock& clock,
                 std::string name, std::vector<std::string> queues, int concurrency, AuditLog* log);
  ~WorkerPresence();
  WorkerPresence(const WorkerPresence&) = delete;
  WorkerPresence& operator=(const WorkerPresence&) = delete;

  void beat_if_due(int64_t jobs_done);
  const WorkerInfo& info() const { return info_; }

 private:
  db::Connection* connection();
  void failed(const char* what, const std::exception& e);

  db::ConnectionFactory connect_;
  const Clock& clock_;
  AuditLog* log_;
  WorkerInfo info_;
  std::unique_ptr<db::Connection> conn_;
  std::chrono::steady_clock::time_point last_beat_;
};

}  // namespace unity::queue
