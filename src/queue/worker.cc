#include "queue/worker.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "db/connection.h"
#include "db/transaction.h"
#include "queue/job_metrics.h"
#include "queue/running_job.h"
#include "queue/store.h"
#include "queue/workers.h"  // worker registry hook

namespace unity::queue {

namespace {

using Clock_ = std::chrono::steady_clock;

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

double elapsed_ms(Clock_::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock_::now() - since).count();
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

std::atomic<bool>& Worker::stop_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}
std::atomic<bool>& Worker::pause_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

struct Worker::Impl {
  struct Running {
    ClaimedJob job;
    Clock_::time_point started;
    std::chrono::seconds timeout;
    std::shared_ptr<std::atomic<bool>> cancel;
    int max_tries;
  };

  Impl(const Config& c, const JobRegistry& r, WorkerOptions o, AuditLog* l, const Clock& k)
      : config(c), registry(r), opts(std::move(o)), log(l), clock(k) {
    if (opts.queues.empty()) opts.queues = {config.queue_default};
    if (opts.name.empty()) opts.name = default_worker_name();
    if (opts.once) {
      opts.max_jobs = 1;
      opts.concurrency = 1;
    }
    lease_us = int64_t{config.queue_retry_after_s} * 1'000'000;
  }

  void validate() const {
    if (opts.concurrency < 1 || opts.concurrency > 1024) {
      throw invalid_argument("--concurrency must be between 1 and 1024");
    }
    if (opts.batch < 0 || opts.batch > 10000) throw invalid_argument("--batch must be 0 to 10000");
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

  // --- shared state -----------------------------------------------------------------------------
  const Config& config;
  const JobRegistry& registry;
  WorkerOptions opts;
  AuditLog* log;
  const Clock& clock;
  int64_t lease_us = 90'000'000;

  mutable std::mutex mu;              // guards everything below up to `stats`
  std::condition_variable work_cv;    // executors: a job is ready, or stop
  std::condition_variable fetch_cv;   // fetcher: a slot freed
  std::condition_variable ack_cv;     // completer: acks to write, or stop
  std::condition_variable keeper_cv;  // keeper: stop
  std::deque<ClaimedJob> ready;       // claimed, not started, in priority order
  std::map<int64_t, Running> running;
  std::vector<std::pair<int64_t, int64_t>> acks;
  int64_t unacked = 0;   // finished jobs whose acknowledgement is not written yet
  int64_t finished = 0;  // attempts finished so far (a job may be ready again after each)
  std::map<std::string, std::pair<int64_t, int64_t>> metrics;  // queue → completed, failed
  JobTypeMetrics type_metrics;  // per job type, for GET /metrics (flushed with `metrics`)
  bool executors_stop = false;
  bool completer_stop = false;
  bool keeper_stop = false;
  int64_t started_total = 0;
  WorkerStats stats;

  // queue:restart's NOTIFY arrived (fetcher thread only): check the signal now, not in a second.
  bool restart_hint = false;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> paused{false};
  std::map<std::string, size_t> queue_rank;
  // Per queue, per tenant: round-robin credit (fetcher thread only).
  std::map<std::string, std::map<int64_t, int64_t>> swrr_credit;
  // Worker registry hook: this worker's row in queue_workers (beaten by the keeper only).
  std::unique_ptr<WorkerPresence> presence;
  int64_t processed_count() const {
    std::lock_guard lock(mu);
    return stats.processed;
  }

  // --- helpers
  // ------------------------------------------------------------------------------------
  int tries_for(const ClaimedJob& j) const { return j.max_tries.value_or(opts.tries.value_or(3)); }
  std::chrono::seconds timeout_for(const ClaimedJob& j) const {
    return std::chrono::seconds(j.timeout_s.value_or(opts.timeout_s.value_or(60)));
  }
  Backoff backoff_for(const ClaimedJob& j) const {
    if (j.backoff) return Backoff::parse(*j.backoff);
    return opts.backoff.value_or(Backoff::exponential());
  }
  std::unique_ptr<db::Connection> connect() const {
    return db::open_connection(config, db::Role::kApp);
  }
  bool stopping() const { return stop_requested.load() || Worker::stop_flag().load(); }
  bool is_paused() const { return paused.load() || Worker::pause_flag().load(); }

  // Failed attempt: retry with backoff, or give up (failed_jobs + the failed() hook).
  // Returns the outcome word for the audit log.
  std::string retry_or_fail(JobStore& store, const ClaimedJob& job, const std::string& error,
                            bool give_up) {
    const int tries = tries_for(job);
    const bool expired = job.retry_until_us && store.now_us() >= *job.retry_until_us;
    if (give_up || expired || job.attempts >= tries) {
      if (!store.job_fail(job.id, job.lease_token, error)) return "fenced";
      run_failed_hook(store, job, error);
      return "failed";
    }
    thread_local std::mt19937_64 rng{std::random_device{}()};
    const double jitter = std::uniform_real_distribution<double>(0, 1)(rng);
    const auto delay = backoff_for(job).delay(job.attempts, jitter);
    const int64_t at =
        store.now_us() + std::chrono::duration_cast<std::chrono::microseconds>(delay).count();
    return store.job_release(job.id, job.lease_token, at, error) ? "retry" : "fenced";
  }

  void run_failed_hook(JobStore& store, const ClaimedJob& job, const std::string& error) {
    const JobType* type = registry.find(job.type);
    if (!type) return;
    try {
      std::optional<db::TenantScope> scope;
      if (job.tenant_id != 0) scope.emplace(store.connection(), job.tenant_id);
      RunningJob ctx(job, store.connection(), nullptr, nullptr, tries_for(job));
      type->make()->failed(ctx, error);
    } catch (const std::exception& e) {
      if (log) log->event("failed_hook_error", job.type + ": " + e.what());
    }
  }

  // Runs one attempt on `conn`; returns the outcome.
  std::string execute(db::Connection& conn, JobStore& store, const ClaimedJob& job,
                      const std::shared_ptr<std::atomic<bool>>& cancel, std::string& error) {
    const JobType* type = registry.find(job.type);
    if (!type) {
      error = "unknown job type '" + job.type + "' (not registered in this worker)";
      return retry_or_fail(store, job, error, true);
    }
    if (job.retry_until_us && store.now_us() >= *job.retry_until_us) {
      error = "retry_until passed";
      return retry_or_fail(store, job, error, true);
    }
    std::optional<db::TenantScope> scope;
    if (job.tenant_id != 0) scope.emplace(conn, job.tenant_id);
    RunningJob ctx(job, conn, &store, cancel.get(), tries_for(job));
    try {
      auto instance = type->make();
      if (type->options.transactional) {
        db::Transaction tx(conn);
        instance->handle(ctx);
        fault_point();
        if (ctx.released()) {
          const int64_t at = store.now_us() + ctx.released()->count() * 1000;
          if (!store.job_release(job.id, job.lease_token, at, "")) return "fenced";
          tx.commit();
          return "released";
        }
        // Completing in the handler's transaction fences a worker whose lease was taken over.
        if (!store.job_complete(job.id, job.lease_token)) return "fenced";
        tx.commit();
        return "done";
      }
      instance->handle(ctx);
      fault_point();
      if (ctx.released()) {
        const int64_t at = store.now_us() + ctx.released()->count() * 1000;
        return store.job_release(job.id, job.lease_token, at, "") ? "released" : "fenced";
      }
      {
        std::lock_guard lock(mu);
        acks.emplace_back(job.id, job.lease_token);
        ++unacked;
      }
      ack_cv.notify_one();
      return "done";
    } catch (const GiveUp& e) {
      error = e.what();
      return retry_or_fail(store, job, error, true);
    } catch (const std::exception& e) {
      error = e.what();
      if (cancel->load())
        error = "timed out after " + std::to_string(timeout_for(job).count()) + " s: " + error;
      return retry_or_fail(store, job, error, false);
    }
  }

  // Fault injection for the crash tests: UNITY_FAULT=exit_after_handler ends the process between
  // the handler and the acknowledgement, as a power cut would.
  static void fault_point() {
    static const bool crash = [] {
      const char* f = std::getenv("UNITY_FAULT");
      return f && std::string(f) == "exit_after_handler";
    }();
    if (crash) std::_Exit(99);
  }

  void executor_loop() {
    std::unique_ptr<db::Connection> conn;
    std::unique_ptr<JobStore> store;
    for (;;) {
      ClaimedJob job;
      std::shared_ptr<std::atomic<bool>> cancel = std::make_shared<std::atomic<bool>>(false);
      {
        std::unique_lock lock(mu);
        work_cv.wait(lock, [&] { return !ready.empty() || executors_stop; });
        if (ready.empty()) return;
        job = std::move(ready.front());
        ready.pop_front();
        running[job.id] = Running{job, Clock_::now(), timeout_for(job), cancel, tries_for(job)};
        ++started_total;
      }
      const auto t0 = Clock_::now();
      if (log) log->job_started(job);
      std::string error, outcome;
      try {
        if (!conn) {
          conn = connect();
          store = std::make_unique<JobStore>(*conn, config.queue_table, clock);
        }
        outcome = execute(*conn, *store, job, cancel, error);
      } catch (const std::exception& e) {
        // The database failed around the handler (not the handler itself): the job keeps its
        // lease and is rescued after it; drop the connection and start afresh.
        outcome = "error";
        error = e.what();
        store.reset();
        conn.reset();
      }
      if (log) log->job_finished(job, outcome, elapsed_ms(t0), error);
      {
        std::lock_guard lock(mu);
        running.erase(job.id);
        ++finished;
        ++stats.processed;
        if (outcome == "done") ++stats.completed;
        if (outcome == "retry" || outcome == "released") ++stats.retried;
        if (outcome == "failed") ++stats.failed;
        if (outcome == "done") ++metrics[job.queue].first;
        if (outcome == "failed") ++metrics[job.queue].second;
        type_metrics.record(job.type, job.queue, outcome,
                            static_cast<int64_t>(elapsed_ms(t0) * 1000),
                            job.claimed_at_us - job.available_at_us);
      }
      fetch_cv.notify_one();
    }
  }

  void completer_loop() {
    std::unique_ptr<db::Connection> conn;
    std::unique_ptr<JobStore> store;
    for (;;) {
      std::vector<std::pair<int64_t, int64_t>> batch;
      {
        std::unique_lock lock(mu);
        ack_cv.wait(lock, [&] { return !acks.empty() || completer_stop; });
        if (acks.empty()) return;
        // Gather for up to a millisecond: one transaction for many acknowledgements.
        ack_cv.wait_for(lock, std::chrono::milliseconds(1),
                        [&] { return acks.size() >= 512 || completer_stop; });
        batch.swap(acks);
      }
      for (int attempt = 0;; ++attempt) {
        try {
          if (!conn) {
            conn = connect();
            store = std::make_unique<JobStore>(*conn, config.queue_table, clock);
          }
          store->job_complete_many(batch);
          break;
        } catch (const std::exception& e) {
          store.reset();
          conn.reset();
          if (log) log->event("ack_error", e.what());
          if (attempt >= 50) break;  // the leases expire and the jobs run again: at-least-once
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
      }
      {
        std::lock_guard lock(mu);
        unacked -= static_cast<int64_t>(batch.size());
      }
      fetch_cv.notify_one();
    }
  }

  // Heartbeats, timeouts, log flushing.
  void keeper_loop() {
    std::unique_ptr<db::Connection> conn;
    std::unique_ptr<JobStore> store;
    auto last_beat = Clock_::now();
    auto last_metrics = Clock_::now();
    const auto beat_every = std::chrono::microseconds(lease_us / 3);
    for (;;) {
      {
        std::unique_lock lock(mu);
        if (keeper_cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return keeper_stop; })) {
          break;
        }
      }
      check_timeouts(conn, store);
      if (Clock_::now() - last_metrics >= std::chrono::seconds(1)) {
        last_metrics = Clock_::now();
        flush_metrics(conn, store);
      }
      if (Clock_::now() - last_beat >= beat_every) {
        try {
          if (!conn) {
            conn = connect();
            store = std::make_unique<JobStore>(*conn, config.queue_table, clock);
          }
          store->lease_extend(held_jobs(), lease_us);
          last_beat = Clock_::now();
        } catch (const std::exception& e) {
          store.reset();
          conn.reset();
          if (log) log->event("heartbeat_error", e.what());
        }
      }
      if (log) log->flush();
      if (presence) presence->beat_if_due(processed_count());  // worker registry hook
    }
    flush_metrics(conn, store);
  }

  // Writes the throughput counters (queue:stats) gathered since the last flush.
  void flush_metrics(std::unique_ptr<db::Connection>& conn, std::unique_ptr<JobStore>& store) {
    std::map<std::string, std::pair<int64_t, int64_t>> batch;
    JobTypeMetrics types;
    {
      std::lock_guard lock(mu);
      batch.swap(metrics);
      std::swap(types, type_metrics);
    }
    if (batch.empty() && types.empty()) return;
    try {
      if (!conn) {
        conn = connect();
        store = std::make_unique<JobStore>(*conn, config.queue_table, clock);
      }
      db::Transaction tx(*conn);
      conn->relax_commit_durability();
      for (const auto& [q, n] : batch) store->metrics_add(q, n.first, n.second);
      types.add_to(*conn, store->now_us());
      tx.commit();
    } catch (const std::exception& e) {
      store.reset();
      conn.reset();
      if (log) log->event("metrics_error", e.what());  // statistics only: dropped
    }
  }

  // Every job this process holds a lease on: running, claimed ahead, or awaiting its ack.
  std::vector<std::pair<int64_t, int64_t>> held_jobs() const {
    std::lock_guard lock(mu);
    std::vector<std::pair<int64_t, int64_t>> out(acks);
    for (const auto& [id, r] : running) out.emplace_back(id, r.job.lease_token);
    for (const auto& j : ready) out.emplace_back(j.id, j.lease_token);
    return out;
  }

  void check_timeouts(std::unique_ptr<db::Connection>& conn, std::unique_ptr<JobStore>& store) {
    std::vector<Running> overdue;
    {
      std::lock_guard lock(mu);
      for (auto& [id, r] : running) {
        const auto age = Clock_::now() - r.started;
        if (age >= r.timeout) r.cancel->store(true);
        if (age >= r.timeout + opts.grace) overdue.push_back(r);
      }
    }
    if (overdue.empty()) return;
    // A handler ignored cancellation: record the attempt and leave, so a supervisor restarts us.
    try {
      if (!conn) {
        conn = connect();
        store = std::make_unique<JobStore>(*conn, config.queue_table, clock);
      }
      for (const auto& r : overdue) {
        const std::string error = "timed out after " + std::to_string(r.timeout.count()) +
                                  " s and did not stop; the worker exited";
        const std::string outcome = retry_or_fail(*store, r.job, error, false);
        if (log) log->job_finished(r.job, "timeout:" + outcome, elapsed_ms(r.started), error);
      }
    } catch (const std::exception& e) {
      if (log) log->event("timeout_record_error", e.what());
    }
    if (log) {
      log->event("exit", "a job exceeded its timeout and grace period");
      log->flush();
    }
    std::_Exit(124);
  }

  // --- claiming
  // -----------------------------------------------------------------------------------
  struct Snapshot {
    std::set<std::pair<int64_t, std::string>> pauses;
    std::map<int64_t, TenantSettings> settings;
    Clock_::time_point at;
  };
  Snapshot snapshot;

  void refresh_snapshot(JobStore& store) {
    if (Clock_::now() - snapshot.at < std::chrono::seconds(1)) return;  // at most once a second
    snapshot.pauses.clear();
    for (auto& p : store.tenant_pauses()) snapshot.pauses.insert(p);
    snapshot.settings.clear();
    for (auto& s : store.tenant_settings()) snapshot.settings[s.tenant_id] = s;
    snapshot.at = Clock_::now();
  }

  bool tenant_paused(int64_t tenant, const std::string& queue) const {
    return snapshot.pauses.count({tenant, queue}) || snapshot.pauses.count({tenant, "*"});
  }
  int weight_of(int64_t tenant) const {
    auto it = snapshot.settings.find(tenant);
    return it == snapshot.settings.end() ? 1 : it->second.weight;
  }

  // Smooth weighted round-robin (as nginx balances upstreams): every pick adds each tenant's
  // weight to its credit, takes the tenant with the most credit and charges it the total. The
  // credits persist across claims, so weights hold even when a claim is for one slot.
  std::vector<int64_t> pick_tenants(const std::string& queue, const std::vector<int64_t>& tenants,
                                    int picks) {
    auto& credit = swrr_credit[queue];
    std::map<int64_t, int64_t> kept;
    for (int64_t t : tenants) kept[t] = credit.count(t) ? credit[t] : 0;
    credit.swap(kept);
    int64_t total = 0;
    for (int64_t t : tenants) total += weight_of(t);
    std::vector<int64_t> out;
    out.reserve(picks);
    for (int i = 0; i < picks; ++i) {
      int64_t best = tenants.front();
      for (int64_t t : tenants) {
        credit[t] += weight_of(t);
        if (credit[t] > credit[best]) best = t;
      }
      credit[best] -= total;
      out.push_back(best);
    }
    return out;
  }

  // Claims up to `capacity` jobs: queues in priority order, tenants by weighted round-robin.
  std::vector<ClaimedJob> claim(JobStore& store, int capacity) {
    refresh_snapshot(store);
    std::vector<ClaimedJob> out;
    const int64_t token = new_lease_token();
    for (const auto& q : opts.queues) {
      if (capacity <= 0) break;
      std::vector<int64_t> tenants;
      for (int64_t t : store.job_tenants_waiting(q)) {
        if (!tenant_paused(t, q)) tenants.push_back(t);
      }
      if (tenants.empty()) continue;
      const std::vector<int64_t> sequence = pick_tenants(q, tenants, capacity);
      std::map<int64_t, int> wanted;
      for (int64_t t : sequence) ++wanted[t];
      std::map<int64_t, std::deque<ClaimedJob>> got;
      std::map<int64_t, bool> exhausted;
      int claimed = 0;
      auto claim_from = [&](int64_t t, int n) {
        auto it = snapshot.settings.find(t);
        if (it != snapshot.settings.end() && it->second.max_concurrency) {
          const int64_t free = *it->second.max_concurrency - store.job_count_reserved(t);
          n = static_cast<int>(std::min<int64_t>(n, std::max<int64_t>(free, 0)));
        }
        if (n <= 0) {
          exhausted[t] = true;
          return;
        }
        auto jobs = store.job_claim(q, t, n, token, opts.name, lease_us);
        if (static_cast<int>(jobs.size()) < n) exhausted[t] = true;
        claimed += static_cast<int>(jobs.size());
        for (auto& j : jobs) got[t].push_back(std::move(j));
      };
      for (const auto& [t, n] : wanted) claim_from(t, n);
      // Slots a tenant could not fill go to the others that still have jobs.
      for (int64_t t : tenants) {
        if (claimed >= capacity) break;
        if (!exhausted[t]) claim_from(t, capacity - claimed);
      }
      // Hand the jobs out in the round-robin order, then whatever the second pass added.
      for (int64_t t : sequence) {
        auto& d = got[t];
        if (d.empty()) continue;
        out.push_back(std::move(d.front()));
        d.pop_front();
      }
      for (auto& [t, d] : got) {
        for (auto& j : d) out.push_back(std::move(j));
      }
      capacity -= claimed;
      // Strict priority: a lower queue only when this one ran out of ready jobs.
      bool all_exhausted = true;
      for (int64_t t : tenants) all_exhausted = all_exhausted && exhausted[t];
      if (!all_exhausted) break;
    }
    return out;
  }

  void enqueue_local(std::vector<ClaimedJob>& jobs) {
    {
      std::lock_guard lock(mu);
      for (auto& j : jobs) {
        // Keep the local queue in priority order (a high job overtakes claimed-ahead low ones).
        const size_t rank = queue_rank[j.queue];
        auto pos = std::find_if(ready.begin(), ready.end(),
                                [&](const ClaimedJob& r) { return queue_rank[r.queue] > rank; });
        ready.insert(pos, std::move(j));
      }
    }
    for (size_t i = 0; i < jobs.size(); ++i) work_cv.notify_one();
  }

  void rescue(JobStore& store) {
    auto expired = store.lease_rescue_expired(new_lease_token(), 100);
    for (const auto& job : expired) {
      const std::string error = "lease expired after attempt " + std::to_string(job.attempts) +
                                " (its worker stopped heartbeating: killed or stuck)";
      const std::string outcome = retry_or_fail(store, job, error, false);
      if (log) log->job_finished(job, "rescued:" + outcome, 0, error);
    }
  }

  // Waits for work to arrive or `max_wait`, whichever first; returns early on stop or a freed slot.
  void wait_for_work(db::Connection& conn, db::Connection* listener, int64_t& version,
                     std::chrono::milliseconds max_wait) {
    const auto until = Clock_::now() + max_wait;
    while (Clock_::now() < until && !stopping()) {
      if (listener) {
        if (auto n = listener->wait_notification(std::chrono::milliseconds(100))) {
          bool restart = n->payload == kRestartPayload;
          while (auto more = listener->wait_notification(std::chrono::milliseconds(0))) {
            restart = restart || more->payload == kRestartPayload;
          }
          if (restart) restart_hint = true;
          return;
        }
        continue;
      }
      if (conn.capabilities().data_version) {
        const int64_t v = conn.data_version();
        if (v != version) {
          version = v;
          return;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(500));
        continue;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  bool idle() const {
    std::lock_guard lock(mu);
    return running.empty() && ready.empty();
  }

  int free_slots() const {
    std::lock_guard lock(mu);
    return opts.concurrency - static_cast<int>(running.size() + ready.size());
  }

  WorkerExit fetch_loop() {
    for (size_t i = 0; i < opts.queues.size(); ++i) queue_rank[opts.queues[i]] = i;
    if (log)
      log->event("worker.start", "queues=" + std::to_string(opts.queues.size()) +
                                     " concurrency=" + std::to_string(opts.concurrency));
    const auto started = Clock_::now();
    int64_t started_us = 0;
    for (int failures = 0;; ++failures) {
      try {
        return fetch_until_exit(started, started_us);
      } catch (const Error& e) {
        // The database went away (restart, network): keep the jobs in flight, reconnect, go on.
        if (e.code() != ErrorCode::kUnavailable || stopping()) throw;
        if (log) log->event("database_unavailable", e.what());
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::min(100 * (failures + 1), 2000)));
      }
    }
  }

  WorkerExit fetch_until_exit(Clock_::time_point started, int64_t& started_us) {
    auto conn = connect();
    JobStore store(*conn, config.queue_table, clock);
    std::unique_ptr<db::Connection> listener;
    if (conn->capabilities().listen_notify) {
      listener = connect();
      listener->listen("unity_jobs");
    }
    int64_t version = conn->capabilities().data_version ? conn->data_version() : 0;
    if (started_us == 0) started_us = store.now_us() - process_age().count();
    auto last_rescue = Clock_::time_point{};
    auto last_signal_check = Clock_::now();

    for (;;) {
      if (stopping()) return WorkerExit::kStopped;
      if (opts.max_time_s > 0 && Clock_::now() - started >= std::chrono::seconds(opts.max_time_s)) {
        return WorkerExit::kMaxTime;
      }
      if (opts.memory_mb > 0 && resident_mb() >= opts.memory_mb) return WorkerExit::kMemory;
      {
        std::lock_guard lock(mu);
        if (opts.max_jobs > 0 && stats.processed >= opts.max_jobs) return WorkerExit::kMaxJobs;
      }
      if (restart_hint || Clock_::now() - last_signal_check >= std::chrono::seconds(1)) {
        last_signal_check = Clock_::now();
        restart_hint = false;
        if (store.signal_restart_at() > started_us) return WorkerExit::kRestart;
      }
      if (Clock_::now() - last_rescue >= std::chrono::seconds(1)) {
        last_rescue = Clock_::now();
        rescue(store);
      }
      int capacity = free_slots();
      if (opts.max_jobs > 0) {
        std::lock_guard lock(mu);
        capacity = static_cast<int>(std::min<int64_t>(
            capacity, opts.max_jobs - started_total - static_cast<int64_t>(ready.size())));
      }
      if (opts.batch > 0 && capacity > 0) {
        std::lock_guard lock(mu);
        capacity = std::max(capacity, opts.batch - static_cast<int>(ready.size()));
      }
      // Claim when at least half the slots are free (or the worker is idle): fewer, larger
      // claims, and never more than the free slots (strict priority holds).
      const int threshold = std::max(1, opts.concurrency / 2);
      if (is_paused() || capacity <= 0 || (capacity < threshold && !idle())) {
        std::unique_lock lock(mu);
        fetch_cv.wait_for(lock, std::chrono::milliseconds(100), [&] {
          return stopping() ||
                 (!is_paused() &&
                  opts.concurrency - static_cast<int>(running.size() + ready.size()) >= threshold);
        });
        continue;
      }
      int64_t finished_before_claim = 0;
      bool acks_pending_at_claim = false;
      {
        std::lock_guard lock(mu);
        finished_before_claim = finished;
        acks_pending_at_claim = unacked != 0;
      }
      auto jobs = claim(store, capacity);
      if (!jobs.empty()) {
        enqueue_local(jobs);
        continue;
      }
      if (opts.stop_when_empty) {
        std::unique_lock lock(mu);
        // Empty only if nothing finished while we claimed (a retried job is ready again) and no
        // acknowledgement was pending when we did: an unacknowledged job still counted against
        // its tenant's concurrency cap, so the claim may have held back jobs that are ready now.
        if (running.empty() && ready.empty() && unacked == 0 && !acks_pending_at_claim &&
            finished == finished_before_claim) {
          return WorkerExit::kEmpty;
        }
        fetch_cv.wait_for(lock, std::chrono::milliseconds(5));
        continue;
      }
      wait_for_work(*conn, listener.get(), version,
                    std::chrono::milliseconds(static_cast<int64_t>(opts.sleep_s * 1000)));
    }
  }

  // Returns claimed-but-not-started jobs to the queue (their attempt does not count).
  void return_unstarted() {
    std::vector<std::pair<int64_t, int64_t>> back;
    {
      std::lock_guard lock(mu);
      for (const auto& j : ready) back.emplace_back(j.id, j.lease_token);
      ready.clear();
    }
    if (back.empty()) return;
    try {
      auto conn = connect();
      JobStore(*conn, config.queue_table, clock).job_unclaim(back);
    } catch (const std::exception& e) {
      if (log) log->event("unclaim_error", e.what());  // their leases expire: they run again
    }
  }
};

Worker::Worker(const Config& config, const JobRegistry& registry, WorkerOptions options,
               AuditLog* log, const Clock& clock)
    : impl_(std::make_unique<Impl>(config, registry, std::move(options), log, clock)) {}

Worker::~Worker() = default;

WorkerExit Worker::run() {
  Impl& w = *impl_;
  w.validate();
  w.presence = std::make_unique<WorkerPresence>(w.config, w.clock, w.opts.name, w.opts.queues,
                                                w.opts.concurrency, w.log);  // worker registry
  std::vector<std::thread> executors;
  for (int i = 0; i < w.opts.concurrency; ++i) executors.emplace_back([&w] { w.executor_loop(); });
  std::thread completer([&w] { w.completer_loop(); });
  std::thread keeper([&w] { w.keeper_loop(); });
  WorkerExit exit = WorkerExit::kStopped;
  std::exception_ptr failure;
  try {
    exit = w.fetch_loop();
  } catch (...) {
    failure = std::current_exception();
  }
  w.return_unstarted();
  {
    std::lock_guard lock(w.mu);
    w.executors_stop = true;
  }
  w.work_cv.notify_all();
  for (auto& t : executors) t.join();
  {
    std::lock_guard lock(w.mu);
    w.completer_stop = true;
    w.keeper_stop = true;
  }
  w.ack_cv.notify_all();
  w.keeper_cv.notify_all();
  completer.join();
  keeper.join();
  w.presence.reset();  // worker registry: unregister
  if (w.log) {
    w.log->event("worker.exit", worker_exit_name(exit));
    w.log->flush();
  }
  if (failure) std::rethrow_exception(failure);
  return exit;
}

void Worker::request_stop() { impl_->stop_requested.store(true); }
void Worker::pause() { impl_->paused.store(true); }
void Worker::resume() { impl_->paused.store(false); }

WorkerStats Worker::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

const std::string& Worker::name() const { return impl_->opts.name; }

}  // namespace unity::queue
