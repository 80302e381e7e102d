#pragma once
// The job types a process knows, by name. Register every type at start-up, before workers or
// dispatchers use the registry; after that it is read-only and safe to share between threads.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "queue/job.h"

namespace unity::queue {

using JobFactory = std::function<std::unique_ptr<Job>()>;

struct JobType {
  std::string name;
  JobOptions options;
  JobFactory make;
};

class JobRegistry {
 public:
  // Throws Error(kAlreadyExists) when `name` is registered already, kInvalidArgument when empty.
  void add(std::string name, JobOptions options, JobFactory make);
  template <typename T>
  void add(std::string name, JobOptions options = {}) {
    add(std::move(name), std::move(options), [] { return std::make_unique<T>(); });
  }

  const JobType* find(std::string_view name) const;
  // Throws Error(kInvalidArgument): "unknown job type 'x' (known: a, b, …)".
  const JobType& get(std::string_view name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, JobType, std::less<>> types_;
};

// The built-in diagnostic types for operators and tests (no retry options of their own; all but
// diag.write run without a handler transaction):
//   diag.noop              does nothing
//   diag.sleep {"ms":N}    sleeps N ms, returning early when cancelled
//   diag.fail {"times":N}  throws on its first N attempts, then succeeds
//   diag.write {"mark":M}  inserts a row into diag_marks in the job's transaction (tests of
//                          exactly-once effects)
//   diag.secret {"mark":M} diag.write registered as encrypted (its payload sealed at rest)
void register_diag_jobs(JobRegistry& registry);

}  // namespace unity::queue
