#pragma once
// What the roles of `unity-bench` share: the configuration (.env in the working directory, then
// the environment, as `unity` reads it) and the database connections, opened on first use.
// Not thread-safe: the roles' main threads use it; worker threads open their own connections.

#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "db/connection.h"

namespace unity::bench {

class BenchEnv {
 public:
  BenchEnv();
  ~BenchEnv();
  // Loaded on first use (bad values throw kInvalidArgument).
  const Config& config();
  // The restricted app connection; kFailedPrecondition when the schema is behind ("run `unity
  // migrate`") or there is no SQLite database (it is not created).
  db::Connection& app();
  // The schema owner's connection (the reset between runs truncates the queue table).
  db::Connection& owner();
  // `text` with the configuration's secrets masked.
  std::string redact(std::string_view text) const;

 private:
  std::unique_ptr<Config> config_;
  std::unique_ptr<db::Connection> app_;
  std::unique_ptr<db::Connection> owner_;
};

}  // namespace unity::bench
