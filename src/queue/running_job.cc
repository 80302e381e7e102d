#include "queue/running_job.h"

#include "core/error.h"

namespace unity::queue {

RunningJob::RunningJob(const ClaimedJob& job, db::Connection& conn, JobStore* store,
                       const std::atomic<bool>* cancel, int max_tries)
    : job_(job), conn_(conn), store_(store), cancel_(cancel), max_tries_(max_tries) {}

void RunningJob::progress(int percent) {
  if (store_) store_->job_progress(job_.id, job_.lease_token, percent);
  if (progress_listener_) progress_listener_(percent);
}

void RunningJob::release(std::chrono::milliseconds delay) {
  if (delay.count() < 0) throw invalid_argument("release delay must not be negative");
  released_ = delay;
}

void RunningJob::fail(const std::string& reason) { throw GiveUp(reason); }

}  // namespace unity::queue
