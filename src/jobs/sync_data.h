#pragma once
// The database side of SyncExternalData (jobs/sync_job.h): applying one pulled page, reading one
// page to push, and the sync_logs row. Internal to the jobs layer.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "db/connection.h"
#include "events/event_bus.h"

namespace unity::jobs::sync_detail {

// Checks every item of a pulled page before anything is written (kInvalidArgument naming the
// page, the item and the field), then upserts them: products by SKU (CatalogService), customers
// by email (CrmService for new ones). Runs in the caller's transaction.
void apply_pulled_page(db::Connection& conn, events::EventDispatcher& events,
                       const std::string& sync_type, int64_t page, const nlohmann::json& items,
                       const Clock& clock);

// Up to `limit` items with an id above `after`, as pushed: inventory {"sku","name","on_hand"} per
// live product; orders {"id","status","customer_id","customer_email","total","created_at",
// "lines":[{"sku","quantity","unit_price","line_total"}]}. `last_id` receives the page's last id.
nlohmann::json read_push_page(db::Connection& conn, events::EventDispatcher* events,
                              const std::string& sync_type, int64_t after, int limit,
                              int64_t& last_id, const Clock& clock);

// Records one committed page on the row (in the caller's transaction).
void record_page(db::Connection& conn, int64_t sync_id, int64_t records,
                 std::optional<int64_t> resume_at, const Clock& clock);

}  // namespace unity::jobs::sync_detail
