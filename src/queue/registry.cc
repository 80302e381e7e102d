#include "queue/registry.h"

#include "core/error.h"

namespace unity::queue {

void JobRegistry::add(std::string name, JobOptions options, JobFactory make) {
  if (name.empty()) throw invalid_argument("a job type needs a name");
  if (types_.count(name)) throw already_exists("job type '" + name + "' is registered twice");
  JobType type{name, std::move(options), std::move(make)};
  types_.emplace(std::move(name), std::move(type));
}

const JobType* JobRegistry::find(std::string_view name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

const JobType& JobRegistry::get(std::string_view name) const {
  if (const JobType* t = find(name)) return *t;
  std::string known;
  for (const auto& [n, t] : types_) known += (known.empty() ? "" : ", ") + n;
  throw invalid_argument("unknown job type '" + std::string(name) + "' (known: " + known + ")");
}

std::vector<std::string> JobRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, t] : types_) out.push_back(n);
  return out;
}

}  // namespace unity::queue
