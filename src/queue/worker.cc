#include "queue/worker.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>
#include <sstream>
#include <stop_token>
#include <thread>

#include "core/error.h"
#include "core/thread_name.h"
#include "db/transaction.h"
#include "queue/attempt.h"
#include "queue/claimer.h"
#include "queue/completer.h"
#include "queue/executors.h"
#include "queue/keeper.h"
#include "queue/queues.h"
#include "queue/rescuer.h"
#include "queue/store_session.h"
#include "queue/workers.h"

namespace unity::queue {

namespace {

// The room one claim may fill. With two claim loops it is reserved in LocalJobs until the claimed
// jobs are added (or the claim ends), so the loops together never claim more than the room nor
// past --max-jobs; with one loop the claim takes what the worker's capacity() gave.
class ClaimRoom {
 public:
  ClaimRoom(LocalJobs& jobs, int wanted, int64_t max_jobs, bool reserve)
      : jobs_(jobs), size_(reserve ? jobs.reserve(wanted, max_jobs) : wanted), reserved_(reserve) {}
  ~ClaimRoom() { release(); }
  ClaimRoom(const ClaimRoom&) = delete;
  ClaimRoom& operator=(const ClaimRoom&) = delete;

  int size() const { return size_; }
  void add(std::vector<ClaimedJob> claimed) {
    jobs_.add(std::move(claimed), reserved_ ? size_ : 0);
    reserved_ = false;
  }
  void release() {
    if (reserved_) jobs_.unreserve(size_);
    reserved_ = false;
  }

 private:
  LocalJobs& jobs_;
  const int size_;
  bool reserved_;
};

int64_t resident_mb() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE) / (1024 * 1024);
}

// How long ago this process was created (fork), from /proc (10 ms ticks); 0 where unknown.
// The worker's start for `queue:restart` is its process's creation, not the moment its fetch loop
// first reads the clock: a restart signalled while the worker was still starting up (loading,
// connecting, checking the schema: seconds on a loaded machine) must still make it exit.
std::chrono::microseconds process_age() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');  // the command name may hold spaces
  std::ifstream uptime_file("/proc/uptime");
  double uptime_s = 0;
  uptime_file >> uptime_s;
  if (paren == std::string::npos || uptime_s <= 0) return {};
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i != 22) continue;  // field 22: starttime, in clock ticks since boot
    const double start_s = std::stod(field) / static_cast<double>(sysconf(_SC_CLK_TCK));
    // One tick of margin: erring early only makes a worker started just before a restart exit.
    const double age_s = uptime_s - start_s + 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
    return std::chrono::microseconds(static_cast<int64_t>(std::max(age_s, 0.0) * 1e6));
  }
  return {};
}

}  // namespace

std::string default_worker_name() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + ":" + std::to_string(getpid());
}

const char* worker_exit_name(WorkerExit e) {
  switch (e) {
    case WorkerExit::kStopped:
      return "stopped";
    case WorkerExit::kEmpty:
      return "empty";
    case WorkerExit::kMaxJobs:
      return "max_jobs";
    case WorkerExit::kMaxTime:
      return "max_time";
    case WorkerExit::kMemory:
      return "memory";
    case WorkerExit::kRestart:
      return "restart";
  }
  return "stopped";
}

struct Worker::Impl {
  Impl(db::ConnectionFactory f, const Config& c, const JobRegistry& r, WorkerOptions o, AuditLog* l,
       const Clock& k)
      : connect(std::move(f)),
        config(c),
        opts(normalized(std::move(o), c)),
        log(l),
        clock(k),
        attempts(r, AttemptDefaults{opts.tries, opts.timeout_s, opts.backoff}, l, opts.job_log, c),
        jobs(opts.queues, opts.concurrency, attempts.defaults(), k, opts.batch == 0),
        lease_us(int64_t{c.queue_retry_after_s} * 1'000'000) {}

  static WorkerOptions normalized(WorkerOptions o, const Config& config) {
    if (o.queues.empty()) o.queues = default_worker_queues(config);
    if (o.name.empty()) o.name = default_worker_name();
    if (o.once) {
      o.max_jobs = 1;
      o.concurrency = 1;
    }
    return o;
  }

  void validate() const {
    if (opts.concurrency < 1 || opts.concurrency > 1024) {
      throw invalid_argument("--concurrency must be between 1 and 1024");
    }
    if (opts.batch < 0 || opts.batch > 10000) throw invalid_argument("--batch must be 0 to 10000");
    if (opts.claimers < 0 || opts.claimers > LocalJobs::kClaimLoops) {
      throw invalid_argument("claimers must be 0 to " + std::to_string(LocalJobs::kClaimLoops));
    }
    if (opts.sleep_s < 0 || opts.sleep_s > 3600)
      throw invalid_argument("--sleep must be 0 to 3600");
    if (opts.timeout_s && (*opts.timeout_s < 1 || *opts.timeout_s > 86400)) {
      throw invalid_argument("--timeout must be 1 to 86400 seconds");
    }
    if (opts.tries && (*opts.tries < 1 || *opts.tries > 1000)) {
      throw invalid_argument("--tries must be 1 to 1000");
    }
    if (opts.memory_mb < 0 || opts.max_time_s < 0 || opts.max_jobs < 0) {
      throw invalid_argument("--memory, --max-time and --max-jobs must not be negative");
    }
    for (const auto& q : opts.queues) {
      if (q.empty() || q.size() > 100) throw invalid_argument("invalid queue name in --queue");
    }
  }

  StoreSession session() const {
    return StoreSession(connect, config.queue_table, clock,
                        std::chrono::minutes(config.queue_keep_completed_minutes));
  }
  bool stopping() const { return stop.stop_requested(); }

  WorkerExit run() {
    validate();
    if (log) {
      log->event("worker.start", "queues=" + std::to_string(opts.queues.size()) +
                                     " concurrency=" + std::to_string(opts.concurrency));
    }
    WorkerExit exit = WorkerExit::kStopped;
    std::exception_ptr failure;
    {
      // This worker's row in the worker registry, from start to exit (queue:workers).
      WorkerPresence presence(connect, config.queue_worker_heartbeat_ms, clock, opts.name,
                              opts.queues, opts.concurrency, log);
      Completer completer(session(), log, [this] { jobs.wake_claimer(); });
      Keeper keeper(session(), jobs, completer, attempts, KeeperOptions{lease_us, opts.grace}, log,
                    &presence);
      std::optional<Executors> executors(std::in_place, opts.concurrency, session(), jobs, attempts,
                                         completer, log);
      try {
        exit = claim_loop(completer);
      } catch (...) {
        failure = std::current_exception();
      }
      return_waiting();
      executors.reset();  // the running jobs finish
    }  // the keeper writes the last counters, then the completer the last acknowledgements
    if (log) {
      log->event("worker.exit", worker_exit_name(exit));
      log->flush();
    }
    if (failure) std::rethrow_exception(failure);
    return exit;
  }

  // Claims until an exit condition; reconnects when the database goes away meanwhile.
  WorkerExit claim_loop(Completer& completer) {
    const auto started = clock.monotonic();
    int64_t started_us = 0;
    Claimer claimer(opts.queues, opts.name, lease_us, clock);
    Rescuer rescuer(attempts, log, clock);
    std::jthread second_loop;  // stopped and joined when this loop ends, before return_waiting()
    for (int failures = 0;; ++failures) {
      try {
        return claim_until_exit(completer, claimer, rescuer, started, started_us, second_loop);
      } catch (const Error& e) {
        // The database went away (restart, network): keep the jobs in flight, reconnect, go on.
        if (e.code() != ErrorCode::kUnavailable || stopping()) throw;
        if (log) log->event("database_unavailable", e.what());
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::min(100 * (failures + 1), 2000)));
      }
    }
  }

  std::optional<WorkerExit> exit_condition(Clock::Monotonic started) const {
    if (stopping()) return WorkerExit::kStopped;
    if (opts.max_time_s > 0 && clock.monotonic() - started >= std::chrono::seconds(opts.max_time_s))
      return WorkerExit::kMaxTime;
    if (opts.memory_mb > 0 && resident_mb() >= opts.memory_mb) return WorkerExit::kMemory;
    if (opts.max_jobs > 0 && jobs.finished() >= opts.max_jobs) return WorkerExit::kMaxJobs;
    return std::nullopt;
  }

  // How many jobs to claim now.
  int capacity() const {
    int64_t n = jobs.room();
    if (opts.max_jobs > 0) n = std::min(n, opts.max_jobs - jobs.started_or_waiting());
    if (opts.batch > 0 && n > 0) n = std::max<int64_t>(n, opts.batch - jobs.waiting());
    return static_cast<int>(n);
  }

  // Two claim loops where the database has concurrent writers (SQLite: one writer, one loop).
  bool two_claim_loops(const db::Connection& conn) const {
    return conn.capabilities().concurrent_writers && opts.claimers != 1 && opts.batch == 0 &&
           opts.concurrency > 1;
  }

  WorkerExit claim_until_exit(Completer& completer, Claimer& claimer, Rescuer& rescuer,
                              Clock::Monotonic started, int64_t& started_us,
                              std::jthread& second_loop) {
    StoreSession own = session();
    JobStore& store = own.store();
    db::Connection& conn = store.connection();
    const bool two_loops = two_claim_loops(conn);
    if (two_loops && !second_loop.joinable()) {
      second_loop = std::jthread([this](std::stop_token done) { claim_alongside(done); });
      if (log) log->event("worker.claim_loops", "2");
    }
    std::unique_ptr<db::Connection> listener;
    if (conn.capabilities().listen_notify) {
      listener = connect();
      listener->listen("unity_jobs");
    }
    int64_t version = conn.capabilities().data_version ? conn.data_version() : 0;
    if (started_us == 0) started_us = store.now_us() - process_age().count();
    bool restart_hint = false;  // queue:restart's NOTIFY arrived: check the signal now
    std::optional<Clock::Monotonic> last_signal_check;
    // Claim when at least half the room is free (or the worker is idle): fewer, larger claims,
    // and never more than the room (free slots, plus what short jobs let the worker hold ahead;
    // a higher queue's job still starts before claimed-ahead ones: LocalJobs::add).

    for (;;) {
      if (auto exit = exit_condition(started)) return *exit;
      if (restart_hint || !last_signal_check ||
          clock.monotonic() - *last_signal_check >= std::chrono::seconds(1)) {
        last_signal_check = clock.monotonic();
        restart_hint = false;
        if (store.signal_restart_at() > started_us) return WorkerExit::kRestart;
      }
      rescuer.tick(store);
      const int wanted = capacity();
      const int threshold = std::max(1, (opts.concurrency + jobs.ahead()) / 2);
      if (paused.load() || wanted <= 0 || (wanted < threshold && !jobs.idle())) {
        // Until enough room is free; when it already is (paused, --max-jobs reached), until woken
        // or 100 ms: waiting for the room then returned at once and the loop spun a core.
        const int until = jobs.room() < threshold ? threshold : std::numeric_limits<int>::max();
        jobs.wait_for_slots(until, std::chrono::milliseconds(100), stop.get_token());
        continue;
      }
      const int64_t finished_before_claim = jobs.finished();
      const bool acks_pending_at_claim = completer.pending() != 0;
      ClaimRoom room(jobs, wanted, opts.max_jobs, two_loops);
      if (room.size() == 0) {  // the second loop took the room meanwhile
        jobs.wait_for_slots(threshold, std::chrono::milliseconds(100), stop.get_token());
        continue;
      }
      auto claimed = claim_with_acks(completer, claimer, store, room.size());
      if (!claimed.empty()) {
        room.add(std::move(claimed));
        if (two_loops) jobs.wake_claimer(1);  // there is work: the second loop claims too
        continue;
      }
      room.release();
      if (opts.stop_when_empty) {
        // Empty only if nothing finished while we claimed (a retried job is ready again) and no
        // acknowledgement was pending when we did: an unacknowledged job still counted against
        // its tenant's concurrency cap, so the claim may have held back jobs that are ready now.
        if (jobs.idle() && completer.pending() == 0 && !acks_pending_at_claim &&
            jobs.finished() == finished_before_claim) {
          return WorkerExit::kEmpty;
        }
        jobs.wait_for_slots(opts.concurrency, std::chrono::milliseconds(5), stop.get_token());
        continue;
      }
      restart_hint =
          wait_for_work(conn, listener.get(), version,
                        std::chrono::milliseconds(static_cast<int64_t>(opts.sleep_s * 1000)));
    }
  }

  // The second claim loop, on its own connection and thread: claims while there is room above
  // the main loop's threshold and the worker is neither paused nor stopping; the main loop keeps
  // everything else (exit conditions, restart, rescue, wake-ups). After a claim that found nothing
  // it waits until the main loop claims something (or --sleep). Database errors: reconnect with
  // backoff, as the main loop does; `done` ends it when the main loop ends.
  void claim_alongside(std::stop_token done) {
    name_this_thread("unity claim 2");
    Claimer claimer(opts.queues, opts.name, lease_us, clock);
    const auto sleep = std::chrono::milliseconds(static_cast<int64_t>(opts.sleep_s * 1000));
    constexpr int kLoop = 1;
    for (int failures = 0; !done.stop_requested() && !stopping(); ++failures) {
      try {
        StoreSession own = session();
        JobStore& store = own.store();
        while (!done.stop_requested() && !stopping()) {
          const int wanted = capacity();
          const int threshold = std::max(1, (opts.concurrency + jobs.ahead()) / 2);
          if (paused.load() || wanted < threshold) {
            // Until enough room is free; when it is (paused, --max-jobs), until woken.
            const int until = jobs.room() < threshold ? threshold : std::numeric_limits<int>::max();
            jobs.wait_for_slots(until, std::chrono::milliseconds(100), done, kLoop);
            continue;
          }
          ClaimRoom room(jobs, wanted, opts.max_jobs, true);
          if (room.size() < threshold) continue;  // the main loop took the room: wait as above
          auto claimed = claimer.claim(store, room.size());
          failures = 0;
          if (claimed.empty()) {
            room.release();
            jobs.wait_for_slots(std::numeric_limits<int>::max(), sleep, done, kLoop);
            continue;
          }
          room.add(std::move(claimed));
        }
      } catch (const std::exception& e) {
        if (log) log->event("database_unavailable", e.what());
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(std::min(100 * (failures + 1), 2000));
        while (std::chrono::steady_clock::now() < until && !done.stop_requested() && !stopping()) {
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
      }
    }
  }

  // One claim. Where the database has one writer at a time (SQLite) it also deletes the
  // acknowledgements waiting in the completer, in the same transaction: one commit for both, and
  // the pages both touch go to the WAL once. If the transaction fails they go back to the
  // completer, which writes them itself.
  static std::vector<ClaimedJob> claim_with_acks(Completer& completer, Claimer& claimer,
                                                 JobStore& store, int wanted) {
    if (store.connection().capabilities().concurrent_writers) return claimer.claim(store, wanted);
    const std::vector<Lease> acks = completer.take_queued();
    if (acks.empty()) return claimer.claim(store, wanted);
    std::vector<ClaimedJob> claimed;
    try {
      db::Transaction tx(store.connection());
      store.job_complete_many(acks);
      claimed = claimer.claim(store, wanted);
      tx.commit();
    } catch (...) {
      completer.give_back(acks);
      throw;
    }
    completer.taken_written(acks);
    return claimed;
  }

  // Waits for work to arrive or `max_wait`, whichever first; returns early on stop. True when
  // queue:restart's notification arrived.
  bool wait_for_work(db::Connection& conn, db::Connection* listener, int64_t& version,
                     std::chrono::milliseconds max_wait) const {
    const auto until = std::chrono::steady_clock::now() + max_wait;
    while (std::chrono::steady_clock::now() < until && !stopping()) {
      if (listener) {
        if (auto n = listener->wait_notification(std::chrono::milliseconds(100))) {
          bool restart = n->payload == kRestartPayload;
          while (auto more = listener->wait_notification(std::chrono::milliseconds(0))) {
            restart = restart || more->payload == kRestartPayload;
          }
          return restart;
        }
        continue;
      }
      if (conn.capabilities().data_version) {
        const int64_t v = conn.data_version();
        if (v != version) {
          version = v;
          return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Returns claimed-but-not-started jobs to the queue (their attempt does not count).
  void return_waiting() {
    std::vector<Lease> back;
    for (const auto& j : jobs.take_waiting()) back.push_back(j.lease());
    if (back.empty()) return;
    try {
      session().store().job_unclaim(back);
    } catch (const std::exception& e) {
      if (log) log->event("unclaim_error", e.what());  // their leases expire: they run again
    }
  }

  db::ConnectionFactory connect;
  const Config& config;
  const WorkerOptions opts;
  AuditLog* log;
  const Clock& clock;
  const Attempts attempts;
  LocalJobs jobs;
  const int64_t lease_us;
  std::stop_source stop;
  std::atomic<bool> paused{false};
};

Worker::Worker(db::ConnectionFactory connect, const Config& config, const JobRegistry& registry,
               WorkerOptions options, AuditLog* log, const Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(connect), config, registry, std::move(options), log,
                                   clock)) {}

Worker::~Worker() = default;

WorkerExit Worker::run() { return impl_->run(); }

void Worker::request_stop() {
  impl_->stop.request_stop();
  impl_->jobs.wake_claimer();
}
void Worker::pause() { impl_->paused.store(true); }
void Worker::resume() {
  impl_->paused.store(false);
  impl_->jobs.wake_claimer();
}

WorkerStats Worker::stats() const { return impl_->jobs.stats(); }

const std::string& Worker::name() const { return impl_->opts.name; }

}  // namespace unity::queue
