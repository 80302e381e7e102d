#pragma once
// The set-up the ERP scenario tests share, parameterised over the driver like every test on both
// drivers: instantiate a derived fixture with
//   INSTANTIATE_TEST_SUITE_P(Drivers, MyTest, ::testing::Values(Driver::kSqlite,
//   Driver::kPostgres),
//                            [](const auto& p) { return testing::driver_name(p.param); });
//
// ErpFixture: a fresh migrated database (TestDatabase), the app-role connection `conn_`, the job
// registry, a dispatcher onto the database queue, the event bus and the database notifier wired
// with the ERP listeners (erp::wire_erp, once), and two tenants: "Acme" (`a_`, the connection's
// tenant) and "Globex" (`b_`). Then it calls the derived fixture's set_up_fixture() for its users,
// rows and extra wiring. Helpers run the queue and read rows back through the owner role, which
// sees every tenant.
//
// ErpCliFixture: a fresh database migrated by the real `unity` binary with one tenant "Acme" (id
// 1), then set_up_fixture(); unity()/ok() run the binary against it.
//
// Both skip (or fail under UNITY_REQUIRE_PG=1) when the driver is unavailable, before
// set_up_fixture() runs.

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/decimal.h"
#include "core/error.h"
#include "events/event_bus.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"
#include "queue/registry.h"
#include "queue/worker.h"
#include "support/cli.h"
#include "support/test_db.h"

namespace unity::testing {

class ErpFixture : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() final;
  // The derived fixture's own set-up, run at the end of SetUp (default: nothing).
  virtual void set_up_fixture() {}

  // Runs every ready job on a fresh worker until the queue is empty. Retries come back at once
  // (backoff "0") so a test sees each job's final outcome.
  void drain();
  // The same with `options` (stop_when_empty is forced on), e.g. {} for the jobs' own backoff.
  void drain(queue::WorkerOptions options);

  // The single integer `sql` answers with `params`, read by the owner role (every tenant).
  int64_t count(const std::string& sql, const db::Params& params = {});
  // How many domain events named `name` are stored (every tenant).
  int64_t events_named(const std::string& name);
  // The payload of the latest stored domain event named `name`; throws if there is none.
  nlohmann::json last_payload(const std::string& name);
  // "table=N " for each of `tables`, in order: the row counts part of a before/after snapshot.
  std::string row_counts(std::initializer_list<const char*> tables);

  // Runs `first` and `second` at once, each on its own app-role connection in tenant Acme, and
  // counts those that returned and those that threw failed_precondition (a race's loser); any
  // other unity::Error counts as neither.
  struct RaceResult {
    int done = 0, refused = 0;
  };
  RaceResult race(const std::function<void(db::Connection&)>& first,
                  const std::function<void(db::Connection&)>& second);

  // An exact decimal from its text, for expectations.
  static Decimal d(const char* s) { return Decimal::parse(s); }
  // The code of the unity::Error `f` throws; a test failure (and kInternal) if it throws none.
  static ErrorCode code_of(const std::function<void()>& f);

  queue::JobRegistry jobs_;  // first: everything below may refer to it
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  queue::JobLogSink job_log_;  // where drain()'s jobs log (empty: stderr)
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<notify::DatabaseNotifier> notifier_;
  int64_t a_ = 0, b_ = 0;  // the tenants Acme and Globex
};

class ErpCliFixture : public ::testing::TestWithParam<Driver> {
 protected:
  // `extra_env`: more assignments ("K=v K2=v2") for every run, e.g. "QUEUE_CONNECTION=sync".
  explicit ErpCliFixture(std::string extra_env = "") : extra_env_(std::move(extra_env)) {}

  void SetUp() final;
  // The derived fixture's own set-up, run at the end of SetUp (default: nothing).
  virtual void set_up_fixture() {}

  // Runs `unity ARGS` against the test database with `stdin_text` on stdin.
  CliRun unity(const std::string& args, const std::string& stdin_text = "");
  // Runs `unity ARGS --json`, expects exit 0 and returns the parsed stdout (null if it failed).
  nlohmann::json ok(const std::string& args, const std::string& stdin_text = "");

  std::unique_ptr<TestDatabase> db_;

 private:
  std::string extra_env_;
};

}  // namespace unity::testing
