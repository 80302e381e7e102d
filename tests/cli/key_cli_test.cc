// key:generate (writes APP_KEY into ./.env) and encrypted job payloads through the real binary:
// refused dispatch without a key, the sealed form in queue:failed, queue:retry once the key is
// right, a malformed APP_KEY named without its value.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/secretbox.h"
#include "support/cli.h"
#include "support/test_db.h"

namespace unity::cli {
namespace {

namespace fs = std::filesystem;
using testing::CliRun;
using testing::Driver;
using testing::line_count;
using testing::run_cli;
using testing::TestDatabase;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class KeyGenerateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "unity-key-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    env_ = dir_ + "/.env";
  }
  void TearDown() override { fs::remove_all(dir_); }

  CliRun unity(const std::string& args) { return run_cli(dir_, "", args); }
  void write_env(const std::string& text) { std::ofstream(env_, std::ios::binary) << text; }
  std::map<std::string, std::string> env_vars() { return parse_dotenv(slurp(env_)); }
  int mode() {
    struct stat st {};
    EXPECT_EQ(::stat(env_.c_str(), &st), 0);
    return static_cast<int>(st.st_mode & 07777);
  }

  std::string dir_, env_;
};

TEST_F(KeyGenerateTest, WritesAFreshKeyIntoEnvWithMode0600KeepingEveryOtherLine) {
  const std::string before = "# settings\nDB_QUEUE=default\n\nexport OTHER='a b'  # kept\nLAST=1";
  write_env(before);
  ::chmod(env_.c_str(), 0644);
  CliRun r = unity("key:generate --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  auto out = nlohmann::json::parse(r.out);
  EXPECT_EQ(out["path"], ".env");
  EXPECT_EQ(out["replaced"], false);
  EXPECT_EQ(r.out.find("base64:"), std::string::npos) << "the key is not printed";
  const std::string after = slurp(env_);
  EXPECT_TRUE(after.starts_with(before + "\nAPP_KEY=base64:")) << after;
  EXPECT_EQ(mode(), 0600);
  const Config c = Config::from_vars(env_vars());  // a valid key, read as the commands read it
  EXPECT_EQ(c.app_key.size(), secretbox::kKeyBytes);
  EXPECT_EQ(c.queue_default, "default");
  EXPECT_EQ(env_vars()["OTHER"], "a b");

  CliRun human = run_cli(dir_, "", "key:generate --force");
  EXPECT_EQ(human.exit, 0) << human.err;
  EXPECT_NE(human.out.find("APP_KEY replaced in .env"), std::string::npos) << human.out;
}

TEST_F(KeyGenerateTest, CreatesEnvWhenThereIsNone) {
  CliRun r = unity("key:generate");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find("APP_KEY set in .env"), std::string::npos) << r.out;
  EXPECT_TRUE(slurp(env_).starts_with("APP_KEY=base64:"));
  EXPECT_EQ(mode(), 0600);
  EXPECT_EQ(line_count(slurp(env_)), 1u);
}

TEST_F(KeyGenerateTest, RefusesToReplaceAKeyWithoutForceAndReplacesItInPlaceWithForce) {
  const std::string key = secretbox::encode_key(secretbox::new_key());
  const std::string before = "A=1\nAPP_KEY=" + key + "\nB=2\n";
  write_env(before);
  CliRun refused = unity("key:generate");
  EXPECT_EQ(refused.exit, 4);
  EXPECT_EQ(line_count(refused.err), 1u) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_EQ(slurp(env_), before);
  CliRun refused_json = unity("key:generate --json");
  EXPECT_EQ(refused_json.exit, 4);
  EXPECT_EQ(nlohmann::json::parse(refused_json.err)["error"]["code"], "already_exists");

  CliRun forced = unity("key:generate --force --json");
  ASSERT_EQ(forced.exit, 0) << forced.err;
  EXPECT_EQ(nlohmann::json::parse(forced.out)["replaced"], true);
  const std::string after = slurp(env_);
  EXPECT_TRUE(after.starts_with("A=1\nAPP_KEY=base64:")) << after;
  EXPECT_TRUE(after.ends_with("\nB=2\n")) << after;
  EXPECT_EQ(after.find(key), std::string::npos);
  EXPECT_EQ(line_count(after), 3u);
  EXPECT_EQ(mode(), 0600);
}

TEST_F(KeyGenerateTest, AnEmptyKeyIsSetWithoutForce) {
  write_env("APP_KEY=\nX=1\n");
  ASSERT_EQ(unity("key:generate").exit, 0);
  EXPECT_EQ(env_vars()["X"], "1");
  EXPECT_TRUE(env_vars()["APP_KEY"].starts_with("base64:"));
}

TEST_F(KeyGenerateTest, ShowPrintsAKeyAndWritesNothing) {
  CliRun r = unity("key:generate --show");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(secretbox::decode_key(r.out.substr(0, r.out.size() - 1), "key").size(), 32u);
  EXPECT_FALSE(fs::exists(env_));
  write_env("APP_KEY=" + secretbox::encode_key(secretbox::new_key()) + "\n");
  const std::string before = slurp(env_);
  CliRun j = unity("key:generate --show --json");
  ASSERT_EQ(j.exit, 0) << j.err;
  const std::string shown = nlohmann::json::parse(j.out)["key"];
  EXPECT_TRUE(shown.starts_with("base64:"));
  EXPECT_EQ(before.find(shown), std::string::npos);
  EXPECT_EQ(slurp(env_), before);
}

TEST_F(KeyGenerateTest, MalformedEnvIsRefusedUntouchedAndHelpWorks) {
  write_env("GOOD=1\nthis is not a line\n");
  CliRun r = unity("key:generate");
  EXPECT_EQ(r.exit, 2);
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_EQ(slurp(env_), "GOOD=1\nthis is not a line\n");
  CliRun help = unity("key:generate --help");
  EXPECT_EQ(help.exit, 0);
  EXPECT_NE(help.out.find("--force"), std::string::npos);
  EXPECT_NE(help.out.find("--show"), std::string::npos);
  EXPECT_EQ(unity("key:generate --bogus").exit, 2);
}

class EncryptedJobsCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("", "migrate").exit, 0);
    CliRun t = unity("", "tenant:create Acme --json");
    ASSERT_EQ(t.exit, 0) << t.err;
    tenant_ = " --tenant=" + std::to_string(nlohmann::json::parse(t.out)["id"].get<int64_t>());
  }
  // `key`: an APP_KEY ("base64:…") or "" for none.
  CliRun unity(const std::string& key, const std::string& args) {
    return run_cli(db_->dir(), db_->env_for_cli() + (key.empty() ? "" : " APP_KEY=" + key), args);
  }
  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  std::unique_ptr<TestDatabase> db_;
  std::string tenant_;
};

TEST_P(EncryptedJobsCliTest, NoKeyNoDispatchAndAMalformedKeyIsNamedWithoutItsValue) {
  CliRun r = unity("", "queue:dispatch diag.secret" + tenant_ + R"( --data '{"mark":"m"}')");
  EXPECT_EQ(r.exit, 5);
  EXPECT_EQ(line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("APP_KEY is not set"), std::string::npos) << r.err;
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
  CliRun bad = unity("base64:c2hvcnQtc2VjcmV0", "queue:dispatch diag.write" + tenant_);
  EXPECT_EQ(bad.exit, 2);
  EXPECT_EQ(line_count(bad.err), 1u) << bad.err;
  EXPECT_NE(bad.err.find("APP_KEY must be base64:"), std::string::npos) << bad.err;
  EXPECT_EQ(bad.err.find("c2hvcnQtc2VjcmV0"), std::string::npos) << bad.err;
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(EncryptedJobsCliTest, WrongKeyFailsSealedAndRetryWithTheRightKeyRuns) {
  const std::string key = secretbox::encode_key(secretbox::new_key());
  const std::string wrong = secretbox::encode_key(secretbox::new_key());
  CliRun d = unity(
      key, "queue:dispatch diag.secret" + tenant_ + R"( --data '{"mark":"cli-secret"}' --json)");
  ASSERT_EQ(d.exit, 0) << d.err;
  CliRun jobs = unity(key, "queue:jobs" + tenant_ + " --json");
  EXPECT_EQ(jobs.out.find("cli-secret"), std::string::npos) << jobs.out;

  CliRun work = unity(wrong, "queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(work.exit, 0) << work.err;
  CliRun failed = unity(key, "queue:failed --json");
  ASSERT_EQ(failed.exit, 0) << failed.err;
  EXPECT_EQ(failed.out.find("cli-secret"), std::string::npos) << failed.out;
  auto list = nlohmann::json::parse(failed.out);
  ASSERT_EQ(list.size(), 1u) << list;
  EXPECT_TRUE(list[0]["payload"]["sealed"].is_string()) << list;
  EXPECT_NE(list[0]["exception"].get<std::string>().find("APP_KEY"), std::string::npos) << list;
  CliRun table = unity(key, "queue:failed");
  EXPECT_EQ(table.out.find("cli-secret"), std::string::npos) << table.out;

  ASSERT_EQ(unity(key, "queue:retry all").exit, 0);
  work = unity(key, "queue:work --stop-when-empty --sleep=0.1");
  ASSERT_EQ(work.exit, 0) << work.err;
  EXPECT_EQ(count("SELECT count(*) FROM diag_marks WHERE mark = 'cli-secret'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM failed_jobs"), 0);
}

INSTANTIATE_TEST_SUITE_P(Drivers, EncryptedJobsCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::cli
