#pragma once
// One thread's JobStore on a connection opened on first use and dropped after an error, so the
// next use starts afresh (a database restart or a network cut heals by itself). Every thread of
// the worker holds one; none shares it.

#include <chrono>
#include <memory>
#include <string>

#include "core/clock.h"
#include "db/connection.h"
#include "queue/store.h"

namespace unity::queue {

class StoreSession {
 public:
  // `keep_finished`: JobStore::set_keep_finished of every store it opens (0: none kept).
  StoreSession(db::ConnectionFactory connect, std::string table, const Clock& clock,
               std::chrono::minutes keep_finished = {})
      : connect_(std::move(connect)),
        table_(std::move(table)),
        clock_(clock),
        keep_finished_(keep_finished) {}

  // Opens the connection when there is none; throws what the factory throws.
  JobStore& store() {
    if (!store_) {
      conn_ = connect_();
      store_ = std::make_unique<JobStore>(*conn_, table_, clock_);
      store_->set_keep_finished(keep_finished_);
    }
    return *store_;
  }
  db::Connection& connection() { return store().connection(); }
  bool open() const { return store_ != nullptr; }
  // After an error: the next store() opens a new connection.
  void reset() noexcept {
    store_.reset();
    conn_.reset();
  }

  // Another session on the same factory (for another thread).
  StoreSession fresh() const { return StoreSession(connect_, table_, clock_, keep_finished_); }
  const db::ConnectionFactory& factory() const { return connect_; }
  const std::string& table() const { return table_; }
  const Clock& clock() const { return clock_; }

 private:
  db::ConnectionFactory connect_;
  std::string table_;
  const Clock& clock_;
  std::chrono::minutes keep_finished_;
  std::unique_ptr<db::Connection> conn_;
  std::unique_ptr<JobStore> store_;
};

}  // namespace unity::queue
