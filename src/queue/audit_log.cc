#include "queue/audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "core/error.h"
#include "core/json.h"
#include "queue/store.h"

namespace unity::queue {

AuditLog::AuditLog(const std::string& path, std::string worker)
    : echo_(isatty(STDERR_FILENO) != 0), worker_(std::move(worker)) {
  if (path.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  // 0640, whatever the umask: job lines name tenants, types and errors.
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size == 0) ::fchmod(fd, 0640);
    file_ = ::fdopen(fd, "a");
    if (!file_) ::close(fd);
  }
  if (!file_) {
    throw unavailable("cannot open the worker log " + path + ": " + std::strerror(errno) +
                      " (check STORAGE_PATH)");
  }
  pending_.reserve(kBuffer + 4096);
}

AuditLog::~AuditLog() {
  if (!file_) return;
  write_pending();
  std::fclose(file_);
}

void AuditLog::write(const std::string& line) {
  std::lock_guard lock(mu_);
  if (file_) {
    pending_ += line;
    pending_ += '\n';
    if (pending_.size() >= kBuffer) write_pending();
  }
  if (echo_) std::fprintf(stderr, "%s\n", line.c_str());
}

// Several worker processes append to one file (opened with O_APPEND): hand the kernel whole
// lines in one write(2) each time, never a line cut in two that another process's line could
// land between (stdio's buffer is flushed whenever it fills, wherever that falls).
void AuditLog::write_pending() {
  const int fd = fileno(file_);
  size_t off = 0;
  while (off < pending_.size()) {
    const ssize_t n = ::write(fd, pending_.data() + off, pending_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // disk full or the like: drop the rest rather than block the worker
    off += static_cast<size_t>(n);
  }
  pending_.clear();
}

void AuditLog::flush() {
  std::lock_guard lock(mu_);
  if (file_) write_pending();
}

namespace {

// A string field, escaped as nlohmann's dump() with its replace handler does: the fast path for
// ASCII (every name, type, queue and uuid), the library for anything else (invalid UTF-8 in an
// error text is replaced, never thrown over).
void add_string(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":";
  const bool ascii =
      std::all_of(value.begin(), value.end(), [](char c) { return (c & 0x80) == 0; });
  if (ascii) {
    append_json_string(out, value);
  } else {
    out += nlohmann::json(std::string(value))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

void add_int(std::string& out, std::string_view key, int64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
  out += std::to_string(value);
}

// A job's line up to its last common field, without a JSON object (one line per job start and
// end: this runs twice per job on every worker).
std::string job_line(const char* event, const std::string& worker, const ClaimedJob& job) {
  std::string line;
  line.reserve(256);
  line += "{\"ts\":";
  append_json_string(line, format_iso8601(system_clock().now()));
  add_string(line, "event", event);
  add_string(line, "worker", worker);
  add_int(line, "tenant_id", job.tenant_id);
  add_int(line, "job_id", job.id);
  add_string(line, "uuid", job.uuid);
  add_string(line, "type", job.type);
  add_string(line, "queue", job.queue);
  add_int(line, "attempt", job.attempts);
  if (!job.trace_id.empty()) add_string(line, "trace_id", job.trace_id);
  return line;
}

std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

void AuditLog::job_started(const ClaimedJob& job) {
  std::string line = job_line("job.start", worker_, job);
  line += '}';
  write(line);
}

void AuditLog::job_finished(const ClaimedJob& job, const std::string& outcome, double duration_ms,
                            const std::string& error) {
  std::string line = job_line("job.end", worker_, job);
  line += ",\"duration_ms\":";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, duration_ms);  // shortest round trip
  if (ec == std::errc()) {
    line.append(buf, end);
  } else {
    line += '0';
  }
  add_string(line, "outcome", outcome);
  if (!error.empty()) add_string(line, "error", error);
  line += '}';
  write(line);
}

void AuditLog::event(const std::string& name, const std::string& detail) {
  nlohmann::json j = {
      {"ts", format_iso8601(system_clock().now())}, {"event", name}, {"worker", worker_}};
  if (!detail.empty()) j["detail"] = detail;
  write(dump(j));
}

}  // namespace unity::queue
