#pragma once
// Fault injection for crash tests, in the manner of LevelDB's fault-injection Env: a decorator
// around what the product already takes (here a JobRegistry), so the product itself carries no
// fault switch.

#include "queue/registry.h"

namespace unity::testing {

// `inner`'s types, each of whose handlers ends the process with `exit_code` (std::_Exit: no
// destructors, no flush) right after it returns: between the handler and its acknowledgement (a
// transactional job's commit), as a power cut would.
queue::JobRegistry crash_after_handler(const queue::JobRegistry& inner, int exit_code = 99);

}  // namespace unity::testing
