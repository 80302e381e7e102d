#include "queue/queues.h"

#include <algorithm>

namespace unity::queue {

std::vector<std::string> default_worker_queues(const Config& config) {
  std::vector<std::string> out;
  for (const std::string& q :
       {std::string(kHighQueue), config.queue_default, std::string(kLowQueue)}) {
    if (std::find(out.begin(), out.end(), q) == out.end()) out.push_back(q);
  }
  return out;
}

}  // namespace unity::queue
