#pragma once
// The product's schedule and scans (jobs/scans.h) wired to a command's Context: the scans open
// the app connection and the event bus (with the ERP's listeners) only when a task runs.

#include "cli/context.h"
#include "jobs/scans.h"

namespace unity::cli {

// A ScanContext over `ctx`; `ctx` must outlive it and every task made from it.
jobs::ScanContext scan_context(Context& ctx);

}  // namespace unity::cli
