// Encryption at rest on both drivers (queue/payload_crypt.h): an encrypted type's payload is
// sealed in jobs, failed_jobs, a chain's later links and a batch's callbacks, opened only by the
// worker; a key problem fails the job at once, still sealed, and queue:retry runs it once the key
// is right; rotation through APP_PREVIOUS_KEYS; no key, no dispatch.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/secretbox.h"
#include "db/tenancy.h"
#include "queue/batch.h"
#include "queue/dispatch.h"
#include "queue/store.h"
#include "queue/views.h"
#include "queue/worker.h"
#include "support/test_db.h"

namespace unity::queue {
namespace {

using testing::Driver;
using testing::TestDatabase;

class EncryptedJobsTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    register_diag_jobs(registry_);
    tenant_ = db::create_tenant(*conn_, "Acme").id;
    key_ = secretbox::new_key();
  }

  // The test database's configuration with these keys.
  Config config(const std::string& app_key, std::vector<std::string> previous = {}) const {
    Config c = db_->config();
    c.app_key = app_key;
    c.app_previous_keys = std::move(previous);
    return c;
  }

  InsertedJob dispatch(const Config& c, const std::string& mark,
                       const std::string& type = "diag.secret") {
    Dispatcher d(c, registry_);
    return d.dispatch(*conn_, tenant_, type, R"({"mark":")" + mark + R"("})");
  }

  void drain(const Config& c) {
    WorkerOptions o{.tries = 3, .backoff = Backoff::parse("0"), .stop_when_empty = true};
    Worker w(db::connection_factory(c), c, registry_, o, nullptr);
    w.run();
  }

  std::string text(const std::string& sql) {
    auto row = db_->owner()->query_one(sql);
    return row ? row->get<std::string>(0) : "";
  }
  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }
  int64_t marks(const std::string& mark) {
    return count("SELECT count(*) FROM diag_marks WHERE mark = '" + mark + "'");
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  JobRegistry registry_;
  int64_t tenant_ = 0;
  std::string key_;
};

TEST_P(EncryptedJobsTest, PayloadIsStoredSealedAndTheWorkerOpensIt) {
  dispatch(config(key_), "plain-secret-mark");
  dispatch(config(key_), "plain-open-mark", "diag.write");
  const std::string stored = text("SELECT payload FROM jobs WHERE type = 'diag.secret'");
  EXPECT_TRUE(stored.starts_with(R"({"sealed":"v1:)" + secretbox::key_id(key_) + ":")) << stored;
  EXPECT_EQ(stored.find("plain-secret-mark"), std::string::npos) << stored;
  EXPECT_EQ(text("SELECT payload FROM jobs WHERE type = 'diag.write'"),
            R"({"mark":"plain-open-mark"})");  // other types are stored as dispatched
  drain(config(key_));
  EXPECT_EQ(marks("plain-secret-mark"), 1);
  EXPECT_EQ(marks("plain-open-mark"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs") + count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(EncryptedJobsTest, DispatchWithoutAKeyIsRefusedAndWritesNothing) {
  const Config no_key = config("");
  Dispatcher d(no_key, registry_);
  try {
    d.dispatch_many(*conn_, tenant_, "diag.secret", {R"({"mark":"a"})", R"({"mark":"b"})"});
    ADD_FAILURE() << "dispatched without APP_KEY";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("APP_KEY is not set"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("diag.secret"), std::string::npos) << e.what();
  }
  EXPECT_THROW(dispatch_chain(*conn_, d, tenant_,
                              parse_chain_spec(R"({"jobs":[{"type":"diag.write"},)"
                                               R"({"type":"diag.secret"}]})")),
               Error);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  dispatch(config(""), "open", "diag.write");  // types not encrypted need no key
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
}

TEST_P(EncryptedJobsTest, WrongKeyFailsAtOnceSealedAndRetrySucceedsOnceTheKeyIsRight) {
  const InsertedJob job = dispatch(config(key_), "kept-secret");
  const std::string stored = text("SELECT payload FROM jobs");
  const std::string wrong = secretbox::new_key();
  drain(config(wrong));
  EXPECT_EQ(marks("kept-secret"), 0);
  ASSERT_EQ(count("SELECT count(*) FROM failed_jobs"), 1);
  // Failed for good on its first attempt (of 3): a key problem does not mend itself.
  EXPECT_EQ(count("SELECT attempts FROM failed_jobs"), 1);
  EXPECT_EQ(text("SELECT payload FROM failed_jobs"), stored);
  const std::string error = text("SELECT exception FROM failed_jobs");
  EXPECT_NE(error.find("sealed with key " + secretbox::key_id(key_)), std::string::npos) << error;
  EXPECT_NE(error.find("APP_KEY (" + secretbox::key_id(wrong) + ")"), std::string::npos) << error;

  // What queue:failed and the dashboard show is the sealed form.
  auto owner = db_->owner();
  JobStore store(*owner, "jobs", system_clock());
  const auto listed = failed_job_json(store.failed_list(std::nullopt, 10).at(0));
  EXPECT_EQ(listed["payload"].dump().find("kept-secret"), std::string::npos) << listed;
  EXPECT_TRUE(listed["payload"]["sealed"].is_string()) << listed;

  store.failed_retry({job.uuid}, std::nullopt);
  EXPECT_EQ(text("SELECT payload FROM jobs"), stored);
  drain(config(key_));
  EXPECT_EQ(marks("kept-secret"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM jobs") + count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(EncryptedJobsTest, WorkerWithoutAKeyFailsTheJobNamingAppKey) {
  dispatch(config(key_), "needs-key");
  drain(config(""));
  EXPECT_EQ(marks("needs-key"), 0);
  const std::string error = text("SELECT exception FROM failed_jobs");
  EXPECT_NE(error.find("cannot decrypt the payload of diag.secret: APP_KEY is not set"),
            std::string::npos)
      << error;
}

TEST_P(EncryptedJobsTest, AlteredPayloadFailsWithoutRunning) {
  dispatch(config(key_), "untouched");
  std::string stored = text("SELECT payload FROM jobs");
  const size_t at = stored.size() - 8;  // inside the ciphertext, before the padding and "}
  stored[at] = stored[at] == 'A' ? 'B' : 'A';
  db_->owner()->execute("UPDATE jobs SET payload = $1", {stored});
  drain(config(key_));
  EXPECT_EQ(marks("untouched"), 0);
  EXPECT_NE(text("SELECT exception FROM failed_jobs").find("altered"), std::string::npos);
}

TEST_P(EncryptedJobsTest, JobsSealedWithAPreviousKeyRunAfterRotation) {
  const std::string old_key = key_, new_key = secretbox::new_key();
  dispatch(config(old_key), "sealed-with-old");
  dispatch(config(new_key, {old_key}), "sealed-with-new");
  EXPECT_EQ(
      count("SELECT count(*) FROM jobs WHERE payload LIKE '%" + secretbox::key_id(new_key) + "%'"),
      1);  // new jobs are sealed with APP_KEY, not with a previous key
  drain(config(new_key, {secretbox::new_key(), old_key}));
  EXPECT_EQ(marks("sealed-with-old"), 1);
  EXPECT_EQ(marks("sealed-with-new"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

TEST_P(EncryptedJobsTest, ChainLinksAndBatchCallbacksStaySealed) {
  const Config keyed = config(key_);
  Dispatcher d(keyed, registry_);
  dispatch_chain(*conn_, d, tenant_,
                 parse_chain_spec(R"({"jobs":[{"type":"diag.secret","data":{"mark":"link-1"}},)"
                                  R"({"type":"diag.secret","data":{"mark":"link-2"}}],)"
                                  R"("catch":{"type":"diag.secret","data":{"mark":"link-c"}}})"));
  dispatch_batch(*conn_, d, tenant_,
                 parse_batch_spec(R"({"jobs":[{"type":"diag.noop"}],)"
                                  R"("then":{"type":"diag.secret","data":{"mark":"then-s"}}})"));
  const std::string chain = text("SELECT chain FROM jobs WHERE chain IS NOT NULL");
  EXPECT_NE(chain.find("sealed"), std::string::npos) << chain;
  EXPECT_EQ(count("SELECT count(*) FROM jobs WHERE payload LIKE '%link-%'"
                  " OR chain LIKE '%link-%'"),
            0);
  EXPECT_EQ(count("SELECT count(*) FROM job_batches WHERE options LIKE '%then-s%'"), 0);
  drain(config(key_));
  EXPECT_EQ(marks("link-1"), 1);
  EXPECT_EQ(marks("link-2"), 1);
  EXPECT_EQ(marks("link-c"), 0);
  EXPECT_EQ(marks("then-s"), 1);
}

TEST_P(EncryptedJobsTest, SyncDriverRunsAnEncryptedJobInlineAndStillNeedsTheKey) {
  Config sync = config(key_);
  sync.queue_connection = QueueConnection::kSync;
  dispatch(sync, "inline-secret");
  EXPECT_EQ(marks("inline-secret"), 1);
  sync.app_key.clear();
  EXPECT_THROW(dispatch(sync, "no-key"), Error);
  EXPECT_EQ(marks("no-key"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, EncryptedJobsTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::queue
