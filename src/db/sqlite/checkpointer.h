#pragma once
// WAL checkpoints off the writers' path, for the connections of long-running processes (the
// worker, the server: SqliteOptions::background_checkpoint).
//
// SQLite's own autocheckpoint runs inside the COMMIT that takes the WAL past 1,000 pages: that
// writer copies the WAL back into the database file and fsyncs it while it still holds the
// process's writer lock, so every other writer waits behind it (a third of a busy worker's
// claims on a drain). Here the connection's WAL hook only wakes one thread per database file,
// which runs a PASSIVE checkpoint on its own connection: it never blocks a writer or a reader,
// and writers go on appending while it copies. Should it fall far behind (the WAL past
// kInlineCheckpointPages), the committing connection checkpoints itself, as SQLite would, so the
// WAL cannot grow without bound.

#include <memory>
#include <string>

struct sqlite3;

namespace unity::db {

inline constexpr int kCheckpointPages = 1000;         // SQLite's autocheckpoint default
inline constexpr int kInlineCheckpointPages = 20000;  // ~80 MiB of WAL at 4 KiB pages

class Checkpointer {
 public:
  // The checkpointer of `path`, shared by every connection of this process that asks for it;
  // its thread ends when the last of them is gone.
  static std::shared_ptr<Checkpointer> for_path(const std::string& path, int busy_timeout_ms);

  // Turns off `db`'s autocheckpoint and wakes this checkpointer from its WAL hook instead.
  // `db` must not outlive this object (the connection holds the shared_ptr).
  void attach(sqlite3* db);

  // Checkpoints run so far (for tests and diagnostics).
  long runs() const;

  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  struct State;

 private:
  explicit Checkpointer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace unity::db
