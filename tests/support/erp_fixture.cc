#include "support/erp_fixture.h"

#include <atomic>
#include <thread>

#include <nlohmann/json.hpp>

#include "db/tenancy.h"
#include "erp/erp.h"

namespace unity::testing {

void ErpFixture::SetUp() {
  UNITY_REQUIRE_DRIVER(GetParam());
  db_ = TestDatabase::create(GetParam());
  conn_ = db_->app();
  dispatcher_ = std::make_unique<queue::Dispatcher>(db_->config(), jobs_);
  bus_ = std::make_unique<events::EventBus>(jobs_, *dispatcher_);
  notifier_ = std::make_unique<notify::DatabaseNotifier>(jobs_, *dispatcher_);
  erp::wire_erp(*bus_, *notifier_);
  a_ = db::create_tenant(*conn_, "Acme").id;
  b_ = db::create_tenant(*conn_, "Globex").id;
  conn_->set_tenant(a_);
  set_up_fixture();
}

void ErpFixture::drain() {
  queue::WorkerOptions o;
  o.backoff = queue::Backoff::parse("0");
  drain(std::move(o));
}

void ErpFixture::drain(queue::WorkerOptions options) {
  options.stop_when_empty = true;
  if (!options.job_log) options.job_log = job_log_;
  queue::Worker(db::connection_factory(db_->config()), db_->config(), jobs_, std::move(options),
                nullptr)
      .run();
}

int64_t ErpFixture::count(const std::string& sql, const db::Params& params) {
  return db_->owner()->query_int(sql, params);
}

int64_t ErpFixture::events_named(const std::string& name) {
  return count("SELECT count(*) FROM domain_events WHERE name = $1", {name});
}

nlohmann::json ErpFixture::last_payload(const std::string& name) {
  auto row = db_->owner()->query_one(
      "SELECT payload FROM domain_events WHERE name = $1 ORDER BY id DESC", {name});
  return nlohmann::json::parse(row->get<std::string>(0));
}

std::string ErpFixture::row_counts(std::initializer_list<const char*> tables) {
  std::string s;
  for (const char* t : tables) {
    s += std::string(t) + "=" + std::to_string(count(std::string("SELECT count(*) FROM ") + t)) +
         " ";
  }
  return s;
}

ErpFixture::RaceResult ErpFixture::race(const std::function<void(db::Connection&)>& first,
                                        const std::function<void(db::Connection&)>& second) {
  std::atomic<int> done = 0, refused = 0;
  auto run = [&](const std::function<void(db::Connection&)>& op) {
    auto conn = db_->app();
    db::TenantScope scope(*conn, a_);
    try {
      op(*conn);
      ++done;
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kFailedPrecondition) ++refused;
    }
  };
  std::thread t1(run, std::cref(first)), t2(run, std::cref(second));
  t1.join();
  t2.join();
  return {done.load(), refused.load()};
}

ErrorCode ErpFixture::code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error thrown";
  return ErrorCode::kInternal;
}

void ErpCliFixture::SetUp() {
  UNITY_REQUIRE_DRIVER(GetParam());
  db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
  ASSERT_EQ(unity("migrate").exit, 0);
  ASSERT_EQ(unity("tenant:create Acme").exit, 0);
  set_up_fixture();
}

CliRun ErpCliFixture::unity(const std::string& args, const std::string& stdin_text) {
  const std::string env =
      extra_env_.empty() ? db_->env_for_cli() : db_->env_for_cli() + " " + extra_env_;
  return run_cli(db_->dir(), env, args, "", stdin_text);
}

nlohmann::json ErpCliFixture::ok(const std::string& args, const std::string& stdin_text) {
  CliRun r = unity(args + " --json", stdin_text);
  EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
  return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
}

}  // namespace unity::testing
