#include "bench_env.h"

#include "core/error.h"

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
  if (!app_) app_ = db::open_app_connection(config());
  return *app_;
}

std::string BenchEnv::redact(std::string_view text) const {
  return config_ ? config_->redact(text) : redact_secrets(text);
}

}  // namespace unity::bench
