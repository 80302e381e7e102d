// RecalculateInventoryValuation on both drivers, through a real worker: random ledgers written by
// InventoryService against a brute-force FIFO reference and against the batches' own remaining
// stock, scopes, tenant isolation, redelivery, an oversold ledger, step logging, and the
// valuation:recalculate / valuation:show commands.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <mutex>
#include <random>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "db/tenancy.h"
#include "erp/catalog/catalog_service.h"
#include "erp/erp.h"
#include "erp/inventory/inventory_service.h"
#include "events/event_bus.h"
#include "jobs/job_log.h"
#include "jobs/jobs.h"
#include "jobs/valuation.h"
#include "notify/notifier.h"
#include "queue/dispatch.h"
#include "queue/worker.h"
#include "support/cli.h"
#include "support/test_db.h"

namespace unity::jobs {
namespace {

using erp::inventory::Adjustment;
using erp::inventory::InventoryService;
using erp::inventory::Receipt;
using testing::Driver;
using testing::TestDatabase;

__extension__ typedef __int128 Wide;

Decimal d(const char* s) { return Decimal::parse(s); }

// Brute-force FIFO of one (product, location): one entry per 0.25 unit (every quantity the tests
// write is a multiple of 0.25), consumed from the front.
struct PieceLedger {
  static constexpr int64_t kPiece = 2500;  // 0.25
  std::deque<int64_t> costs;               // unit cost mantissa per piece, oldest first
  void in(Decimal quantity, Decimal cost) {
    for (int64_t i = 0; i < quantity.mantissa() / kPiece; ++i) costs.push_back(cost.mantissa());
  }
  void out(Decimal quantity) {
    for (int64_t i = 0; i < quantity.mantissa() / kPiece; ++i) costs.pop_front();
  }
  Decimal on_hand() const { return Decimal::from_mantissa(kPiece * int64_t(costs.size())); }
  Wide value() const {
    Wide v = 0;
    for (int64_t c : costs) v += Wide{kPiece} * c;
    return v;
  }
};

int64_t round_div(Wide num, Wide den) {
  Wide q = num / den;
  if ((num % den) * 2 >= den) ++q;
  return static_cast<int64_t>(q);
}

// What a stored row should hold, compared as text: "on_hand fifo_value average_cost".
std::string figures(Decimal on_hand, Wide value) {
  const Decimal fifo = Decimal::from_mantissa(round_div(value, 10000));
  const Decimal avg =
      Decimal::from_mantissa(on_hand.is_zero() ? 0 : round_div(value, on_hand.mantissa()));
  return on_hand.to_string(4) + " " + fifo.to_string(4) + " " + avg.to_string(4);
}
std::string figures(const Valuation& v) {
  return v.on_hand.to_string(4) + " " + v.fifo_value.to_string(4) + " " +
         v.average_cost.to_string(4);
}

using Key = std::pair<std::string, std::string>;  // sku, location code ("" = all locations)

class ValuationJobTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    dispatcher_ = std::make_unique<queue::Dispatcher>(db_->config(), jobs_);
    bus_ = std::make_unique<events::EventBus>(jobs_, *dispatcher_);
    notifier_ = std::make_unique<notify::DatabaseNotifier>(jobs_, *dispatcher_);
    erp::wire_erp(*bus_, *notifier_);
    wire_jobs(jobs_, *bus_, clock_);
    a_ = db::create_tenant(*conn_, "Acme").id;
    b_ = db::create_tenant(*conn_, "Globex").id;
    conn_->set_tenant(a_);
  }

  InventoryService inventory() { return InventoryService(*conn_, *bus_, std::nullopt, clock_); }
  int64_t make(const std::string& sku) {
    return erp::catalog::CatalogService(*conn_, *bus_, std::nullopt, clock_)
        .create(erp::catalog::ProductDraft::from_json({{"sku", sku},
                                                       {"name", "Thing " + sku},
                                                       {"price", "9.99"},
                                                       {"cost", "1.25"},
                                                       {"reorder_level", "0"},
                                                       {"unit", "pcs"}}))
        .id;
  }

  // A random ledger for the connection's tenant: `products` SKUs at MAIN and WH2, receipts at
  // random costs, negative adjustments (FIFO issues) and positive ones (at the product's cost).
  void random_ledger(uint32_t seed, int products, int steps) {
    std::mt19937 rng(seed);
    std::vector<std::string> skus;
    for (int p = 0; p < products; ++p) {
      skus.push_back("P" + std::to_string(seed) + "-" + std::to_string(p));
      make(skus.back());
    }
    inventory().location("MAIN");
    try {
      inventory().create_location("WH2", "Warehouse 2");
    } catch (const Error&) {
    }
    const char* codes[] = {"MAIN", "WH2"};
    for (int s = 0; s < steps; ++s) {
      const std::string sku = skus[rng() % skus.size()];
      const std::string code = codes[rng() % 2];
      PieceLedger& ref = ref_[{sku, code}];
      const int64_t pieces = static_cast<int64_t>(ref.costs.size());
      clock_.advance(std::chrono::milliseconds(1 + rng() % 5));
      const uint32_t kind = rng() % 10;
      const Decimal qty = Decimal::from_mantissa(
          PieceLedger::kPiece * (1 + int64_t(rng() % (kind >= 6 && pieces ? pieces : 40))));
      if (kind < 6 || pieces == 0) {
        const Decimal cost = Decimal::from_mantissa(int64_t(rng() % 500000));  // 0 .. 49.9999
        Receipt r;
        r.sku = sku;
        r.location = code;
        r.quantity = qty;
        r.unit_cost = cost;
        inventory().receive(r);
        ref.in(qty, cost);
      } else if (kind < 9) {
        Adjustment adj;
        adj.sku = sku;
        adj.location = code;
        adj.quantity = -qty;
        inventory().adjust(adj);
        ref.out(qty);
      } else {
        Adjustment adj;
        adj.sku = sku;
        adj.location = code;
        adj.quantity = qty;
        inventory().adjust(adj);
        ref.in(qty, d("1.25"));
      }
    }
  }

  // The reference figures for every (sku, location) and (sku, all) that has movements.
  std::map<Key, std::string> expected() const {
    std::map<Key, std::string> out;
    std::map<std::string, std::pair<Decimal, Wide>> totals;
    for (const auto& [key, ref] : ref_) {
      out[key] = figures(ref.on_hand(), ref.value());
      auto& t = totals[key.first];
      t.first += ref.on_hand();
      t.second += ref.value();
    }
    for (const auto& [sku, t] : totals) out[{sku, ""}] = figures(t.first, t.second);
    return out;
  }
  std::map<Key, std::string> stored(const ValuationScope& scope = {}) {
    std::map<Key, std::string> out;
    for (const auto& s : load_valuations(*conn_, scope)) {
      out[{s.sku, s.location.value_or("")}] = figures(s.valuation);
    }
    return out;
  }
  // The batches' remaining stock valued exactly: InventoryService's own FIFO, an independent check.
  std::map<Key, std::string> from_batches() {
    std::map<Key, std::pair<Decimal, Wide>> sums;
    conn_->query_each(
        "SELECT p.sku, l.code, b.quantity_remaining, b.unit_cost FROM stock_batches b "
        "JOIN products p ON p.id = b.product_id JOIN locations l ON l.id = b.location_id "
        "WHERE b.tenant_id = $1",
        {*conn_->tenant()}, [&](const db::Row& r) {
          const Decimal q = Decimal::parse(r.get<std::string>(2));
          const Decimal c = Decimal::parse(r.get<std::string>(3));
          for (const Key& k : {Key{r.get<std::string>(0), r.get<std::string>(1)},
                               Key{r.get<std::string>(0), ""}}) {
            sums[k].first += q;
            sums[k].second += Wide{q.mantissa()} * c.mantissa();
          }
        });
    std::map<Key, std::string> out;
    for (const auto& [k, s] : sums) out[k] = figures(s.first, s.second);
    return out;
  }

  void recalculate(const nlohmann::json& payload = nlohmann::json::object(),
                   std::optional<int64_t> tenant = std::nullopt) {
    dispatcher_->dispatch(*conn_, tenant.value_or(a_), kRecalculateInventoryValuation,
                          payload.dump());
    drain();
  }
  void drain() {
    queue::WorkerOptions o;
    o.stop_when_empty = true;
    o.backoff = queue::Backoff::parse("0");
    o.job_log = job_log_;
    queue::Worker(db::connection_factory(db_->config()), db_->config(), jobs_, o, nullptr).run();
  }
  int64_t owner_count(const std::string& sql) { return db_->owner()->query_int(sql); }
  // calculated_at of every stored row, by key.
  std::map<Key, std::string> stamps() {
    std::map<Key, std::string> out;
    for (const auto& s : load_valuations(*conn_, {})) {
      out[{s.sku, s.location.value_or("")}] = s.calculated_at;
    }
    return out;
  }

  ManualClock clock_{TimePoint(std::chrono::seconds(1'800'000'000))};
  queue::JobLogSink job_log_;  // where drain()'s jobs log (empty: stderr)
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  queue::JobRegistry jobs_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<notify::DatabaseNotifier> notifier_;
  std::map<Key, PieceLedger> ref_;
  int64_t a_ = 0, b_ = 0;
};

TEST_P(ValuationJobTest, RandomLedgersMatchTheBruteForceReferenceAndTheBatches) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    random_ledger(seed, 3, GetParam() == Driver::kSqlite ? 60 : 40);
    recalculate();
    const auto want = expected();
    EXPECT_EQ(stored(), want) << "seed " << seed;
    EXPECT_EQ(from_batches(), want) << "seed " << seed;
  }
  // movements_count is the number of ledger rows of each key.
  for (const auto& s : load_valuations(*conn_, {})) {
    const int64_t n =
        s.location ? conn_->query_int(
                         "SELECT count(*) FROM stock_movements m JOIN locations l ON "
                         "l.id = m.location_id WHERE m.tenant_id = $1 AND m.product_id = $2 AND "
                         "l.code = $3",
                         {a_, s.product_id, *s.location})
                   : conn_->query_int(
                         "SELECT count(*) FROM stock_movements WHERE tenant_id = $1 AND "
                         "product_id = $2",
                         {a_, s.product_id});
    EXPECT_EQ(s.valuation.movements, n) << s.sku << " " << s.location.value_or("(all)");
  }
  EXPECT_EQ(owner_count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(ValuationJobTest, ProductScopeReplacesOnlyThatProductsRows) {
  random_ledger(7, 3, 30);
  recalculate();
  const auto before = stamps();
  const int64_t target = erp::catalog::load_product_by_sku(*conn_, "P7-1")->id;
  Receipt r;
  r.sku = "P7-1";
  r.location = "WH2";
  r.quantity = d("4");
  r.unit_cost = d("3.3333");
  clock_.advance(std::chrono::seconds(5));
  inventory().receive(r);
  ref_[{"P7-1", "WH2"}].in(d("4"), d("3.3333"));
  recalculate({{"product_id", target}});
  EXPECT_EQ(stored(), expected());
  for (const auto& [key, at] : stamps()) {
    if (key.first == "P7-1") {
      EXPECT_NE(at, before.count(key) ? before.at(key) : "") << key.first << "/" << key.second;
    } else {
      EXPECT_EQ(at, before.at(key)) << key.first << "/" << key.second;
    }
  }
}

TEST_P(ValuationJobTest, LocationScopeReplacesThatLocationsRowsAndLeavesAllLocationRows) {
  random_ledger(8, 2, 30);
  recalculate();
  const auto before = stored();
  const auto before_at = stamps();
  Receipt r;
  r.sku = "P8-0";
  r.location = "MAIN";
  r.quantity = d("10");
  r.unit_cost = d("2");
  clock_.advance(std::chrono::seconds(5));
  inventory().receive(r);
  ref_[{"P8-0", "MAIN"}].in(d("10"), d("2"));
  recalculate({{"location", "MAIN"}});
  const auto after = stored(), want = expected();
  for (const auto& [key, fig] : after) {
    if (key.second == "MAIN") {
      EXPECT_EQ(fig, want.at(key)) << key.first;
      EXPECT_NE(stamps().at(key), before_at.at(key));
    } else {
      EXPECT_EQ(fig, before.at(key)) << key.first << "/" << key.second;  // untouched
    }
  }
  EXPECT_EQ(after.size(), before.size());
  // Product + location: that one row.
  r.location = "WH2";
  clock_.advance(std::chrono::seconds(5));
  inventory().receive(r);
  ref_[{"P8-0", "WH2"}].in(d("10"), d("2"));
  const auto at_before = stamps();
  const int64_t id = erp::catalog::load_product_by_sku(*conn_, "P8-0")->id;
  recalculate({{"product_id", id}, {"location", "WH2"}});
  for (const auto& [key, at] : stamps()) {
    EXPECT_EQ(at != at_before.at(key), (key == Key{"P8-0", "WH2"}))
        << key.first << "/" << key.second;
  }
  EXPECT_EQ(stored().at({"P8-0", "WH2"}), expected().at({"P8-0", "WH2"}));
  // A full run brings the all-locations rows up to date.
  recalculate();
  EXPECT_EQ(stored(), expected());
}

TEST_P(ValuationJobTest, AnotherTenantsRowsAreNeitherReadNorTouched) {
  conn_->set_tenant(b_);
  random_ledger(21, 2, 20);
  const auto b_expected = expected();
  recalculate(nlohmann::json::object(), b_);
  EXPECT_EQ(stored(), b_expected);
  const auto b_stamps = stamps();
  ref_.clear();
  conn_->set_tenant(a_);
  random_ledger(22, 2, 20);
  recalculate();
  EXPECT_EQ(stored(), expected());  // A's rows only: none of B's SKUs
  for (const auto& [key, fig] : stored()) EXPECT_EQ(key.first.rfind("P22-", 0), 0u) << key.first;
  conn_->set_tenant(b_);
  EXPECT_EQ(stored(), b_expected);
  EXPECT_EQ(stamps(), b_stamps);
  // A product of tenant B named in tenant A's job is not found: the job gives up.
  const int64_t b_product = erp::catalog::load_product_by_sku(*conn_, "P21-0")->id;
  conn_->set_tenant(a_);
  recalculate({{"product_id", b_product}});
  EXPECT_EQ(owner_count("SELECT count(*) FROM failed_jobs"), 1);
  conn_->set_tenant(b_);
  EXPECT_EQ(stamps(), b_stamps);
}

TEST_P(ValuationJobTest, RedeliveredJobStoresTheSameRows) {
  random_ledger(31, 3, 40);
  recalculate();
  const auto first = stored();
  const int64_t rows = owner_count("SELECT count(*) FROM inventory_valuations");
  clock_.advance(std::chrono::seconds(1));
  recalculate();
  EXPECT_EQ(stored(), first);
  EXPECT_EQ(owner_count("SELECT count(*) FROM inventory_valuations"), rows);
  // The same job run again after it already completed (as a redelivery after a lost
  // acknowledgement would): no duplicates, same figures.
  recalculate();
  EXPECT_EQ(stored(), expected());
  EXPECT_EQ(owner_count("SELECT count(*) FROM inventory_valuations"), rows);
}

TEST_P(ValuationJobTest, OversoldLedgerFailsAtOnceAndChangesNothing) {
  random_ledger(41, 1, 10);
  recalculate();
  const auto before = stored();
  const auto before_at = stamps();
  const int64_t product = erp::catalog::load_product_by_sku(*conn_, "P41-0")->id;
  const int64_t main = inventory().location("MAIN").id;
  // A ledger row written behind InventoryService's back takes out more than is on hand.
  db_->owner()->execute(
      "INSERT INTO stock_movements (tenant_id, product_id, location_id, quantity, unit_cost, "
      "reason, occurred_at) VALUES ($1, $2, $3, '-1000000.0000', '0.0000', 'bogus', $4)",
      {a_, product, main, format_iso8601(clock_.now() + std::chrono::hours(1))});
  std::vector<std::string> lines;
  std::mutex mu;
  job_log_ = [&](const std::string& l) {
    std::lock_guard lock(mu);
    lines.push_back(l);
  };
  recalculate();
  EXPECT_EQ(owner_count("SELECT count(*) FROM failed_jobs"), 1);
  EXPECT_EQ(owner_count("SELECT count(*) FROM jobs"), 0);
  auto exception =
      db_->owner()->query_one("SELECT exception FROM failed_jobs")->get<std::string>(0);
  EXPECT_NE(exception.find("oversold"), std::string::npos) << exception;
  EXPECT_EQ(stored(), before);
  EXPECT_EQ(stamps(), before_at);
  // Given up at once (no retries), and failed() logged it.
  bool failed_logged = false;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l);
    EXPECT_EQ(j["attempt"], 1) << l;
    if (j["step"] == "failed") failed_logged = true;
  }
  EXPECT_TRUE(failed_logged);
}

TEST_P(ValuationJobTest, EachStepIsLoggedAsOneJsonLine) {
  random_ledger(51, 2, 10);
  std::vector<nlohmann::json> lines;
  std::mutex mu;
  job_log_ = [&](const std::string& l) {
    std::lock_guard lock(mu);
    lines.push_back(nlohmann::json::parse(l));
  };
  recalculate();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["step"], "started");
  EXPECT_EQ(lines[1]["step"], "ledger_replayed");
  EXPECT_EQ(lines[2]["step"], "valuations_stored");
  EXPECT_EQ(
      lines[1]["movements"],
      owner_count("SELECT count(*) FROM stock_movements WHERE tenant_id = " + std::to_string(a_)));
  for (const auto& l : lines) {
    EXPECT_EQ(l["type"], kRecalculateInventoryValuation);
    EXPECT_EQ(l["tenant_id"], a_);
    EXPECT_TRUE(l["job_id"].is_number_integer());
  }
}

TEST_P(ValuationJobTest, UnknownLocationInThePayloadGivesTheJobUp) {
  recalculate({{"location", "NOWHERE"}});
  EXPECT_EQ(owner_count("SELECT count(*) FROM failed_jobs"), 1);
  recalculate({{"bogus", 1}});
  EXPECT_EQ(owner_count("SELECT count(*) FROM failed_jobs"), 2);
}

TEST_P(ValuationJobTest, TheTypeHasItsOwnTriesTimeoutAndBackoff) {
  const auto& type = jobs_.get(kRecalculateInventoryValuation);
  EXPECT_EQ(type.options.tries, 3);
  EXPECT_EQ(type.options.timeout_s, 600);
  ASSERT_TRUE(type.options.backoff);
  EXPECT_TRUE(type.options.transactional);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ValuationJobTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

// --- The commands -----------------------------------------------------------------------------

class ValuationCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
    ASSERT_EQ(unity("tenant:create Acme").exit, 0);
    ASSERT_EQ(unity("tenant:create Globex").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email k@acme.test --name Kim --role inventory").exit,
              0);
  }
  testing::CliRun unity(const std::string& args, const std::string& env = "") {
    return testing::run_cli(db_->dir(), db_->env_for_cli() + " " + env, args);
  }
  nlohmann::json ok(const std::string& args, const std::string& env = "") {
    testing::CliRun r = unity(args + " --json", env);
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  void receive(const std::string& sku, const std::string& location, const std::string& quantity,
               const std::string& cost) {
    ok("stock:receive --tenant 1 --user 1 --data='{\"sku\":\"" + sku + "\",\"location\":\"" +
       location + "\",\"quantity\":\"" + quantity + "\",\"unit_cost\":\"" + cost + "\"}'");
  }
  std::unique_ptr<TestDatabase> db_;
};

TEST_P(ValuationCliTest, RecalculateWithSyncQueueThenShowPrintsTheFifoFigures) {
  ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"20\"}'");
  ok("product:create --tenant 1 --data='{\"sku\":\"B-2\",\"name\":\"Pear\",\"price\":\"20\"}'");
  // The classic example at MAIN: ends with 30 @ 11 + 100 @ 12.
  receive("A-1", "MAIN", "100", "10");
  receive("A-1", "MAIN", "200", "11");
  ok("stock:adjust --tenant 1 --user 1 --data='{\"sku\":\"A-1\",\"quantity\":\"-150\"}'");
  receive("A-1", "MAIN", "100", "12");
  ok("stock:adjust --tenant 1 --user 1 --data='{\"sku\":\"A-1\",\"quantity\":\"-120\"}'");
  receive("B-2", "MAIN", "2.5", "0.3333");

  auto job = ok("valuation:recalculate --tenant 1 --user 1", "QUEUE_CONNECTION=sync");
  EXPECT_TRUE(job.contains("job_id")) << job.dump();
  auto shown = ok("valuation:show --tenant 1");
  ASSERT_EQ(shown.size(), 4u) << shown.dump();
  EXPECT_EQ(shown[0]["sku"], "A-1");
  EXPECT_TRUE(shown[0]["location"].is_null());
  EXPECT_EQ(shown[0]["on_hand"], "130.00");
  EXPECT_EQ(shown[0]["fifo_value"], "1530.00");
  EXPECT_EQ(shown[0]["average_cost"], "11.7692");
  EXPECT_TRUE(shown[0]["calculated_at"].is_string());
  EXPECT_EQ(shown[1]["sku"], "A-1");
  EXPECT_EQ(shown[1]["location"], "MAIN");
  EXPECT_EQ(shown[1]["fifo_value"], "1530.00");
  EXPECT_EQ(shown[3]["sku"], "B-2");
  EXPECT_EQ(shown[3]["on_hand"], "2.50");
  EXPECT_EQ(shown[3]["fifo_value"], "0.8333");  // 0.83325 rounded half away from zero
  EXPECT_EQ(shown[3]["average_cost"], "0.3333");

  auto one = ok("valuation:show --tenant 1 --data='{\"sku\":\"B-2\",\"location\":\"MAIN\"}'");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["location"], "MAIN");
  for (const char* f :
       {"sku", "location", "on_hand", "fifo_value", "average_cost", "calculated_at"}) {
    EXPECT_TRUE(one[0].contains(f)) << f;
  }
  // Another tenant sees nothing.
  EXPECT_EQ(ok("valuation:show --tenant 2").size(), 0u);
  // The readable table.
  testing::CliRun table = unity("valuation:show --tenant 1 --data='{\"sku\":\"A-1\"}'");
  EXPECT_EQ(table.exit, 0);
  EXPECT_NE(table.out.find("1530.00"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("(all)"), std::string::npos) << table.out;

  // Scoped recalculation through the command.
  receive("B-2", "MAIN", "1", "1");
  ok("valuation:recalculate --tenant 1 --product=B-2 --location=MAIN", "QUEUE_CONNECTION=sync");
  auto b = ok("valuation:show --tenant 1 --data='{\"sku\":\"B-2\"}'");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0]["on_hand"], "2.50");  // the all-locations row is left for a wider scope
  EXPECT_EQ(b[1]["on_hand"], "3.50");
  EXPECT_EQ(b[1]["fifo_value"], "1.8333");
}

TEST_P(ValuationCliTest, DatabaseQueueDispatchesAJobForAWorker) {
  ok("product:create --tenant 1 --data='{\"sku\":\"A-1\",\"name\":\"Apple\",\"price\":\"2\"}'");
  receive("A-1", "MAIN", "3", "2");
  auto job = ok("valuation:recalculate --tenant 1 --product=A-1");
  EXPECT_GT(job["job_id"].get<int64_t>(), 0);
  EXPECT_EQ(ok("valuation:show --tenant 1").size(), 0u);  // not run yet
  ASSERT_EQ(unity("queue:work --stop-when-empty").exit, 0);
  auto shown = ok("valuation:show --tenant 1 --data='{\"sku\":\"A-1\"}'");
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(shown[0]["fifo_value"], "6.00");
}

TEST_P(ValuationCliTest, UnknownSkuOrLocationIsNotFoundWithOneLineAndNothingDispatched) {
  for (const std::string& args :
       {std::string("valuation:recalculate --tenant 1 --product=NOPE"),
        std::string("valuation:recalculate --tenant 1 --location=NOPE"),
        std::string("valuation:show --tenant 1 --data='{\"sku\":\"NOPE\"}'"),
        std::string("valuation:show --tenant 1 --data='{\"location\":\"NOPE\"}'")}) {
    testing::CliRun r = unity(args);
    EXPECT_EQ(r.exit, 3) << args << ": " << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << args << ": " << r.err;
    EXPECT_NE(r.err.find("not found"), std::string::npos) << r.err;
  }
  EXPECT_EQ(db_->owner()->query_int("SELECT count(*) FROM jobs"), 0);
  EXPECT_EQ(unity("valuation:show --tenant 1 --data='{\"bogus\":1}'").exit, 2);
}

INSTANTIATE_TEST_SUITE_P(Drivers, ValuationCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::jobs
