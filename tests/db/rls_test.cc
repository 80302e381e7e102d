// Guarantee 11 on PostgreSQL: no way around tenant isolation for the app role (DB_APP_ROLE), even
// for a buggy query. One test per gap migration 0011 and the app role's grants close.
#include <gtest/gtest.h>
#include <unistd.h>

#include <regex>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "support/test_db.h"

namespace unity::db {
namespace {

using testing::Driver;
using testing::TestDatabase;

class RowLevelSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(Driver::kPostgres);
    db_ = TestDatabase::create(Driver::kPostgres);
    owner_ = db_->owner();
    app_ = db_->app();
    a_ = create_tenant(*app_, "A").id;
    b_ = create_tenant(*app_, "B").id;
  }

  // The error `sql` raises on `conn`; fails the test when it succeeds.
  static Error error_of(Connection& conn, const std::string& sql, const Params& params = {}) {
    try {
      conn.execute(sql, params);
    } catch (const Error& e) {
      return e;
    }
    ADD_FAILURE() << "succeeded: " << sql;
    return internal_error("no error");
  }

  int64_t insert_product(int64_t tenant, const std::string& sku) {
    TenantScope scope(*app_, tenant);
    return app_->query_int(
        "INSERT INTO products (tenant_id, sku, name, price, cost, reorder_level, unit, created_at,"
        " updated_at) VALUES ($1, $2, $2, 1, 1, 0, 'pc', now(), now()) RETURNING id",
        {tenant, sku});
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Connection> owner_, app_;
  int64_t a_ = 0, b_ = 0;
};

TEST_F(RowLevelSecurityTest, QueueTablesShowATenantOnlyItsOwnRows) {
  for (int64_t t : {a_, b_}) {
    owner_->execute(
        "INSERT INTO jobs (uuid, tenant_id, queue, type, payload, available_at, created_at)"
        " VALUES (gen_random_uuid()::text, $1, 'default', 'x', '{}', 0, 0)",
        {t});
    owner_->execute(
        "INSERT INTO failed_jobs (uuid, tenant_id, connection, queue, type, payload, attempts,"
        " exception, failed_at) VALUES (gen_random_uuid()::text, $1, 'database', 'default', 'x',"
        " '{}', 1, 'boom', now())",
        {t});
    owner_->execute(
        "INSERT INTO queue_pauses (tenant_id, queue, paused_at) VALUES ($1, '*', now())", {t});
    owner_->execute(
        "INSERT INTO diag_marks (tenant_id, mark, job_id, attempt) VALUES ($1, 'm', 1, 1)", {t});
    owner_->execute(
        "INSERT INTO spans (trace_id, span_id, tenant_id, kind, name, status, started_at,"
        " finished_at, duration_us) VALUES ('t', 's', $1, 'job', 'x', 'ok', 0, 0, 0)",
        {t});
    // Job middleware's locks and counters: the same key in two tenants is two rows.
    owner_->execute(
        "INSERT INTO job_locks (tenant_id, key, owner_job_id, token, expires_at)"
        " VALUES ($1, 'lock:x:k', 1, 1, 0)",
        {t});
    owner_->execute(
        "INSERT INTO job_counters (tenant_id, key, window_start, count) VALUES ($1, 'rate:k', 0, "
        "1)",
        {t});
  }
  for (const char* table : {"jobs", "failed_jobs", "queue_pauses", "diag_marks", "spans",
                            "job_locks", "job_counters"}) {
    const std::string sql = std::string("SELECT count(*) FROM ") + table;
    {
      TenantScope scope(*app_, a_);
      EXPECT_EQ(app_->query_int(sql + " WHERE tenant_id = $1", {b_}), 0) << table;
      EXPECT_EQ(app_->query_int(sql), 1) << table;
      EXPECT_EQ(app_->execute(std::string("DELETE FROM ") + table), 1) << table;
    }
    // Workers and operators' queue commands run without a tenant: they see every tenant's rows.
    EXPECT_EQ(app_->query_int(sql), 1) << table;
  }
}

TEST_F(RowLevelSecurityTest, ATenantCannotWriteAnotherTenantsSpan) {
  TenantScope scope(*app_, a_);
  EXPECT_THROW(app_->execute("INSERT INTO spans (trace_id, span_id, tenant_id, kind, name, status,"
                             " started_at, finished_at, duration_us)"
                             " VALUES ('t', 's', $1, 'job', 'x', 'ok', 0, 0, 0)",
                             {b_}),
               Error);
  EXPECT_EQ(app_->execute("INSERT INTO spans (trace_id, span_id, tenant_id, kind, name, status,"
                          " started_at, finished_at, duration_us)"
                          " VALUES ('t', 's', $1, 'job', 'x', 'ok', 0, 0, 0)",
                          {a_}),
            1);
}

// The session's tenant setting, which the policies read, is sent lazily (only before a statement,
// only when it changed): it must still follow every switch, and a rolled-back transaction, which
// undoes a setting changed inside it, must not leave the session on the wrong tenant.
TEST_F(RowLevelSecurityTest, TenantSettingFollowsSwitchesAndRollbacks) {
  insert_product(a_, "A1");
  insert_product(b_, "B1");
  insert_product(b_, "B2");
  const std::string count = "SELECT count(*) FROM products";
  app_->set_tenant(a_);
  EXPECT_EQ(app_->query_int(count), 1);
  {
    Transaction tx(*app_);
    app_->set_tenant(b_);
    EXPECT_EQ(app_->query_int(count), 2);
    tx.rollback();
  }
  EXPECT_EQ(app_->query_int(count), 2);  // still b_: the rollback undid only the server's copy
  app_->set_tenant(a_);
  {
    Transaction tx(*app_);
    app_->set_tenant(b_);
    app_->set_tenant(a_);
    tx.commit();
  }
  EXPECT_EQ(app_->query_int(count), 1);
  {
    Transaction tx(*app_);
    app_->set_tenant(b_);
    EXPECT_EQ(app_->query_int(count), 2);
    app_->set_tenant(a_);
    tx.rollback();
  }
  EXPECT_EQ(app_->query_int(count), 1);
  app_->set_tenant(std::nullopt);
  EXPECT_EQ(app_->query_int(count), 0);
  app_->set_tenant(b_);
  EXPECT_EQ(app_->query_int(count), 2);
}

TEST_F(RowLevelSecurityTest, EveryTenantTableForcesRowLevelSecurity) {
  std::vector<std::string> not_forced;
  owner_->query_each(
      "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
      " AND c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity)"
      " AND (c.relname = 'tenants' OR EXISTS (SELECT 1 FROM pg_attribute a"
      " WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))"
      " ORDER BY 1",
      {}, [&](const Row& r) { not_forced.push_back(r.get<std::string>(0)); });
  EXPECT_EQ(not_forced, std::vector<std::string>{});
  // Tables holding tenants' rows without a policy would be empty to the app role, not open.
  EXPECT_EQ(owner_->query_int("SELECT count(*) FROM pg_class c WHERE c.relrowsecurity AND NOT"
                              " EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)"),
            0);
}

TEST_F(RowLevelSecurityTest, OrderLineNamingAnotherTenantsProductFailsLikeAMissingOne) {
  const int64_t theirs = insert_product(b_, "B-1");
  insert_product(a_, "A-1");
  TenantScope scope(*app_, a_);
  const int64_t customer = app_->query_int(
      "INSERT INTO customers (tenant_id, name, created_at, updated_at)"
      " VALUES ($1, 'c', now(), now()) RETURNING id",
      {a_});
  const int64_t order = app_->query_int(
      "INSERT INTO orders (tenant_id, customer_id, status, total, created_at, updated_at)"
      " VALUES ($1, $2, 'draft', 0, now(), now()) RETURNING id",
      {a_, customer});
  const std::string line =
      "INSERT INTO order_lines (tenant_id, order_id, product_id, quantity, unit_price, line_total)"
      " VALUES ($1, $2, $3, 1, 1, 1)";
  const int64_t missing = theirs + 1000;
  Error other = error_of(*app_, line, {a_, order, theirs});
  Error none = error_of(*app_, line, {a_, order, missing});
  EXPECT_EQ(other.code(), ErrorCode::kNotFound) << other.what();
  EXPECT_EQ(other.code(), none.code());
  const std::regex id(std::to_string(theirs) + "|" + std::to_string(missing));
  EXPECT_EQ(std::regex_replace(other.what(), id, "N"), std::regex_replace(none.what(), id, "N"));
  EXPECT_EQ(app_->query_int("SELECT count(*) FROM order_lines"), 0);
}

TEST_F(RowLevelSecurityTest, AppRoleCannotRenameOrDeleteTenants) {
  EXPECT_EQ(error_of(*app_, "UPDATE tenants SET name = 'mine' WHERE id = $1", {b_}).code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(error_of(*app_, "DELETE FROM tenants WHERE id = $1", {b_}).code(),
            ErrorCode::kPermissionDenied);
  TenantScope scope(*app_, a_);
  // In a tenant's context: no other tenant to see, change or create.
  EXPECT_EQ(app_->query_int("SELECT count(*) FROM tenants"), 1);
  EXPECT_EQ(app_->execute("UPDATE tenants SET weight = 1000 WHERE id = $1", {b_}), 0);
  EXPECT_EQ(error_of(*app_,
                     "INSERT INTO tenants (name, created_at, updated_at)"
                     " VALUES ('x', now(), now())")
                .code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(owner_->query_one("SELECT name FROM tenants WHERE id = $1", {b_})->get<std::string>(0),
            "B");
}

TEST_F(RowLevelSecurityTest, AppRoleCannotWriteSchemaMigrations) {
  EXPECT_GT(app_->query_int("SELECT count(*) FROM schema_migrations"), 0);  // pending check
  EXPECT_EQ(error_of(*app_, "DELETE FROM schema_migrations").code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(error_of(*app_, "UPDATE schema_migrations SET checksum = 'x'").code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(error_of(*app_, "INSERT INTO schema_migrations VALUES ('9999', 'x', 'x', 'x')").code(),
            ErrorCode::kPermissionDenied);
}

TEST_F(RowLevelSecurityTest, AppRoleCannotPauseAnotherTenant) {
  TenantScope scope(*app_, a_);
  EXPECT_EQ(
      error_of(*app_,
               "INSERT INTO queue_pauses (tenant_id, queue, paused_at) VALUES ($1, '*', now())",
               {b_})
          .code(),
      ErrorCode::kPermissionDenied);
  app_->execute("INSERT INTO queue_pauses (tenant_id, queue, paused_at) VALUES ($1, '*', now())",
                {a_});
  EXPECT_EQ(error_of(*app_, "UPDATE queue_pauses SET tenant_id = $1", {b_}).code(),
            ErrorCode::kPermissionDenied);
}

TEST_F(RowLevelSecurityTest, AppRoleCannotMoveASharedSequenceOrPickIds) {
  const int64_t first = insert_product(b_, "B-1");
  TenantScope scope(*app_, a_);
  EXPECT_EQ(
      error_of(*app_, "SELECT setval(pg_get_serial_sequence('products', 'id'), $1)", {first + 1000})
          .code(),
      ErrorCode::kPermissionDenied);
  // An id chosen by tenant A would make tenant B's next insert collide just the same.
  EXPECT_EQ(error_of(*app_,
                     "INSERT INTO products (id, tenant_id, sku, name, price, cost, reorder_level,"
                     " unit, created_at, updated_at) VALUES ($1, $2, 'A', 'A', 1, 1, 0, 'pc',"
                     " now(), now())",
                     {first + 1, a_})
                .code(),
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(insert_product(b_, "B-2"), first + 1);
}

TEST_F(RowLevelSecurityTest, AppRoleThatBypassesRowLevelSecurityIsRefusedAtStart) {
  const std::string bypass = "unity_bypass_" + std::to_string(getpid());
  owner_->execute_script("DROP ROLE IF EXISTS " + bypass + "; CREATE ROLE " + bypass +
                         " NOLOGIN BYPASSRLS");
  for (const std::string& role : {std::string("postgres"), bypass}) {
    Config c = Config::from_vars(
        {{"DB_CONNECTION", "pgsql"}, {"DB_URL", db_->config().db_url}, {"DB_APP_ROLE", role}});
    try {
      open_connection(c, Role::kApp);
      ADD_FAILURE() << role << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition) << e.what();
      EXPECT_NE(std::string(e.what()).find("DB_APP_ROLE \"" + role + "\""), std::string::npos)
          << e.what();
      EXPECT_NE(std::string(e.what()).find("BYPASSRLS"), std::string::npos) << e.what();
    }
  }
  owner_->execute_script("DROP ROLE " + bypass);
}

}  // namespace
}  // namespace unity::db
