#include "bench_env.h"

#include "core/error.h"
#include "db/migrate.h"

namespace unity::bench {

BenchEnv::BenchEnv() = default;
BenchEnv::~BenchEnv() = default;

const Config& BenchEnv::config() {
  if (!config_) config_ = std::make_unique<Config>(Config::load("."));
  return *config_;
}

db::Connection& BenchEnv::owner() {
  if (!owner_) owner_ = db::open_connection(config(), db::Role::kOwner, /*create=*/false);
  return *owner_;
}

db::Connection& BenchEnv::app() {
  if (app_) return *app_;
  auto conn = db::open_connection(config(), db::Role::kApp, /*create=*/false);
  db::Migrator migrator(*conn, config().db_app_role, config().queue_table);
  const size_t pending = migrator.pending_count();
  if (pending > 0) {
    throw failed_precondition("the database schema is not up to date (" + std::to_string(pending) +
                              " pending migrations): run `unity migrate` first");
  }
  app_ = std::move(conn);
  return *app_;
}

std::string BenchEnv::redact(std::string_view text) const {
  return config_ ? config_->redact(text) : redact_secrets(text);
}

}  // namespace unity::bench
