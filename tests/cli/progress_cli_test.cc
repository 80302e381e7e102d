// `--wait` on the commands that dispatch a long job and `--watch` on imports:show and
// reports:show, end to end on both drivers with a real worker process: the progress bar drawn on
// a real pseudo-terminal and ending at 100%, nothing but the final status through a pipe, a failed
// import's exit code with one line on stderr, the final --json object, and --timeout giving up
// while the job stays queued.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/process.h"
#include "support/test_db.h"

extern char** environ;

namespace unity::cli {
namespace {

using namespace std::chrono_literals;
using testing::CliRun;
using testing::Driver;
using testing::Process;
using testing::TestDatabase;

// What a command wrote on a terminal (its stderr) and to its stdout (a file), and its exit code.
struct PtyRun {
  int exit = -1;
  std::string tty, out;
};

class ProgressCliTest : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    db_ = TestDatabase::create(GetParam(), /*migrate=*/false);
    ASSERT_EQ(unity("migrate").exit, 0);
    ASSERT_EQ(unity("tenant:create Acme").exit, 0);
    ASSERT_EQ(unity("user:create --tenant 1 --email k@acme.test --name Kim --role admin").exit, 0);
  }

  CliRun unity(const std::string& args, const std::string& queue = "database") {
    return testing::run_cli(db_->dir(), db_->env_for_cli() + " QUEUE_CONNECTION=" + queue, args);
  }
  nlohmann::json ok(const std::string& args) {
    CliRun r = unity(args + " --json");
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? nlohmann::json::parse(r.out) : nlohmann::json();
  }
  int64_t count(const std::string& sql) { return db_->owner()->query_int(sql); }

  // The environment of a `unity` process pointed at this test's database.
  std::map<std::string, std::string> env() const {
    auto e = db_->cli_env();
    e["QUEUE_CONNECTION"] = "database";
    return e;
  }
  Process start_worker() {
    return Process::start({testing::unity_binary(), "queue:work", "--sleep=0.2"}, env(), db_->dir(),
                          db_->dir() + "/worker.log");
  }

  // A products CSV of `rows` good rows.
  std::string products_csv(int rows) {
    const std::string path = db_->dir() + "/products.csv";
    std::ofstream f(path);
    f << "sku,name,price\n";
    for (int i = 1; i <= rows; ++i) f << "P-" << i << ",Product " << i << "," << i << ".50\n";
    return path;
  }
  // A file that is not CSV (a PNG header): the import fails as a whole.
  std::string not_csv() {
    const std::string path = db_->dir() + "/logo.png";
    std::ofstream(path, std::ios::binary) << std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    return path;
  }

  // Runs `unity ARGS…` with its stderr (and stdin) on a new pseudo-terminal in raw mode (so every
  // '\r' read back is the program's own) and its stdout to a file.
  PtyRun run_on_pty(const std::vector<std::string>& args, const std::string& queue = "database") {
    std::vector<std::string> argv_s{testing::unity_binary()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<std::string> env_s;
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    for (const auto& [k, v] : env())
      env_s.push_back(k + "=" + (k == "QUEUE_CONNECTION" ? queue : v));
    std::vector<char*> argv, envp;
    for (auto& s : argv_s) argv.push_back(s.data());
    for (auto& s : env_s) envp.push_back(s.data());
    argv.push_back(nullptr);
    envp.push_back(nullptr);
    const std::string out_path = db_->dir() + "/pty.out";
    termios raw{};
    cfmakeraw(&raw);
    winsize ws{};
    ws.ws_col = 120;
    ws.ws_row = 40;
    int master = -1;
    const pid_t pid = forkpty(&master, nullptr, &raw, &ws);
    if (pid == 0) {
      const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (out < 0 || dup2(out, STDOUT_FILENO) < 0 || chdir(db_->dir().c_str()) != 0) _exit(126);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    PtyRun run;
    if (pid < 0) return run;
    const auto until = std::chrono::steady_clock::now() + 120s;
    char buf[4096];
    while (std::chrono::steady_clock::now() < until) {
      pollfd p{master, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) continue;
      const ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO once the program has exited and closed the terminal
      run.tty.append(buf, static_cast<size_t>(n));
    }
    close(master);
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == 0) kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    run.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(out_path);
    std::stringstream ss;
    ss << in.rdbuf();
    run.out = ss.str();
    return run;
  }

  std::unique_ptr<TestDatabase> db_;
};

size_t occurrences(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST_P(ProgressCliTest, WaitDrawsTheBarOnATerminalAndEndsAt100Percent) {
  auto worker = start_worker();
  const std::string file = products_csv(1500);  // three chunks of 500 rows
  PtyRun r = run_on_pty({"import", "products", file, "--tenant", "1", "--wait"});
  ASSERT_EQ(r.exit, 0) << r.tty << r.out;
  // One line redrawn with '\r' (at least once before the end), then a newline.
  EXPECT_GE(occurrences(r.tty, "\rimport 1  ["), 2u) << r.tty;
  EXPECT_EQ(occurrences(r.tty, "\n"), 1u) << r.tty;
  ASSERT_FALSE(r.tty.empty());
  EXPECT_EQ(r.tty.back(), '\n') << r.tty;
  const std::string last = r.tty.substr(r.tty.rfind('\r'));
  EXPECT_NE(last.find("[####################] 100%"), std::string::npos) << last;
  EXPECT_NE(last.find("completed"), std::string::npos) << last;
  // The final status goes to stdout, as with QUEUE_CONNECTION=sync.
  EXPECT_EQ(r.out, "Import 1: completed, 1500 imported, 0 failed of 1500\n");
  EXPECT_EQ(count("SELECT count(*) FROM products"), 1500);
}

// QUEUE_CONNECTION=sync: the job runs inside the command, which draws its progress itself
// (the job's log lines clear the bar's line and the bar is redrawn after them).
TEST_P(ProgressCliTest, TheSyncConnectionDrawsTheInlineJobsBar) {
  const std::string file = products_csv(1500);  // three chunks of 500 rows
  PtyRun r = run_on_pty({"import", "products", file, "--tenant", "1"}, "sync");
  ASSERT_EQ(r.exit, 0) << r.tty << r.out;
  EXPECT_GE(occurrences(r.tty, "\rProcessBulkImport  ["), 2u) << r.tty;
  ASSERT_FALSE(r.tty.empty());
  EXPECT_EQ(r.tty.back(), '\n') << r.tty;
  const std::string last = r.tty.substr(r.tty.rfind('\r'));
  EXPECT_NE(last.find("[####################] 100%"), std::string::npos) << last;
  EXPECT_NE(r.tty.find("\"step\":\"finished\""), std::string::npos) << r.tty;  // the job's log
  EXPECT_EQ(r.out, "Import 1: completed, 1500 imported, 0 failed of 1500\n");
  // --json on the same terminal: no bar.
  PtyRun j = run_on_pty({"import", "products", file, "--tenant", "1", "--json"}, "sync");
  ASSERT_EQ(j.exit, 0) << j.tty << j.out;
  EXPECT_EQ(occurrences(j.tty, "\rProcessBulkImport"), 0u) << j.tty;
}

TEST_P(ProgressCliTest, JsonOnATerminalDrawsNoBar) {
  auto worker = start_worker();
  PtyRun r =
      run_on_pty({"import", "products", products_csv(3), "--tenant", "1", "--wait", "--json"});
  ASSERT_EQ(r.exit, 0) << r.tty << r.out;
  EXPECT_EQ(r.tty, "");
  EXPECT_EQ(nlohmann::json::parse(r.out)["status"], "completed") << r.out;
}

TEST_P(ProgressCliTest, WaitThroughAPipePrintsOnlyTheFinalStatus) {
  auto worker = start_worker();
  const std::string file = products_csv(3);
  CliRun r = unity("import products " + file + " --tenant 1 --wait");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, "Import 1: completed, 3 imported, 0 failed of 3\n");

  // --json: one final object, the dispatch fields plus the import's status.
  CliRun j = unity("import products " + file + " --tenant 1 --wait --json");
  ASSERT_EQ(j.exit, 0) << j.err;
  EXPECT_EQ(j.err, "");
  EXPECT_EQ(testing::line_count(j.out), 1u) << j.out;
  auto out = nlohmann::json::parse(j.out);
  EXPECT_EQ(out["import_id"], 2);
  EXPECT_TRUE(out["job_id"].is_number_integer()) << out.dump();
  EXPECT_EQ(out["status"], "completed");
  EXPECT_EQ(out["imported_rows"], 3);
  EXPECT_EQ(out["total_rows"], 3);
}

TEST_P(ProgressCliTest, WaitOnAFailedImportExitsNonZeroWithOneLineOnStderr) {
  auto worker = start_worker();
  CliRun r = unity("import products " + not_csv() + " --tenant 1 --wait");
  EXPECT_EQ(r.exit, 5) << r.out << r.err;
  EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("unity: import 1 failed: ", 0), 0u) << r.err;
  EXPECT_EQ(r.out.rfind("Import 1: failed", 0), 0u) << r.out;

  CliRun j = unity("import products " + not_csv() + " --tenant 1 --wait --json");
  EXPECT_EQ(j.exit, 5) << j.err;
  EXPECT_EQ(testing::line_count(j.err), 1u) << j.err;
  EXPECT_EQ(nlohmann::json::parse(j.out)["status"], "failed") << j.out;

  // The same with the job run inside the command (QUEUE_CONNECTION=sync, whose job log also
  // goes to stderr): the error is the last line.
  CliRun s = unity("import products " + not_csv() + " --tenant 1 --wait", "sync");
  EXPECT_EQ(s.exit, 5) << s.err;
  EXPECT_NE(s.err.find("\nunity: import 3 failed: the file is not CSV"), std::string::npos)
      << s.err;
  EXPECT_EQ(s.err.back(), '\n');
}

TEST_P(ProgressCliTest, TimeoutGivesUpAndLeavesTheJobQueuedForAWorker) {
  const std::string file = products_csv(3);
  CliRun r = unity("import products " + file + " --tenant 1 --wait --timeout 0.5");
  EXPECT_EQ(r.exit, 8) << r.err;  // deadline_exceeded
  EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("queue:work"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("imports:show 1 --tenant 1 --watch"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
  EXPECT_EQ(ok("imports:show 1 --tenant 1")["status"], "pending");
  CliRun w = unity("imports:show 1 --tenant 1 --watch --timeout 0.3");
  EXPECT_EQ(w.exit, 8) << w.err;
  EXPECT_EQ(testing::line_count(w.err), 1u) << w.err;
  EXPECT_EQ(unity("import products " + file + " --tenant 1 --timeout 1").exit, 2);  // needs --wait

  // A worker comes: --watch follows the import to its end.
  auto worker = start_worker();
  auto shown = ok("imports:show 1 --tenant 1 --watch");
  EXPECT_EQ(shown["status"], "completed") << shown.dump();
  EXPECT_EQ(shown["imported_rows"], 3);
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(ProgressCliTest, WatchOnATerminalDrawsTheImportToTheEnd) {
  const std::string file = products_csv(3);
  ok("import products " + file + " --tenant 1");
  auto worker = start_worker();
  PtyRun r = run_on_pty({"imports:show", "1", "--tenant", "1", "--watch"});
  ASSERT_EQ(r.exit, 0) << r.tty << r.out;
  ASSERT_NE(r.tty.rfind('\r'), std::string::npos) << r.tty;
  EXPECT_NE(r.tty.substr(r.tty.rfind('\r')).find("100%"), std::string::npos) << r.tty;
  EXPECT_EQ(r.out.rfind("Import 1: completed, 3 imported", 0), 0u) << r.out;
}

TEST_P(ProgressCliTest, ReportWaitAndWatchEndCompleted) {
  auto worker = start_worker();
  const std::string args = "report sales --tenant 1 --user 1 --from 2000-01-01 --to 2099-12-31 ";
  auto out = ok(args + "--format=csv --wait");
  EXPECT_EQ(out["status"], "completed") << out.dump();
  ASSERT_TRUE(out["path"].is_string()) << out.dump();
  EXPECT_TRUE(std::filesystem::exists(out["path"].get<std::string>())) << out.dump();
  auto shown = ok("reports:show " + std::to_string(out["report_id"].get<int64_t>()) +
                  " --tenant 1 --watch --timeout 60");
  EXPECT_EQ(shown["status"], "completed");
  CliRun human = unity(args + "--format=json --wait");
  EXPECT_EQ(human.exit, 0) << human.err;
  EXPECT_EQ(human.err, "");
  EXPECT_EQ(human.out.rfind("Report 2 completed: ", 0), 0u) << human.out;
}

TEST_P(ProgressCliTest, NotifyBulkAndValuationWaitForTheirJobs) {
  auto worker = start_worker();
  auto bulk =
      ok("notify:bulk --tenant 1 --user 1 --users=1 --type=announcement --wait "
         "--data='{\"title\":\"Hi\",\"message\":\"Hello\"}'");
  EXPECT_EQ(bulk["status"], "completed") << bulk.dump();
  EXPECT_EQ(bulk["sent"], 1);
  auto valuation = ok("valuation:recalculate --tenant 1 --wait");
  EXPECT_EQ(valuation["status"], "completed") << valuation.dump();
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 0);
}

TEST_P(ProgressCliTest, SyncWaitFollowsTheRetriesUntilItsTimeout) {
  std::ofstream(db_->dir() + "/.env") << "SYNC_ALLOWED_HOSTS=127.0.0.1\n";  // command and worker
  auto worker = start_worker();
  // Nothing listens on port 9: the first attempt fails and the job waits 30 s for its retry.
  CliRun r = unity("sync products --tenant 1 --endpoint=http://127.0.0.1:9 --wait --timeout 8");
  EXPECT_EQ(r.exit, 8) << r.out << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("unity: sync 1 has not finished after 8 s (retrying after: ", 0), 0u)
      << r.err;
  EXPECT_NE(r.err.find("syncs:list --tenant 1"), std::string::npos) << r.err;
  EXPECT_EQ(count("SELECT count(*) FROM jobs"), 1);
}

TEST_P(ProgressCliTest, WaitReportsAJobGivenUpByTheQueue) {
  const std::string log = db_->dir() + "/wait.log";
  Process waiting =
      Process::start({testing::unity_binary(), "valuation:recalculate", "--tenant", "1", "--wait"},
                     env(), db_->dir(), log);
  ASSERT_TRUE(testing::eventually([&] { return count("SELECT count(*) FROM jobs") == 1; }, 30s));
  // What a worker does when it gives a job up: the row moves to failed_jobs with the error.
  auto owner = db_->owner();
  owner->execute(
      "INSERT INTO failed_jobs (uuid, tenant_id, connection, queue, type, payload, attempts, "
      "exception, failed_at) SELECT uuid, tenant_id, 'database', queue, type, payload, 3, "
      "'the ledger is locked', '2026-03-01T00:00:00Z' FROM jobs");
  owner->execute("DELETE FROM jobs");
  EXPECT_EQ(waiting.wait(30s), 5);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("The inventory valuation failed: the ledger is locked\n"),
            std::string::npos)
      << ss.str();
  EXPECT_NE(ss.str().find("unity: valuation job 1 failed: the ledger is locked\n"),
            std::string::npos)
      << ss.str();
}

// SQLite reused a completed job's id, so `--wait` on tenant 1's job followed tenant 2's job that
// got the same id: it printed tenant 2's error and ended with exit 8. Here tenant 1's job leaves
// the table and a tenant 2 job takes its id, exactly as happened.
TEST_P(ProgressCliTest, WaitDoesNotFollowAnotherTenantsJobThatGotTheSameId) {
  ASSERT_EQ(unity("tenant:create Globex").exit, 0);
  const std::string log = db_->dir() + "/wait.log";
  Process waiting = Process::start({testing::unity_binary(), "valuation:recalculate", "--tenant",
                                    "1", "--wait", "--timeout", "10"},
                                   env(), db_->dir(), log);
  ASSERT_TRUE(testing::eventually([&] { return count("SELECT count(*) FROM jobs") == 1; }, 30s));
  db_->owner()->execute(
      "UPDATE jobs SET tenant_id = 2, uuid = 'another-job', attempts = 1, "
      "last_error = 'Globex private error'");
  const auto code = waiting.wait(30s);
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(code, 8) << ss.str();
  EXPECT_EQ(ss.str().find("Globex"), std::string::npos) << ss.str();
}

// Without a worker and without a terminal, `--wait` used to wait in silence.
TEST_P(ProgressCliTest, WaitWithoutAWorkerSaysSoOnStderrAndKeepsWaiting) {
  CliRun r = unity("valuation:recalculate --tenant 1 --wait --timeout 7");
  EXPECT_EQ(r.exit, 8) << r.err;
  EXPECT_EQ(testing::line_count(r.err), 2u) << r.err;
  EXPECT_EQ(r.err.rfind("valuation job 1 still queued after 5 s: is a worker running? start one "
                        "with `unity queue:work`\n",
                        0),
            0u)
      << r.err;
  EXPECT_NE(r.err.find("has not finished after 7 s"), std::string::npos) << r.err;
}

// The mode bits `path` has for its group and others (0 when only its owner may touch it).
unsigned shared_bits(const std::string& path) {
  namespace fs = std::filesystem;
  return static_cast<unsigned>(fs::status(path).permissions() &
                               (fs::perms::group_all | fs::perms::others_all));
}

// A report's path was stored as given (STORAGE_PATH relative), so a worker started in another
// directory wrote the file there and reports:show named a path relative to nothing.
TEST_P(ProgressCliTest, ReportFromAWorkerInAnotherDirectoryIsStoredWithAnAbsolutePath) {
  namespace fs = std::filesystem;
  const std::string elsewhere = db_->dir() + "/elsewhere";
  fs::create_directories(elsewhere);
  auto e = env();
  e["STORAGE_PATH"] = "storage";
  auto worker = Process::start({testing::unity_binary(), "queue:work", "--sleep=0.2"}, e, elsewhere,
                               db_->dir() + "/worker.log");
  CliRun r = testing::run_cli(
      db_->dir(), db_->env_for_cli() + " QUEUE_CONNECTION=database STORAGE_PATH=storage",
      "report sales --tenant 1 --user 1 --from 2000-01-01 --to 2099-12-31 "
      "--format=csv --wait --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  const auto out = nlohmann::json::parse(r.out);
  const std::string path = out["path"].get<std::string>();
  EXPECT_EQ(path.rfind(db_->dir() + "/storage/reports/1/", 0), 0u) << path;
  ASSERT_TRUE(fs::exists(path)) << path;
  EXPECT_EQ(shared_bits(path) & ~unsigned(fs::perms::group_read), 0u) << path;  // 0640 at most
  EXPECT_FALSE(fs::exists(elsewhere + "/storage/reports")) << "written in the worker's directory";
}

// The database, the worker log and an import's copy were created 0644 (readable by every user),
// and an import's copy was kept for ever.
TEST_P(ProgressCliTest, FilesWithTenantDataAreNotReadableByOthersAndImportCopiesGo) {
  namespace fs = std::filesystem;
  ok("import products " + products_csv(3) + " --tenant 1");
  const std::string copy = db_->config().storage_path + "/imports/1-1.csv";
  ASSERT_TRUE(fs::exists(copy));
  EXPECT_EQ(shared_bits(copy), 0u);
  auto worker = start_worker();
  EXPECT_EQ(ok("imports:show 1 --tenant 1 --watch --timeout 60")["status"], "completed");
  EXPECT_FALSE(fs::exists(copy)) << "the import's copy outlived the import";
  const std::string log = db_->config().storage_path + "/logs/worker.log";
  ASSERT_TRUE(fs::exists(log));
  EXPECT_EQ(shared_bits(log) & ~unsigned(fs::perms::group_read), 0u);
  if (GetParam() == Driver::kSqlite) {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::string f = db_->config().db_database + suffix;
      ASSERT_TRUE(fs::exists(f)) << f;
      EXPECT_EQ(shared_bits(f), 0u) << f;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Drivers, ProgressCliTest,
                         ::testing::Values(Driver::kSqlite, Driver::kPostgres),
                         [](const auto& p) { return testing::driver_name(p.param); });

}  // namespace
}  // namespace unity::cli
