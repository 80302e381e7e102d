#pragma once
// The worker's executor threads: each takes the next job from LocalJobs, runs one attempt on its
// own connection and reports the outcome; a non-transactional job that completed goes to the
// Completer for its acknowledgement. Destruction lets every running job finish (the claimer has
// returned the waiting ones first), then joins.

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

 private:
  void loop(std::stop_token stop, StoreSession session);
  // One attempt; the database failing around the handler is handled here (see .cc).
  Outcome run(StoreSession& session, const InFlight& f, std::string& error);

  LocalJobs& jobs_;
  const Attempts& attempts_;
  Completer& completer_;
  AuditLog* log_;
  std::vector<std::jthread> threads_;
};

}  // namespace unity::queue
