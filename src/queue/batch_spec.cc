// Parsing the JSON forms of batches and chains (queue/batch.h).
#include <cmath>
#include <initializer_list>

#include "core/error.h"
#include "core/json.h"
#include "queue/batch.h"

namespace unity::queue {

namespace {

using nlohmann::json;

constexpr size_t kMaxJobs = 100'000;

void only_fields(const json& o, std::string_view what, std::initializer_list<std::string_view> ok) {
  for (const auto& [key, _] : o.items()) {
    bool known = false;
    for (auto k : ok) known = known || key == k;
    if (!known) throw invalid_argument(std::string(what) + ": unknown field '" + key + "'");
  }
}

JobSpec job_spec(const json& o, const std::string& what) {
  if (!o.is_object()) throw invalid_argument(what + " must be a JSON object");
  only_fields(o, what, {"type", "data", "queue", "priority", "delay"});
  JobSpec s;
  auto type = o.find("type");
  if (type == o.end() || !type->is_string() || type->get<std::string>().empty()) {
    throw invalid_argument(what + ".type must be a job type name");
  }
  s.type = type->get<std::string>();
  if (auto d = o.find("data"); d != o.end()) {
    if (!d->is_object()) throw invalid_argument(what + ".data must be a JSON object");
    s.payload = d->dump();
  }
  if (auto q = o.find("queue"); q != o.end()) {
    if (!q->is_string()) throw invalid_argument(what + ".queue must be a string");
    s.options.queue = q->get<std::string>();
  }
  if (auto p = o.find("priority"); p != o.end()) {
    if (!p->is_number_integer() || std::abs(p->get<int64_t>()) > kMaxPriority) {
      throw invalid_argument(what + ".priority must be an integer from -" +
                             std::to_string(kMaxPriority) + " to " + std::to_string(kMaxPriority));
    }
    s.options.priority = p->get<int>();
  }
  if (auto d = o.find("delay"); d != o.end()) {
    if (!d->is_number() || d->get<double>() < 0 || d->get<double>() > 31536000) {
      throw invalid_argument(what + ".delay must be seconds between 0 and 31536000");
    }
    s.options.delay = std::chrono::milliseconds(std::llround(d->get<double>() * 1000));
  }
  return s;
}

std::optional<JobSpec> optional_spec(const json& o, const char* field, const std::string& what) {
  auto it = o.find(field);
  if (it == o.end() || it->is_null()) return std::nullopt;
  return job_spec(*it, what + "." + field);
}

std::vector<JobSpec> job_list(const json& o, const char* field, const std::string& what) {
  auto it = o.find(field);
  const std::string name = what + "." + field;
  if (it == o.end() || !it->is_array() || it->empty()) {
    throw invalid_argument(name + " must be a non-empty array of jobs");
  }
  if (it->size() > kMaxJobs) throw invalid_argument(name + " has more than 100000 jobs");
  std::vector<JobSpec> out;
  for (size_t i = 0; i < it->size(); ++i) {
    out.push_back(job_spec((*it)[i], name + "[" + std::to_string(i) + "]"));
  }
  return out;
}

}  // namespace

ChainSpec parse_chain_spec(std::string_view text) {
  const json o = parse_json_object(text, "the chain");
  only_fields(o, "the chain", {"jobs", "catch"});
  return {job_list(o, "jobs", "chain"), optional_spec(o, "catch", "chain")};
}

BatchSpec parse_batch_spec(std::string_view text) {
  const json o = parse_json_object(text, "the batch");
  only_fields(o, "the batch", {"name", "jobs", "then", "catch", "finally", "allow_failures"});
  BatchSpec b;
  if (auto n = o.find("name"); n != o.end()) {
    if (!n->is_string() || n->get<std::string>().size() > 255) {
      throw invalid_argument("batch.name must be a string of at most 255 characters");
    }
    b.name = n->get<std::string>();
  }
  auto jobs = o.find("jobs");
  if (jobs == o.end() || !jobs->is_array() || jobs->empty()) {
    throw invalid_argument("batch.jobs must be a non-empty array of jobs or chains");
  }
  size_t count = 0;
  for (size_t i = 0; i < jobs->size(); ++i) {
    const json& e = (*jobs)[i];
    const std::string what = "batch.jobs[" + std::to_string(i) + "]";
    if (e.is_object() && e.contains("chain")) {
      only_fields(e, what, {"chain", "catch"});
      b.jobs.push_back({job_list(e, "chain", what), optional_spec(e, "catch", what)});
    } else {
      b.jobs.push_back({{job_spec(e, what)}, std::nullopt});
    }
    count += b.jobs.back().jobs.size();
    if (count > kMaxJobs) throw invalid_argument("batch.jobs has more than 100000 jobs");
  }
  b.then_job = optional_spec(o, "then", "batch");
  b.catch_job = optional_spec(o, "catch", "batch");
  b.finally_job = optional_spec(o, "finally", "batch");
  if (auto a = o.find("allow_failures"); a != o.end()) {
    if (!a->is_boolean()) throw invalid_argument("batch.allow_failures must be true or false");
    b.allow_failures = a->get<bool>();
  }
  return b;
}

}  // namespace unity::queue
