#include "db/sqlite/sqlite_connection.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/embedded_file.h"
#include "core/error.h"
#include "db/sqlite/checkpointer.h"

namespace unity::db {
const std::vector<unity::EmbeddedFile>& sqlite_migration_files();

namespace {

// The one place SQLite result codes become unity::Error codes (STYLE.md "Errors").
Error translate(int rc, const std::string& message) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return unavailable("database is busy (another writer holds the lock): " + message);
    case SQLITE_CONSTRAINT:
      switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
          return already_exists(message);
        case SQLITE_CONSTRAINT_FOREIGNKEY:
          return not_found("a referenced row does not exist (" + message + ")");
        case SQLITE_CONSTRAINT_TRIGGER:
          return failed_precondition(message);
        default:
          return invalid_argument(message);
      }
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_PERM:
      return unavailable(message);
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return invalid_argument(message);
    default:
      return internal_error(message);
  }
}

// Maps $1..$N to ?1..?N outside string literals, identifiers in quotes and comments.
std::string map_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      size_t end = sql.find(c, i + 1);
      while (end != std::string_view::npos && end + 1 < sql.size() && sql[end + 1] == c) {
        end = sql.find(c, end + 2);
      }
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size() - 1;
      out.append(sql.substr(i, end - i + 1));
      i = end;
    } else if (c == '$' && i + 1 < sql.size() &&
               std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out.push_back('?');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// One writer at a time per database file inside this process: threads queue on a mutex instead
// of SQLite's busy handler, which sleeps in growing steps and leaves the lock idle between them.
// Timed, so a writer stuck holding it cannot block others past the busy timeout.
std::timed_mutex& writer_mutex(const std::string& path) {
  static std::mutex guard;  // guards `by_path`
  static std::map<std::string, std::unique_ptr<std::timed_mutex>> by_path;
  std::lock_guard lock(guard);
  auto& m = by_path[path];
  if (!m) m = std::make_unique<std::timed_mutex>();
  return *m;
}

// A new database file is created 0600 before SQLite opens it (SQLite would create it 0644): it
// holds every tenant's data. SQLite gives the -wal and -shm files it creates beside it the
// database file's own mode. An existing file keeps its mode; memory databases and URIs are left.
void create_private(const std::string& path) {
  if (path.empty() || path == ":memory:" || path.rfind("file:", 0) == 0) return;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::fchmod(fd, 0600);  // whatever the umask
    ::close(fd);
  }  // else it exists (kept as it is) or cannot be created (sqlite3_open_v2 says why)
}

struct CachedStatement {
  sqlite3_stmt* stmt = nullptr;
  bool in_use = false;
  std::shared_ptr<const std::vector<std::string>> columns;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(const SqliteOptions& options) : path_(options.path) {
    if (options.create_if_missing) create_private(path_);
    int rc = sqlite3_open_v2(path_.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                                 (options.create_if_missing ? SQLITE_OPEN_CREATE : 0),
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw unavailable(open_failure(msg));
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, options.busy_timeout_ms);
    busy_timeout_ms_ = options.busy_timeout_ms;
    try {
      switch_to_wal(options.busy_timeout_ms);
      execute_script(options.synchronous_full ? "PRAGMA synchronous=FULL"
                                              : "PRAGMA synchronous=NORMAL");
      execute_script("PRAGMA foreign_keys=ON");
      // 16 MiB of page cache (default 2 MiB): a busy transaction's pages stay in memory instead
      // of spilling to the WAL before commit.
      execute_script("PRAGMA cache_size=-16384");
      if (options.background_checkpoint && path_ != ":memory:" && !path_.empty()) {
        checkpointer_ = Checkpointer::for_path(path_, options.busy_timeout_ms);
        checkpointer_->attach(db_);
      }
    } catch (const Error& e) {
      sqlite3_close_v2(db_);
      db_ = nullptr;
      throw unavailable(open_failure(e.what()));
    }
    caps_.skip_locked = false;
    caps_.listen_notify = false;
    caps_.row_level_security = false;
    caps_.concurrent_writers = false;
    caps_.data_version = true;
  }

  // Switching a new file to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY at once,
  // without its busy handler, while another connection is initialising the same WAL: several
  // processes opening a fresh database together (concurrent `migrate`) saw "database is locked".
  // Retry for as long as a statement would wait for a writer.
  void switch_to_wal(int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      const int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return;
      const bool busy = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
      if (!busy || std::chrono::steady_clock::now() >= deadline) {
        throw translate(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
      }
      sqlite3_sleep(5);
    }
  }

  ~SqliteConnection() override {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
    if (db_) sqlite3_close_v2(db_);
  }

  Dialect dialect() const override { return Dialect::kSqlite; }
  const Capabilities& capabilities() const override { return caps_; }
  std::string describe() const override { return "sqlite " + path_; }

  void execute_script(std::string_view sql) override {
    char* err = nullptr;
    std::string text(sql);
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw translate(sqlite3_extended_errcode(db_), msg);
    }
  }

  int64_t execute(std::string_view sql, const Params& params) override {
    run(sql, params, nullptr);
    return sqlite3_changes64(db_);
  }

  void query_each(std::string_view sql, const Params& params, const RowCallback& on_row) override {
    run(sql, params, &on_row);
  }

  const std::vector<EmbeddedFile>& migration_files() const override {
    return sqlite_migration_files();
  }

  std::string id_set_sql(int param) const override {
    return "(SELECT value FROM json_each($" + std::to_string(param) + "))";
  }
  std::string id_set_param(const std::vector<int64_t>& ids) const override {
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : "") + std::to_string(ids[i]);
    return out + "]";
  }
  int64_t data_version() override { return query_int("PRAGMA data_version"); }

  void drop_all() override {
    std::vector<std::string> names;
    query_each(
        "SELECT type, name FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE "
        "'sqlite_%'",
        {}, [&](const Row& r) {
          names.push_back("DROP " +
                          std::string(r.get<std::string>(0) == "view" ? "VIEW" : "TABLE") +
                          " IF EXISTS \"" + r.get<std::string>(1) + "\"");
        });
    clear_cache();
    execute_script("PRAGMA foreign_keys=OFF");
    for (const auto& stmt : names) execute_script(stmt);
    execute_script("PRAGMA foreign_keys=ON");
  }

 protected:
  void begin_outermost(bool write) override {
    if (write) {
      std::unique_lock<std::timed_mutex> lock(writer_mutex(path_), std::defer_lock);
      if (!lock.try_lock_for(std::chrono::milliseconds(busy_timeout_ms_))) {
        throw unavailable("database is busy (another writer in this process holds it): " + path_);
      }
      write_lock_ = std::move(lock);
    }
    try {
      execute_script(write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
    } catch (...) {
      if (write_lock_.owns_lock()) write_lock_.unlock();
      throw;
    }
  }
  void commit_outermost() override {
    execute_script("COMMIT");
    if (write_lock_.owns_lock()) write_lock_.unlock();
  }
  void rollback_outermost() override {
    struct Release {
      std::unique_lock<std::timed_mutex>& l;
      ~Release() {
        if (l.owns_lock()) l.unlock();
      }
    } release{write_lock_};
    if (!sqlite3_get_autocommit(db_)) execute_script("ROLLBACK");
  }
  void apply_tenant(std::optional<int64_t>) override {}

 private:
  std::string open_failure(const std::string& reason) const {
    return "cannot open SQLite database '" + path_ + "': " + reason +
           " (check that its folder exists and is writable, or set DB_DATABASE)";
  }

  void clear_cache() {
    for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
    cache_.clear();
  }

  sqlite3_stmt* prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string mapped = map_placeholders(sql);
    int rc = sqlite3_prepare_v3(db_, mapped.c_str(), static_cast<int>(mapped.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
      throw translate(sqlite3_extended_errcode(db_),
                      std::string(sqlite3_errmsg(db_)) + " in: " + std::string(sql));
    }
    return stmt;
  }

  void bind(sqlite3_stmt* stmt, const Params& params) {
    int n = sqlite3_bind_parameter_count(stmt);
    if (static_cast<size_t>(n) != params.size()) {
      throw internal_error("statement takes " + std::to_string(n) + " parameters, got " +
                           std::to_string(params.size()));
    }
    int i = 1;
    for (const Value& v : params.values()) {
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(v)) {
        rc = sqlite3_bind_null(stmt, i);
      } else if (auto* iv = std::get_if<int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt, i, *iv);
      } else if (auto* dv = std::get_if<double>(&v)) {
        rc = sqlite3_bind_double(stmt, i, *dv);
      } else {
        const auto& s = std::get<std::string>(v);
        rc = sqlite3_bind_text64(stmt, i, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) throw translate(rc, sqlite3_errmsg(db_));
      ++i;
    }
  }

  static Value column_value(sqlite3_stmt* stmt, int i) {
    switch (sqlite3_column_type(stmt, i)) {
      case SQLITE_INTEGER:
        return sqlite3_column_int64(stmt, i);
      case SQLITE_FLOAT:
        return sqlite3_column_double(stmt, i);
      case SQLITE_NULL:
        return kNull;
      default: {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_blob(stmt, i));
        return std::string(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, i)));
      }
    }
  }

  void run(std::string_view sql, const Params& params, const RowCallback* on_row) {
    // A statement already stepping (a query run from inside another's row callback) gets a
    // one-off copy, so the cached one is never reset under its user.
    std::string key(sql);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
      if (cache_.size() >= kMaxCached) clear_cache_unused();
      it = cache_.emplace(key, CachedStatement{prepare(sql), false, nullptr}).first;
    }
    CachedStatement* cached = &it->second;
    CachedStatement one_off;
    if (cached->in_use) {
      one_off.stmt = prepare(sql);
      cached = &one_off;
    }
    sqlite3_stmt* stmt = cached->stmt;
    cached->in_use = true;
    struct Reset {
      CachedStatement* c;
      bool finalize;
      ~Reset() {
        sqlite3_reset(c->stmt);
        sqlite3_clear_bindings(c->stmt);
        c->in_use = false;
        if (finalize) sqlite3_finalize(c->stmt);
      }
    } reset{cached, cached == &one_off};
    bind(stmt, params);
    const int ncols = sqlite3_column_count(stmt);
    if (on_row && !cached->columns) {
      auto cols = std::make_shared<std::vector<std::string>>();
      for (int i = 0; i < ncols; ++i) cols->emplace_back(sqlite3_column_name(stmt, i));
      cached->columns = std::move(cols);
    }
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        throw translate(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
      }
      if (!on_row) continue;
      std::vector<Value> values;
      values.reserve(ncols);
      for (int i = 0; i < ncols; ++i) values.push_back(column_value(stmt, i));
      (*on_row)(Row(cached->columns, std::move(values)));
    }
  }

  void clear_cache_unused() {
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.in_use) {
        ++it;
      } else {
        sqlite3_finalize(it->second.stmt);
        it = cache_.erase(it);
      }
    }
  }

  static constexpr size_t kMaxCached = 256;
  std::string path_;
  int busy_timeout_ms_ = 5000;
  std::unique_lock<std::timed_mutex> write_lock_;  // held from BEGIN IMMEDIATE to COMMIT/ROLLBACK
  std::shared_ptr<Checkpointer> checkpointer_;     // background_checkpoint: outlives db_
  sqlite3* db_ = nullptr;
  Capabilities caps_;
  std::unordered_map<std::string, CachedStatement> cache_;  // by SQL text
};

}  // namespace

std::unique_ptr<Connection> open_sqlite(const SqliteOptions& options) {
  return std::make_unique<SqliteConnection>(options);
}

}  // namespace unity::db
