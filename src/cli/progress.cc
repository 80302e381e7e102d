#include "cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/context.h"
#include "core/error.h"
#include "db/connection.h"

namespace unity::cli {

namespace {

using std::chrono::steady_clock;

constexpr int kBarCells = 20;
constexpr auto kPollInterval = std::chrono::milliseconds(200);
constexpr auto kQueuedNoticeAfter = std::chrono::seconds(5);

size_t terminal_width() {
  winsize ws{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void write_stderr(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// "0.5", "3", "90": the seconds of a --timeout as the user gave them.
std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)),
      drawing_(enabled && isatty(STDERR_FILENO) == 1),
      start_(steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (open_) write_stderr("\n");
}

std::string ProgressBar::render(std::string_view label, int percent, std::chrono::seconds elapsed,
                                std::string_view note, size_t width) {
  const bool known = percent >= 0;
  const int p = std::clamp(percent, 0, 100);
  const int filled = known ? p * kBarCells / 100 : 0;
  char tail[48];
  const auto s = elapsed.count();
  if (known) {
    std::snprintf(tail, sizeof tail, "] %3d%%  %02lld:%02lld", p, static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(tail, sizeof tail, "]  --%%  %02lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  std::string line(label);
  line += "  [";
  line.append(static_cast<size_t>(filled), '#');
  line.append(static_cast<size_t>(kBarCells - filled), '.');
  line += tail;
  if (!note.empty()) line.append("  ").append(note);
  // A line longer than the terminal wraps, and '\r' would then redraw only its last part.
  if (width > 1 && line.size() > width - 1) line.resize(width - 1);
  return line;
}

void ProgressBar::update(int percent, std::string_view note) {
  if (!drawing_) return;
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::seconds>(steady_clock::now() - start_);
  std::string line = render(label_, percent, elapsed, note, terminal_width());
  const size_t size = line.size();
  if (size < last_size_) line.append(last_size_ - size, ' ');  // clears a longer previous line
  last_size_ = size;
  write_stderr("\r" + line);
  open_ = true;
}

void ProgressBar::finish(int percent, std::string_view note) {
  if (!drawing_) return;
  update(percent, note);
  write_stderr("\n");
  open_ = false;
  drawing_ = false;
}

void add_follow_options(CLI::App& app, FollowArgs& args, const std::string& flag,
                        const std::string& help) {
  CLI::Option* f = app.add_flag(flag, args.enabled, help);
  app.add_option("--timeout", args.timeout_s,
                 "With " + flag + ": give up after this many seconds (exit 8); the job goes on")
      ->check(CLI::PositiveNumber)
      ->needs(f);
}

FollowState follow(const std::string& label, bool draw, const FollowArgs& args,
                   const std::function<FollowState()>& poll, const std::string& hint) {
  ProgressBar bar(label, draw);
  const auto start = steady_clock::now();
  const auto deadline = args.timeout_s ? start + std::chrono::duration_cast<steady_clock::duration>(
                                                     std::chrono::duration<double>(*args.timeout_s))
                                       : steady_clock::time_point::max();
  while (true) {
    FollowState state = poll();
    if (state.finished) {
      bar.finish(state.percent, state.note);
      return state;
    }
    bar.update(state.percent, state.note);
    const auto now = steady_clock::now();
    if (now >= deadline) {
      bar.finish(state.percent, state.note);
      throw deadline_exceeded(label + " has not finished after " + seconds_text(*args.timeout_s) +
                              " s (" + state.note + ")" + hint);
    }
    std::this_thread::sleep_for(std::min<steady_clock::duration>(kPollInterval, deadline - now));
  }
}

JobEnd wait_for_job(Context& ctx, db::Connection& conn, const WaitedJob& job,
                    const FollowArgs& args) {
  // The queue keeps a job's row while it waits or runs (a retry puts it back with its last
  // error), deletes it when it completes and moves it to failed_jobs when it is given up.
  // The job is named by its id, uuid and tenant together: an id alone may be another job's once
  // this one has left the table (SQLite reused ids before migration 0012), and following that
  // job would show another tenant's progress and error.
  const std::string row_sql = "SELECT reserved_at, attempts, progress, last_error FROM " +
                              ctx.config().queue_table +
                              " WHERE id = $1 AND uuid = $2 AND tenant_id = $3";
  const int64_t tenant = conn.require_tenant();
  // Without a bar on a terminal nothing says the job is not moving: after a while, one line does.
  const bool bar_shown = !ctx.json && isatty(STDERR_FILENO) == 1;
  const auto queued_notice_at = steady_clock::now() + kQueuedNoticeAfter;
  bool noticed = bar_shown;
  JobEnd end;
  int percent = 0;
  auto poll = [&]() -> FollowState {
    if (auto row = conn.query_one(row_sql, {job.id, job.uuid, tenant})) {
      if (auto p = row->get<std::optional<int64_t>>(2)) percent = static_cast<int>(*p);
      if (!row->is_null(0)) return {false, percent, "running"};
      if (row->get<int64_t>(1) == 0) {
        if (!noticed && steady_clock::now() >= queued_notice_at) {
          noticed = true;
          write_stderr(job.label + " still queued after " +
                       std::to_string(kQueuedNoticeAfter.count()) +
                       " s: is a worker running? start one with `unity queue:work`\n");
        }
        return {false, percent, "queued: waiting for a worker"};
      }
      const auto error = row->is_null(3) ? std::string() : row->get<std::string>(3);
      return {false, percent, "retrying" + (error.empty() ? "" : " after: " + error)};
    }
    auto failed = conn.query_one(
        "SELECT exception FROM failed_jobs WHERE uuid = $1 AND tenant_id = $2", {job.uuid, tenant});
    if (!failed) return {true, 100, "completed"};
    end.failed = true;
    end.error = failed->get<std::string>(0);
    return {true, percent, "failed"};
  };
  follow(job.label, !ctx.json, args, poll,
         "; the job stays in the queue (it moves only while a worker runs: `unity queue:work`)" +
             job.hint);
  if (job.settled) {
    const auto until = steady_clock::now() + std::chrono::seconds(5);
    while (!job.settled() && steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  return end;
}

void throw_job_failed(const std::string& label, const std::string& reason) {
  // One line on stderr: the reason may be a multi-line exception text.
  std::string line = reason;
  std::replace(line.begin(), line.end(), '\n', ' ');
  throw failed_precondition(label + " failed: " + line);
}

}  // namespace unity::cli
