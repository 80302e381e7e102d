#pragma once
// The worker's executor threads: each takes the next job from LocalJobs, runs one attempt on its
// own connection and reports the outcome; a non-transactional job that completed goes to the
// Completer for its acknowledgement. Destruction lets every running job finish (the claimer has
// returned the waiting ones first), then joins.
//
// Where the database runs one write transaction at a time (SQLite), an executor runs transactional
// jobs that wait back to back in one outer transaction, each attempt in its own savepoint (its
// writes and its job's deletion still commit or roll back together), for up to kGroupWindow or
// kGroupMax jobs: one commit instead of one per job, and no hand-off of the write lock between
// executors (which cannot write side by side there anyway). If the group fails as a whole (the
// database fails), nothing of it is kept: the attempt that met the failure counts and is retried,
// the jobs that ran before it in the group go back to the queue without using an attempt.

#include <chrono>
#include <thread>
#include <vector>

#include "queue/attempt.h"
#include "queue/audit_log.h"
#include "queue/completer.h"
#include "queue/local_jobs.h"
#include "queue/store_session.h"

namespace unity::queue {

class Executors {
 public:
  // All references must outlive the executors; `log` may be null. Each thread opens its
  // connection through `session`'s factory on first use.
  Executors(int count, const StoreSession& session, LocalJobs& jobs, const Attempts& attempts,
            Completer& completer, AuditLog* log);
  ~Executors();
  Executors(const Executors&) = delete;
  Executors& operator=(const Executors&) = delete;

  static constexpr std::chrono::microseconds kGroupWindow{2000};
  static constexpr size_t kGroupMax = 64;

 private:
  void loop(std::stop_token stop, StoreSession session);
  bool grouped(StoreSession& session, const ClaimedJob& job) const;
  void run_one(StoreSession& session, const InFlight& f);
  void run_group(StoreSession& session, const InFlight* first);
  // One attempt; the database failing around the handler is handled here (see .cc).
  Outcome run(StoreSession& session, const InFlight& f, std::string& error);
  // The attempt that met a database failure: recorded as failed on a fresh connection.
  Outcome recover(StoreSession& session, const InFlight& f, std::string& error);
  void report(const InFlight& f, Outcome outcome, double ms, const std::string& error);

  LocalJobs& jobs_;
  const Attempts& attempts_;
  Completer& completer_;
  AuditLog* log_;
  std::vector<std::jthread> threads_;
};

}  // namespace unity::queue
