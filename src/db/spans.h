#pragma once
// The spans table (migration 0019): where traced work is recorded (core/trace.h), and where
// `unity trace` reads a trace back. On either driver; tenant-scoped like the queue's tables.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/trace.h"
#include "db/connection.h"

namespace unity::db {

// Inserts `span` on `conn` (inside its transaction when there is one, so the span commits with
// the work it records), then passes it to trace::export_span. A span without a trace id is not
// written. Errors of the statement propagate (kUnavailable, …) as for any write.
void span_insert(Connection& conn, const trace::Span& span);
// Many spans in few statements (up to 256 rows each): the domain events of one transaction.
void span_insert_many(Connection& conn, const std::vector<trace::Span>& spans);

// The spans of `trace_id`, oldest first; `tenant_id` set: that tenant's only (another tenant's
// spans are as absent as unknown ones).
std::vector<trace::Span> span_list(Connection& conn, const std::string& trace_id,
                                   std::optional<int64_t> tenant_id = std::nullopt);

}  // namespace unity::db
