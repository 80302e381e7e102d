#include "queue/running_job.h"

#include <cstdio>

#include "core/error.h"

namespace unity::queue {

const char* job_span_kind(const std::string& type) {
  return type.starts_with("listener.") ? "listener" : "job";
}

RunningJob::RunningJob(const ClaimedJob& job, db::Connection& conn, JobStore* store,
                       const std::atomic<bool>* cancel, int max_tries, const JobLogSink* log)
    : job_(job), conn_(conn), store_(store), cancel_(cancel), max_tries_(max_tries), log_(log) {}

void RunningJob::progress(int percent) {
  if (store_) store_->job_progress(job_.lease(), percent);
  if (progress_listener_) progress_listener_(percent);
}

void RunningJob::release(std::chrono::milliseconds delay) {
  if (delay.count() < 0) throw invalid_argument("release delay must not be negative");
  released_ = delay;
}

void RunningJob::fail(const std::string& reason) { throw GiveUp(reason); }

void RunningJob::log(const std::string& line) const {
  if (log_ && *log_) {
    (*log_)(line);
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());  // stdio locks per call
  }
}

}  // namespace unity::queue
