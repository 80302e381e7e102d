#include "queue/audit_log.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "queue/store.h"

namespace unity::queue {

AuditLog::AuditLog(const std::string& path, std::string worker)
    : echo_(isatty(STDERR_FILENO) != 0), worker_(std::move(worker)) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  file_ = std::fopen(path.c_str(), "a");
  if (!file_) {
    throw unavailable("cannot open the worker log " + path + ": " + std::strerror(errno) +
                      " (check STORAGE_PATH)");
  }
  std::setvbuf(file_, nullptr, _IOFBF, 1 << 16);
}

AuditLog::~AuditLog() {
  if (file_) std::fclose(file_);
}

void AuditLog::write(const std::string& line) {
  std::lock_guard lock(mu_);
  if (file_) {
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fputc('\n', file_);
  }
  if (echo_) std::fprintf(stderr, "%s\n", line.c_str());
}

void AuditLog::flush() {
  std::lock_guard lock(mu_);
  if (file_) std::fflush(file_);
}

void AuditLog::job_started(const ClaimedJob& job) {
  nlohmann::json j = {{"ts", format_iso8601(system_clock().now())},
                      {"event", "job.start"},
                      {"worker", worker_},
                      {"tenant_id", job.tenant_id},
                      {"job_id", job.id},
                      {"uuid", job.uuid},
                      {"type", job.type},
                      {"queue", job.queue},
                      {"attempt", job.attempts}};
  write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void AuditLog::job_finished(const ClaimedJob& job, const std::string& outcome, double duration_ms,
                            const std::string& error) {
  nlohmann::json j = {{"ts", format_iso8601(system_clock().now())},
                      {"event", "job.end"},
                      {"worker", worker_},
                      {"tenant_id", job.tenant_id},
                      {"job_id", job.id},
                      {"uuid", job.uuid},
                      {"type", job.type},
                      {"queue", job.queue},
                      {"attempt", job.attempts},
                      {"duration_ms", duration_ms},
                      {"outcome", outcome}};
  if (!error.empty()) j["error"] = error;
  write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void AuditLog::event(const std::string& name, const std::string& detail) {
  nlohmann::json j = {{"ts", format_iso8601(system_clock().now())},
                      {"event", name},
                      {"worker", worker_}};
  if (!detail.empty()) j["detail"] = detail;
  write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace unity::queue
