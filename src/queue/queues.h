#pragma once
// The queues of the seed's priorities ("Queue Priorities": high for critical operations,
// default for normal ones, low for background tasks), and what a worker serves by default.
//
// Job types and queued listeners name their queue in their options (JobOptions::queue,
// events::ListenerOptions::queue; empty: DB_QUEUE). Payments and stock alerts run on kHighQueue,
// reports and external syncs on kLowQueue, everything else on DB_QUEUE.

#include <string>
#include <vector>

#include "core/config.h"

namespace unity::queue {

inline constexpr const char* kHighQueue = "high";
inline constexpr const char* kLowQueue = "low";

// The queues of a worker started without --queue (WorkerOptions::queues empty), in strict
// priority order: high, DB_QUEUE, low (DB_QUEUE once when it is itself "high" or "low"), so that
// no job of the application's own types is left without a worker.
std::vector<std::string> default_worker_queues(const Config& config);

}  // namespace unity::queue
