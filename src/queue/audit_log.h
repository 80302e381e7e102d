#pragma once
// The audit trail of job executions: one JSON line per job start and end (tenant, job id, uuid,
// type, queue, attempt, duration, outcome, error, and trace_id when the job is traced), appended to
// STORAGE_PATH/logs/worker.log and echoed to stderr when stderr is a terminal. Thread-safe. Lines
// are buffered and flushed at least every second (flush()) and on destruction, so a crash can lose
// up to a second of lines.

#include <cstdio>
#include <mutex>
#include <string>

namespace unity::queue {

struct ClaimedJob;

class AuditLog {
 public:
  // Opens (creating folders) `path` for appending; an empty path logs nowhere but the terminal.
  // Throws Error(kUnavailable) when the file cannot be opened.
  AuditLog(const std::string& path, std::string worker);
  ~AuditLog();
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  void job_started(const ClaimedJob& job);
  // outcome: done | retry | released | failed | fenced | timeout
  void job_finished(const ClaimedJob& job, const std::string& outcome, double duration_ms,
                    const std::string& error = "");
  // A free-form worker event (started, stopping, exit reason …).
  void event(const std::string& name, const std::string& detail = "");
  void flush();

 private:
  void write(const std::string& line);
  void write_pending();  // with mu_ held

  static constexpr size_t kBuffer = 1 << 16;

  std::mutex mu_;  // guards file_ and the stderr echo
  std::FILE* file_ = nullptr;
  std::string pending_;  // whole lines not yet written
  bool echo_ = false;
  std::string worker_;
};

}  // namespace unity::queue
