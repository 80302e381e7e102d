#pragma once
// Following a long job from the command line: `--wait` on the commands that dispatch one
// (import, report, notify:bulk, sync, valuation:recalculate) and `--watch` on the commands that
// show its tracking row (imports:show, reports:show).
//
// While following, a ProgressBar is drawn on stderr, one line redrawn with '\r', and only when
// stderr is a terminal and --json is not set. Nothing else is printed while waiting: stdout gets
// only the command's final status, and without a terminal stderr stays empty unless it fails or
// the job waits for a worker (below).
//
// A queued job advances only while a worker (`unity queue:work`) runs. Without one, following
// waits for ever, unless --timeout is given: then it gives up with kDeadlineExceeded and leaves
// the job queued. When no bar is drawn, a job still queued after 5 s gets one line on stderr
// ("… still queued after 5 s: is a worker running? …") and the wait goes on. Not thread-safe;
// one follower per command.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace CLI {
class App;
}
namespace unity::db {
class Connection;
}

namespace unity::cli {

class Context;

// One line on stderr: `import 12  [##########..........]  50%  00:12  running`. Draws nothing at
// all unless enabled and stderr is a terminal; cut to the terminal's width so that '\r' redraws.
class ProgressBar {
 public:
  // `enabled`: the caller's choice (false under --json). `label` starts the line.
  ProgressBar(std::string label, bool enabled);
  ~ProgressBar();  // ends a line left open
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool drawing() const { return drawing_; }
  // Redraws the line: `percent` 0–100 (clamped), or < 0 when not known; `note` after the time.
  void update(int percent, std::string_view note = {});
  // Redraws once more and ends the line with '\n'. Later calls do nothing.
  void finish(int percent, std::string_view note = {});

  // The line as drawn, without '\r' (for tests of the layout).
  static std::string render(std::string_view label, int percent, std::chrono::seconds elapsed,
                            std::string_view note, size_t width);

 private:
  std::string label_;
  bool drawing_;
  bool open_ = false;  // a line is on screen and not yet ended
  size_t last_size_ = 0;
  std::chrono::steady_clock::time_point start_;
};

// The --wait (or --watch) flag and --timeout SECONDS.
struct FollowArgs {
  bool enabled = false;
  std::optional<double> timeout_s;  // unset: wait for ever
};
// Adds `flag` (e.g. "--wait") with `help`, and --timeout (> 0, only with `flag`).
void add_follow_options(CLI::App& app, FollowArgs& args, const std::string& flag,
                        const std::string& help);

// What one look at the followed job or row saw.
struct FollowState {
  bool finished = false;
  int percent = -1;  // 0–100; < 0 when not known
  std::string note;  // drawn after the time: "queued: waiting for a worker", "running", …
};

// Calls `poll` about every 200 ms until it says finished, drawing a bar labelled `label` (when
// `draw` and stderr is a terminal); returns the last state. Past args.timeout_s it throws
// kDeadlineExceeded: "<label> has not finished after N s (<last note>)<hint>".
FollowState follow(const std::string& label, bool draw, const FollowArgs& args,
                   const std::function<FollowState()>& poll, const std::string& hint);

// A dispatched job to wait for.
struct WaitedJob {
  std::string label;  // "import 12"
  int64_t id = 0;
  std::string uuid;
  std::string hint;  // appended to the timeout message: how to follow it later
  // When set: true once the tracking row has its final status (a failed job's failed() hook
  // marks it just after the job leaves the queue); waited for up to 5 s more.
  std::function<bool()> settled;
};

// How a waited job ended: completed (its row deleted) or failed (moved to failed_jobs).
struct JobEnd {
  bool failed = false;
  std::string error;  // failed_jobs.exception when failed
};

// Follows `job` in the queue table on `conn` (a connection in the job's tenant) until it leaves
// the table, drawing its progress column; see follow() for the timeout. The job is matched by id,
// uuid and the connection's tenant, never by id alone.
JobEnd wait_for_job(Context& ctx, db::Connection& conn, const WaitedJob& job,
                    const FollowArgs& args);

// The error that ends a --wait or --watch whose job failed: kFailedPrecondition (exit 5),
// "<label> failed: <reason>".
[[noreturn]] void throw_job_failed(const std::string& label, const std::string& reason);

}  // namespace unity::cli
