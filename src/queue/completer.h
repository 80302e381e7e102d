#pragma once
// Writes the acknowledgements of non-transactional jobs that completed: gathered for up to a
// millisecond (or 512 of them), then deleted in one transaction. Its own thread and connection.
// Where the database has one writer at a time (SQLite) the claimer takes what is queued and
// writes it in its claim's transaction (take_queued): one commit instead of two, and the pages
// both touch are written to the WAL once.
//
// A failed write is retried (fresh connection, up to 50 times 100 ms); past that the jobs' leases
// expire and they run again: at-least-once, as non-transactional jobs are (Guarantee 3).
// Destruction writes what is pending, then stops.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "queue/audit_log.h"
#include "queue/store_session.h"

namespace unity::queue {

class Completer {
 public:
  // `log` may be null; `on_written` (may be empty) runs after each batch is written.
  Completer(StoreSession session, AuditLog* log, std::function<void()> on_written);
  ~Completer();
  Completer(const Completer&) = delete;
  Completer& operator=(const Completer&) = delete;

  void add(Lease lease);
  // Accepted but not written yet.
  int64_t pending() const;
  // Their leases (for heartbeats: they are still this worker's until written).
  std::vector<Lease> held() const;

  // Hands what is queued (not what is being written) to a caller that deletes it in its own
  // transaction; one caller at a time (the claimer), each take reported before the next. It stays
  // pending() and held() until the caller reports taken_written() after its commit, or give_back()
  // when the transaction failed (this thread then writes it).
  std::vector<Lease> take_queued();
  void taken_written(const std::vector<Lease>& taken);
  void give_back(const std::vector<Lease>& taken);

 private:
  void loop(std::stop_token stop);
  void write(const std::vector<Lease>& batch);

  StoreSession session_;
  AuditLog* log_;
  std::function<void()> on_written_;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::vector<Lease> queued_;
  int64_t pending_ = 0;  // queued or being written
  std::vector<Lease> writing_;
  std::vector<Lease> taken_;  // take_queued(), not reported yet
  std::jthread thread_;       // last: starts after the rest is built
};

}  // namespace unity::queue
