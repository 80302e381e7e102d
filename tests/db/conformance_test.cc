// The driver conformance suite: every storage behaviour, run on a real SQLite file and a real
// PostgreSQL server (STYLE.md: River's riverdrivertest). Each test gets a fresh database.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "core/decimal.h"
#include "core/error.h"
#include "db/migrate.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "support/test_db.h"

namespace unity::db {
namespace {

using testing::Driver;
using testing::TestDatabase;

class ConformanceTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
  }

  // A scratch table for value tests. Decimals are TEXT on SQLite (its NUMERIC affinity would
  // turn "12.50" into a float) and NUMERIC on PostgreSQL, as in the real schema.
  void make_scratch_table() {
    auto owner = db_->owner();
    const bool sqlite = GetParam() == Driver::kSqlite;
    owner->execute_script(std::string("CREATE TABLE scratch (id BIGINT PRIMARY KEY, name TEXT, ") +
                          "amount " + (sqlite ? "TEXT" : "NUMERIC(30,4)") + ", n BIGINT, f " +
                          (sqlite ? "REAL" : "DOUBLE PRECISION") + ")");
    if (!sqlite) owner->execute_script("GRANT ALL ON scratch TO unity_app");
  }

  int64_t count(Connection& c, const std::string& table) {
    return c.query_int("SELECT count(*) FROM " + table);
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Connection> conn_;
};

TEST_P(ConformanceTest, MigrateFromEmptyCreatesEveryTable) {
  for (const char* t : {"tenants", "users", "jobs", "failed_jobs", "notifications", "import_logs",
                        "reports", "sync_logs", "domain_events", "schema_migrations"}) {
    const int64_t expected = t == std::string("schema_migrations")
                                 ? static_cast<int64_t>(conn_->migration_files().size())
                                 : 0;
    EXPECT_EQ(count(*conn_, t), expected) << t;
  }
}

TEST_P(ConformanceTest, MigrateAgainAppliesNothing) {
  auto owner = db_->owner();
  Migrator m(*owner, db_->config().db_app_role);
  EXPECT_TRUE(m.migrate().empty());
  EXPECT_TRUE(m.migrate().empty());
  for (const auto& s : m.status()) EXPECT_TRUE(s.applied && !s.changed) << s.name;
}

TEST_P(ConformanceTest, MigrationWhoseChecksumChangedIsRefused) {
  auto owner = db_->owner();
  owner->execute("UPDATE schema_migrations SET checksum = 'tampered' WHERE version = '0001'");
  Migrator m(*owner, db_->config().db_app_role);
  try {
    m.migrate();
    FAIL() << "migrate accepted a changed migration";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("0001_foundation changed"), std::string::npos);
  }
  EXPECT_TRUE(m.status()[0].changed);
}

TEST_P(ConformanceTest, FreshDropsEverythingAndMigratesAgain) {
  create_tenant(*conn_, "Acme");
  auto owner = db_->owner();
  Migrator m(*owner, db_->config().db_app_role);
  EXPECT_EQ(m.fresh().size(), owner->migration_files().size());
  auto app = db_->app();
  EXPECT_EQ(count(*app, "tenants"), 0);
}

TEST_P(ConformanceTest, ConcurrentMigrateAppliesEachFileOnce) {
  auto empty = TestDatabase::create(GetParam(), /*migrate=*/false);
  std::vector<std::thread> threads;
  std::atomic<int> applied{0}, failed{0};
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      try {
        auto owner = empty->owner();
        applied += static_cast<int>(Migrator(*owner, "unity_app").migrate().size());
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
        ++failed;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  auto owner = empty->owner();
  EXPECT_EQ(applied.load(), static_cast<int>(owner->migration_files().size()));
  EXPECT_EQ(count(*owner, "schema_migrations"), applied.load());
}

TEST_P(ConformanceTest, CommitPersists) {
  {
    Transaction tx(*conn_);
    create_tenant(*conn_, "Acme");
    tx.commit();
  }
  auto other = db_->app();
  EXPECT_EQ(count(*other, "tenants"), 1);
}

TEST_P(ConformanceTest, RollbackAndDestructorDiscard) {
  {
    Transaction tx(*conn_);
    create_tenant(*conn_, "Explicit");
    tx.rollback();
  }
  try {
    Transaction tx(*conn_);
    create_tenant(*conn_, "Unwound");
    throw invalid_argument("boom");
  } catch (const Error&) {
  }
  EXPECT_EQ(count(*conn_, "tenants"), 0);
  EXPECT_EQ(conn_->transaction_depth(), 0);
}

TEST_P(ConformanceTest, SavepointRollsBackOnlyTheInnerWork) {
  Transaction outer(*conn_);
  create_tenant(*conn_, "Kept");
  {
    Transaction inner(*conn_);
    EXPECT_EQ(conn_->transaction_depth(), 2);
    create_tenant(*conn_, "Dropped");
  }
  {
    Transaction inner(*conn_);
    create_tenant(*conn_, "AlsoKept");
    inner.commit();
  }
  outer.commit();
  auto rows = conn_->query("SELECT name FROM tenants ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].get<std::string>("name"), "Kept");
  EXPECT_EQ(rows[1].get<std::string>("name"), "AlsoKept");
}

TEST_P(ConformanceTest, NullsRoundTrip) {
  make_scratch_table();
  conn_->execute("INSERT INTO scratch (id, name, amount, n) VALUES ($1, $2, $3, $4)",
                 {1, kNull, kNull, kNull});
  auto row = conn_->query_one("SELECT name, amount, n FROM scratch WHERE id = $1", {1});
  ASSERT_TRUE(row);
  EXPECT_TRUE(row->is_null("name"));
  EXPECT_EQ(row->get<std::optional<std::string>>("amount"), std::nullopt);
  EXPECT_EQ(row->get<std::optional<int64_t>>("n"), std::nullopt);
  EXPECT_THROW(row->get<int64_t>("n"), Error);
}

TEST_P(ConformanceTest, UnicodeRoundTrips) {
  make_scratch_table();
  const std::string text = "Zoë's café — 東京 🚚 \"quoted\" 'single' \\ back";
  conn_->execute("INSERT INTO scratch (id, name) VALUES ($1, $2)", {1, text});
  EXPECT_EQ(conn_->query_one("SELECT name FROM scratch")->get<std::string>(0), text);
  auto hit = conn_->query("SELECT id FROM scratch WHERE name = $1", {text});
  EXPECT_EQ(hit.size(), 1u);
}

// copy_rows: COPY … FROM STDIN on PostgreSQL, where text the COPY text format gives a meaning
// to (tab, newline, carriage return, backslash, "\N", "\.") must come back byte for byte, a NULL
// stays NULL and an empty string stays empty; bad rows are refused before anything is sent and
// a value the column refuses is kInvalidArgument, leaving the session usable. SQLite does not
// offer it (kFailedPrecondition, nothing written).
TEST_P(ConformanceTest, CopyRowsRoundTripsHostileTextOrIsNotOffered) {
  make_scratch_table();
  const std::vector<std::string> columns = {"id", "name", "amount", "n"};
  if (!conn_->capabilities().copy_from) {
    try {
      conn_->copy_rows("scratch", columns, {{"1", "x", "1", "1"}});
      FAIL() << "copy_rows without the capability";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
    }
    EXPECT_EQ(count(*conn_, "scratch"), 0);
    return;
  }
  const std::vector<std::string> hostile = {
      "tab\there\tand\tthere",
      "line\nbreak\r\nand CR\r",
      "back\\slash \\N \\. \\t \\n \\\\ end\\",
      "\\.",
      "\\N",
      "quotes ' \" , ; -- /* */",
      "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x9a Zo\xc3\xab",
      "",
      " leading and trailing spaces ",
      std::string(100000, 'x') + "\t" + std::string(100000, '\\'),  // several COPY buffers
  };
  std::vector<CopyRow> rows;
  for (size_t i = 0; i < hostile.size(); ++i) {
    rows.push_back({std::to_string(i + 1), hostile[i], "12.3456", std::nullopt});
  }
  rows.push_back({"100", std::nullopt, std::nullopt, "-7"});
  {
    Transaction tx(*conn_);
    EXPECT_EQ(conn_->copy_rows("scratch", columns, rows), static_cast<int64_t>(rows.size()));
    tx.commit();
  }
  for (size_t i = 0; i < hostile.size(); ++i) {
    auto r = conn_->query_one("SELECT name, amount, n FROM scratch WHERE id = $1",
                              {static_cast<int64_t>(i + 1)});
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->get<std::optional<std::string>>(0), hostile[i]) << i;
    EXPECT_EQ(Decimal::parse(r->get<std::string>(1)).to_string(4), "12.3456");
    EXPECT_TRUE(r->is_null("n"));
  }
  auto last = conn_->query_one("SELECT name, amount, n FROM scratch WHERE id = 100");
  ASSERT_TRUE(last);
  EXPECT_TRUE(last->is_null("name"));
  EXPECT_TRUE(last->is_null("amount"));
  EXPECT_EQ(last->get<int64_t>(2), -7);
  EXPECT_EQ(conn_->copy_rows("scratch", columns, {}), 0);

  auto code = [&](const std::vector<CopyRow>& bad) {
    try {
      conn_->copy_rows("scratch", columns, bad);
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;  // not refused
  };
  EXPECT_EQ(code({{"200", "short"}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({{"201", std::string("nul\0byte", 8), "1", "1"}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({{"202", "ok", "not a number", "1"}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code({{"1", "duplicate id", "1", "1"}}), ErrorCode::kAlreadyExists);
  {  // a COPY rolled back with its transaction leaves nothing
    Transaction tx(*conn_);
    conn_->copy_rows("scratch", columns, {{"300", "gone", "1", "1"}});
  }
  EXPECT_EQ(count(*conn_, "scratch"), static_cast<int64_t>(rows.size()));

  // PostgreSQL refuses COPY into a table with row-level security (every tenant table), for
  // another tenant's row and for the session's own alike: nothing is written.
  const Tenant a = create_tenant(*conn_, "Acme");
  const Tenant b = create_tenant(*conn_, "Globex");
  TenantScope scope(*conn_, a.id);
  const std::vector<std::string> location = {"tenant_id", "code", "name", "created_at"};
  for (const int64_t tenant : {b.id, a.id}) {
    try {
      conn_->copy_rows("locations", location,
                       {{std::to_string(tenant), "X", "Row", "2026-01-01T00:00:00Z"}});
      FAIL() << "COPY wrote into a table with row-level security";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition) << e.what();
    }
  }
  EXPECT_EQ(conn_->query_int("SELECT count(*) FROM locations"), 0);
  EXPECT_EQ(conn_->query_int("SELECT count(*) FROM scratch"), static_cast<int64_t>(rows.size()));
}

TEST_P(ConformanceTest, LargeValuesRoundTrip) {
  make_scratch_table();
  std::string big(8 * 1024 * 1024, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  conn_->execute("INSERT INTO scratch (id, name, n) VALUES ($1, $2, $3)",
                 {1, big, int64_t{9'007'199'254'740'993}});
  auto row = conn_->query_one("SELECT name, n FROM scratch");
  EXPECT_EQ(row->get<std::string>("name"), big);
  EXPECT_EQ(row->get<int64_t>("n"), int64_t{9'007'199'254'740'993});
}

TEST_P(ConformanceTest, DecimalsRoundTripExactly) {
  make_scratch_table();
  const char* values[] = {"0.00", "12.50", "-3.00", "0.0001", "99999999999.9999", "-0.1234"};
  int64_t id = 0;
  for (const char* v : values) {
    conn_->execute("INSERT INTO scratch (id, amount) VALUES ($1, $2)",
                   {++id, Decimal::parse(v).to_string(4)});
  }
  id = 0;
  for (const char* v : values) {
    auto row = conn_->query_one("SELECT amount FROM scratch WHERE id = $1", {++id});
    EXPECT_EQ(Decimal::parse(row->get<std::string>(0)), Decimal::parse(v)) << v;
  }
}

TEST_P(ConformanceTest, FloatsAndIntegersKeepTheirTypes) {
  make_scratch_table();
  conn_->execute("INSERT INTO scratch (id, n, f) VALUES ($1, $2, $3)",
                 {1, int64_t{-9'223'372'036'854'775'807}, 0.25});
  auto row = conn_->query_one("SELECT n, f FROM scratch");
  EXPECT_EQ(row->get<int64_t>("n"), int64_t{-9'223'372'036'854'775'807});
  EXPECT_DOUBLE_EQ(row->get<double>("f"), 0.25);
}

TEST_P(ConformanceTest, UniqueViolationIsAlreadyExists) {
  Tenant t = create_tenant(*conn_, "Acme");
  TenantScope scope(*conn_, t.id);
  create_user(*conn_, "ann@acme.test", "Ann", "admin");
  try {
    create_user(*conn_, "ann@acme.test", "Ann again", "sales");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kAlreadyExists);
  }
}

TEST_P(ConformanceTest, ForeignKeyViolationIsNotFound) {
  auto owner = db_->owner();
  try {
    owner->execute(
        "INSERT INTO users (tenant_id, email, name, role, created_at, updated_at) "
        "VALUES (4242, 'a@b.test', 'A', 'admin', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound) << e.what();
  }
}

TEST_P(ConformanceTest, DomainEventsAreAppendOnly) {
  Tenant t = create_tenant(*conn_, "Acme");
  auto owner = db_->owner();
  owner->execute(
      "INSERT INTO domain_events (uuid, tenant_id, name, payload, occurred_at) "
      "VALUES ('018f0000-0000-7000-8000-000000000001', $1, 'ProductCreated', '{}', "
      "'2026-01-01T00:00:00Z')",
      {t.id});
  EXPECT_THROW(owner->execute("UPDATE domain_events SET name = 'X'"), Error);
  EXPECT_THROW(owner->execute("DELETE FROM domain_events"), Error);
  EXPECT_EQ(count(*owner, "domain_events"), 1);
}

TEST_P(ConformanceTest, QueryEachStreamsEveryRow) {
  make_scratch_table();
  {
    Transaction tx(*conn_);
    for (int i = 1; i <= 5000; ++i) {
      conn_->execute("INSERT INTO scratch (id, n) VALUES ($1, $2)", {i, i * 2});
    }
    tx.commit();
  }
  int64_t sum = 0, rows = 0;
  conn_->query_each("SELECT n FROM scratch ORDER BY id", {}, [&](const Row& r) {
    sum += r.get<int64_t>(0);
    ++rows;
  });
  EXPECT_EQ(rows, 5000);
  EXPECT_EQ(sum, 5000 * 5001);
}

TEST_P(ConformanceTest, ConcurrentWritersFromSeveralThreadsLoseNoUpdate) {
  make_scratch_table();
  conn_->execute("INSERT INTO scratch (id, n) VALUES (1, 0)");
  constexpr int kThreads = 4, kIncrements = 100;
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      auto c = db_->app();
      for (int i = 0; i < kIncrements; ++i) {
        try {
          Transaction tx(*c);
          // SQLite's write transaction already holds the lock; PostgreSQL locks the row.
          const std::string lock = c->capabilities().skip_locked ? " FOR UPDATE" : "";
          int64_t n = c->query_int("SELECT n FROM scratch WHERE id = 1" + lock);
          c->execute("UPDATE scratch SET n = $1 WHERE id = 1", {n + 1});
          tx.commit();
        } catch (const Error& e) {
          ++errors;
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(conn_->query_int("SELECT n FROM scratch WHERE id = 1"), kThreads * kIncrements);
}

TEST_P(ConformanceTest, ConcurrentWritersFromSeveralProcessesLoseNoUpdate) {
  make_scratch_table();
  conn_->execute("INSERT INTO scratch (id, n) VALUES (1, 0)");
  constexpr int kProcs = 4, kIncrements = 50;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int status = 0;
      try {
        auto c = db_->app();
        for (int i = 0; i < kIncrements; ++i) {
          Transaction tx(*c);
          c->execute("UPDATE scratch SET n = n + 1 WHERE id = 1");
          c->execute("INSERT INTO scratch (id, n) VALUES ($1, $2)",
                     {1000 + p * kIncrements + i, p});
          tx.commit();
        }
      } catch (...) {
        status = 1;
      }
      _exit(status);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(conn_->query_int("SELECT n FROM scratch WHERE id = 1"), kProcs * kIncrements);
  EXPECT_EQ(conn_->query_int("SELECT count(*) FROM scratch WHERE id >= 1000"),
            kProcs * kIncrements);
}

// --- tenant isolation ---------------------------------------------------------------------------

TEST_P(ConformanceTest, TenantTablesNeedATenantContext) {
  Tenant t = create_tenant(*conn_, "Acme");
  try {
    list_users(*conn_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  }
  EXPECT_THROW(create_user(*conn_, "a@acme.test", "A", "admin"), Error);
  TenantScope scope(*conn_, t.id);
  EXPECT_NO_THROW(create_user(*conn_, "a@acme.test", "A", "admin"));
}

TEST_P(ConformanceTest, AnotherTenantSeesNoUsers) {
  Tenant a = create_tenant(*conn_, "Acme");
  Tenant b = create_tenant(*conn_, "Globex");
  int64_t ann = 0;
  {
    TenantScope scope(*conn_, a.id);
    ann = create_user(*conn_, "ann@acme.test", "Ann", "admin").id;
  }
  TenantScope scope(*conn_, b.id);
  EXPECT_TRUE(list_users(*conn_).empty());
  try {
    find_user(*conn_, ann);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  // Same email in another tenant is fine: uniqueness is per tenant.
  EXPECT_NO_THROW(create_user(*conn_, "ann@acme.test", "Ann of Globex", "sales"));
}

TEST_P(ConformanceTest, RowLevelSecurityHidesRowsWithoutTheRightTenant) {
  if (!conn_->capabilities().row_level_security) {
    GTEST_SKIP() << "no row-level security in this driver; the data layer enforces tenancy";
  }
  Tenant a = create_tenant(*conn_, "Acme");
  Tenant b = create_tenant(*conn_, "Globex");
  {
    TenantScope scope(*conn_, a.id);
    create_user(*conn_, "ann@acme.test", "Ann", "admin");
  }
  {
    TenantScope scope(*conn_, b.id);
    create_user(*conn_, "bob@globex.test", "Bob", "admin");
  }
  // A query that forgets its WHERE clause still sees only the context's tenant …
  {
    TenantScope scope(*conn_, a.id);
    auto rows = conn_->query("SELECT email FROM users");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].get<std::string>(0), "ann@acme.test");
    // … and cannot write another tenant's rows.
    EXPECT_EQ(conn_->execute("UPDATE users SET name = 'hacked'"), 1);
    EXPECT_EQ(conn_->execute("DELETE FROM users WHERE tenant_id = $1", {b.id}), 0);
    try {
      conn_->execute(
          "INSERT INTO users (tenant_id, email, name, role, created_at, updated_at) "
          "VALUES ($1, 'x@globex.test', 'X', 'admin', now(), now())",
          {b.id});
      FAIL() << "inserted a row for another tenant";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kPermissionDenied) << e.what();
    }
  }
  // Without any tenant context nothing is visible or writable.
  EXPECT_EQ(count(*conn_, "users"), 0);
  EXPECT_EQ(conn_->execute("UPDATE users SET name = 'x'"), 0);
  // The owner sees both, untouched by the other tenant's statements.
  auto owner = db_->owner();
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM users WHERE name = 'hacked'"), 1);
  EXPECT_EQ(owner->query_int("SELECT count(*) FROM users"), 2);
}

TEST_P(ConformanceTest, TenantContextSurvivesARolledBackTransaction) {
  Tenant a = create_tenant(*conn_, "Acme");
  {
    TenantScope scope(*conn_, a.id);
    create_user(*conn_, "ann@acme.test", "Ann", "admin");
    {
      Transaction tx(*conn_);
      conn_->set_tenant(a.id);  // set inside a transaction that then rolls back
    }
    EXPECT_EQ(list_users(*conn_).size(), 1u);
    EXPECT_EQ(count(*conn_, "users"), 1);
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, ConformanceTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::db
