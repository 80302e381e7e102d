#include "cli/scans.h"

#include "events/event_bus.h"
#include "queue/dispatch.h"

namespace unity::cli {

jobs::ScanContext scan_context(Context& ctx) {
  return {.app = [&ctx]() -> db::Connection& { return ctx.app(); },
          .bus = [&ctx]() -> events::EventBus& { return ctx.bus(); },
          .queue_table = [&ctx] { return ctx.config().queue_table; },
          .dispatcher = [&ctx]() -> queue::Dispatcher& { return ctx.dispatcher(); },
          .keep_completed_minutes = [&ctx] { return ctx.config().queue_keep_completed_minutes; }};
}

}  // namespace unity::cli
