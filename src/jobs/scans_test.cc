// The product's schedule (jobs/scans.h) on both drivers, below the command line: the tasks and
// their order, every tenant visited when one fails, bad input refused before any tenant, and the
// expiry scan raising StockExpiring once per batch through the schedule.
#include "jobs/scans.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/error.h"
#include "support/erp_fixture.h"

namespace unity::jobs {
namespace {

using testing::Driver;

class ScansTest : public testing::ErpFixture {
 protected:
  void set_up_fixture() override {
    conn_->set_tenant(std::nullopt);  // as the commands' app connection: no tenant
    scans_ = {.app = [this]() -> db::Connection& { return *conn_; },
              .bus = [this]() -> events::EventBus& { return *bus_; },
              .queue_table = [] { return std::string("jobs"); }};
  }
  ScanContext scans_;
};

TEST_P(ScansTest, TheScheduleIsTheDailyScansThenTheMaintenance) {
  const queue::Schedule schedule = make_schedule(scans_);
  std::vector<std::string> names;
  for (const auto& t : schedule.tasks()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"stock:check-expiry", "invoices:check-overdue",
                                             "notifications:prune", "queue:prune-failed"}));
}

TEST_P(ScansTest, ForEachTenantVisitsEveryTenantAndNamesTheFailures) {
  std::vector<int64_t> visited;
  try {
    for_each_tenant(*conn_, {a_, b_}, [&](db::Connection& conn, int64_t tenant) {
      EXPECT_EQ(conn.tenant(), tenant);
      visited.push_back(tenant);
      if (tenant == a_) throw invalid_argument("bad batch");
    });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(std::string(e.what()),
              "1 of 2 tenants failed: tenant " + std::to_string(a_) + ": bad batch");
  }
  EXPECT_EQ(visited, (std::vector<int64_t>{a_, b_}));
  EXPECT_FALSE(conn_->tenant().has_value()) << "the connection's tenant is restored";
}

TEST_P(ScansTest, ScanTenantsIsEveryTenantOrTheOneNamed) {
  EXPECT_EQ(scan_tenants(*conn_, std::nullopt), (std::vector<int64_t>{a_, b_}));
  EXPECT_EQ(scan_tenants(*conn_, b_), (std::vector<int64_t>{b_}));
  EXPECT_EQ(code_of([&] { scan_tenants(*conn_, 999); }), ErrorCode::kNotFound);
}

TEST_P(ScansTest, BadInputIsRefusedBeforeAnyTenantIsScanned) {
  EXPECT_EQ(code_of([&] { check_expiry_for_tenants(scans_, {a_}, "2026-13-01"); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { check_expiry_for_tenants(scans_, {a_}, "2026-03-01", -1); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { check_overdue_for_tenants(scans_, {a_}, "yesterday"); }),
            ErrorCode::kInvalidArgument);
}

TEST_P(ScansTest, NothingToScanIsNoFindingAndTheDateIsUtc) {
  EXPECT_TRUE(check_expiry_for_tenants(scans_, {a_, b_}, "2026-03-01").empty());
  EXPECT_TRUE(check_overdue_for_tenants(scans_, {a_, b_}, "2026-03-01").empty());
  EXPECT_EQ(date_of(parse_iso8601("2026-03-01T23:59:59Z")), "2026-03-01");
}

INSTANTIATE_TEST_SUITE_P(Drivers, ScansTest, ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::jobs
