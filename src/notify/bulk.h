#pragma once
// Writing one notification to many users at once (SendBulkNotifications). deliver_now()
// (notifier.h) inserts row by row; deliver_batch() writes the same rows with multi-row INSERTs of
// up to kDeliverBatchRows rows, the shared columns bound once per statement.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "db/connection.h"

namespace unity::notify {

// Rows per INSERT statement (2 parameters each, plus 6 shared: far below both drivers' limits).
inline constexpr size_t kDeliverBatchRows = 500;

// Writes one `notifications` row per user id, of `type` with `data` (a JSON object as text),
// created at `now` (ISO 8601), in the connection's tenant and in the caller's transaction (open
// one around it: without one every statement commits alone). The ids must be users of that
// tenant, already checked: nothing is checked here. Returns the number of rows written.
// Traced like deliver_now(): under a trace (core/trace.h: the running job's) every row carries its
// trace_id (bound once per statement, no query of its own) and the call writes one
// "notification" span for all its rows, child of the open span.
int64_t deliver_batch(db::Connection& conn, const std::vector<int64_t>& user_ids,
                      std::string_view type, const std::string& data, const std::string& now);

}  // namespace unity::notify
