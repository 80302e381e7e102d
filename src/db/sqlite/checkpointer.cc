#include "db/sqlite/checkpointer.h"

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>

#include "core/thread_name.h"

namespace unity::db {

struct Checkpointer::State {
  std::string path;
  int busy_timeout_ms = 5000;
  std::mutex mu;
  std::condition_variable_any cv;
  bool wanted = false;                 // a WAL passed kCheckpointPages since the last run
  std::atomic<bool> signalled{false};  // saves the lock on every commit past the threshold
  // The WAL's size when a commit last asked for a checkpoint. A PASSIVE checkpoint does not
  // shrink the WAL (the next writer restarts it from the top once everything is copied), so
  // "past kCheckpointPages" stays true for the commits after a run: asking again only once the
  // WAL has grown by kCheckpointPages more (or restarted) keeps the thread from waking, and
  // preempting the writer that woke it, after every commit.
  std::atomic<int> asked_at{0};
  std::atomic<long> runs{0};
  std::jthread thread;  // last: starts after the rest is built

  void loop(std::stop_token stop) {
    name_this_thread("unity checkpoint");
    sqlite3* db = nullptr;
    for (;;) {
      {
        std::unique_lock lock(mu);
        cv.wait(lock, stop, [&] { return wanted; });
        if (stop.stop_requested()) break;
        wanted = false;
      }
      signalled.store(false, std::memory_order_relaxed);
      if (!db) {
        if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK) {
          sqlite3_close(db);  // not there (yet): the next commit asks again
          db = nullptr;
          continue;
        }
        sqlite3_busy_timeout(db, busy_timeout_ms);
        sqlite3_wal_autocheckpoint(db, 0);
        // A connection learns the file is in WAL mode on its first read; until then a
        // checkpoint does nothing and says nothing.
        if (sqlite3_exec(db, "PRAGMA schema_version", nullptr, nullptr, nullptr) != SQLITE_OK) {
          sqlite3_close_v2(db);
          db = nullptr;
          continue;
        }
      }
      // PASSIVE: copies what no reader still needs, waits for nobody. A failure (busy, I/O) is
      // left to the next run; the committing connections fall back past kInlineCheckpointPages.
      sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      runs.fetch_add(1, std::memory_order_relaxed);
    }
    if (db) sqlite3_close_v2(db);
  }

  void wake() {
    if (signalled.exchange(true, std::memory_order_relaxed)) return;
    {
      std::lock_guard lock(mu);
      wanted = true;
    }
    cv.notify_one();
  }
};

namespace {

int on_wal_commit(void* arg, sqlite3* db, const char* schema, int pages) {
  if (pages >= kInlineCheckpointPages) {
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (pages >= kCheckpointPages) {
    auto* state = static_cast<Checkpointer::State*>(arg);
    const int asked = state->asked_at.load(std::memory_order_relaxed);
    if (pages < asked || pages >= asked + kCheckpointPages) {
      state->asked_at.store(pages, std::memory_order_relaxed);
      state->wake();
    }
  }
  return SQLITE_OK;
}

}  // namespace

std::shared_ptr<Checkpointer> Checkpointer::for_path(const std::string& path, int busy_timeout_ms) {
  static std::mutex guard;
  static std::map<std::string, std::weak_ptr<Checkpointer>> by_path;
  std::lock_guard lock(guard);
  if (auto live = by_path[path].lock()) return live;
  auto state = std::make_unique<State>();
  state->path = path;
  state->busy_timeout_ms = busy_timeout_ms;
  State* s = state.get();
  s->thread = std::jthread([s](std::stop_token stop) { s->loop(stop); });
  std::shared_ptr<Checkpointer> made(new Checkpointer(std::move(state)));
  by_path[path] = made;
  return made;
}

Checkpointer::Checkpointer(std::unique_ptr<State> state) : state_(std::move(state)) {}

Checkpointer::~Checkpointer() {
  state_->thread.request_stop();
  state_->thread.join();
}

void Checkpointer::attach(sqlite3* db) { sqlite3_wal_hook(db, on_wal_commit, state_.get()); }

long Checkpointer::runs() const { return state_->runs.load(std::memory_order_relaxed); }

}  // namespace unity::db
