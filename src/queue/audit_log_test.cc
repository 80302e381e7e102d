// The audit log's lines are JSON built by hand (no JSON object per job): each must read back.
#include "queue/audit_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "queue/store.h"

namespace unity::queue {
namespace {

std::vector<nlohmann::json> lines_of(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(AuditLogTest, JobLinesAreJsonWithEveryFieldEscaped) {
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "unity-audit-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir_template.data()), nullptr);
  const std::filesystem::path dir = dir_template;
  const std::string path = (dir / "worker.log").string();
  ClaimedJob job;
  job.id = 42;
  job.tenant_id = 7;
  job.uuid = "0b6f3c1e-0000-4000-8000-000000000001";
  job.type = "diag.\"quoted\"\\type";
  job.queue = "h\u00e9gh";  // UTF-8 passes as is
  job.attempts = 2;
  job.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  {
    AuditLog log(path, "host:1\tworker");
    log.job_started(job);
    log.job_finished(job, "retry", 1.25, "bad\nbyte \xff here");  // invalid UTF-8 is replaced
    job.trace_id.clear();
    log.job_finished(job, "done", 0.5);
  }
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0]["event"], "job.start");
  EXPECT_EQ(lines[0]["worker"], "host:1\tworker");
  EXPECT_EQ(lines[0]["tenant_id"], 7);
  EXPECT_EQ(lines[0]["job_id"], 42);
  EXPECT_EQ(lines[0]["uuid"], job.uuid);
  EXPECT_EQ(lines[0]["type"], job.type);
  EXPECT_EQ(lines[0]["queue"], "h\u00e9gh");
  EXPECT_EQ(lines[0]["attempt"], 2);
  EXPECT_EQ(lines[0]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(lines[0]["ts"].is_string());
  EXPECT_FALSE(lines[0].contains("outcome"));
  EXPECT_EQ(lines[1]["event"], "job.end");
  EXPECT_EQ(lines[1]["outcome"], "retry");
  EXPECT_DOUBLE_EQ(lines[1]["duration_ms"].get<double>(), 1.25);
  EXPECT_EQ(lines[1]["error"], "bad\nbyte \xef\xbf\xbd here");
  EXPECT_FALSE(lines[2].contains("error"));
  EXPECT_FALSE(lines[2].contains("trace_id"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace unity::queue
