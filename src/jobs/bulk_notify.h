#pragma once
// SendBulkNotifications (the seed's bulk notification job): one announcement, reminder or alert
// (notify/messages.h) to many users of a tenant, in batches.
//
// `notify:bulk` validates the request and inserts a `bulk_notifications` tracking row
// (create_bulk_notification), then dispatches the job with {"bulk_id"} in the same transaction.
// The job is not transactional as a whole: each batch of recipients (ascending user id) commits
// in one transaction its notifications (multi-row INSERTs, notify::deliver_batch) together with
// the row's progress (cursor_user_id, sent and skipped counts). A redelivered or retried job
// resumes after the last committed batch, and the cursor is advanced by compare-and-set, so even
// two runs of the same job at once never write a notification twice.
//
// Recipients: a list of user ids (a set: duplicates count once) or every user of the tenant at
// the time the job runs. A recipient that is unknown or of another tenant (one reason, "not
// found in tenant N", so ids of other tenants do not leak) or whose role lacks the notification's
// permission (none for these three types) is skipped, logged (JobLog step "skipped") and listed on
// the row; the rest are delivered. Status: pending → processing → completed, or
// completed_with_errors when any recipient was skipped, or failed (error_message) when the job
// is given up.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "db/connection.h"
#include "queue/registry.h"

namespace unity::jobs {

inline constexpr const char* kSendBulkNotifications = "SendBulkNotifications";
// Recipients per batch (one transaction each) unless the payload says "batch_size".
inline constexpr int kBulkBatchSize = 5000;
// Skipped recipients listed on the row (skipped_count counts them all).
inline constexpr int kMaxListedSkipped = 1000;

struct BulkRequest {
  std::string kind;                           // announcement | reminder | alert
  nlohmann::json data;                        // the notification's data (messages.h)
  std::optional<std::vector<int64_t>> users;  // nullopt: every user of the tenant
  std::optional<int64_t> requester;           // the user who started it
};

struct SkippedRecipient {
  int64_t user_id = 0;
  std::string reason;
};

struct BulkNotificationStatus {
  int64_t id = 0;
  std::string status;  // pending | processing | completed | completed_with_errors | failed
  std::string notification_type;  // AnnouncementNotification, …
  int64_t total = 0;              // recipients (known once the job started)
  int64_t sent = 0;
  int64_t skipped_count = 0;
  std::vector<SkippedRecipient> skipped;  // the first kMaxListedSkipped
  std::optional<std::string> error_message;
};

// Validates the request (kInvalidArgument: unknown kind, bad data naming the field, an empty user
// list or an id not above 0) and inserts the pending tracking row in the connection's tenant.
// Returns its id. Recipients are checked by the job, not here.
int64_t create_bulk_notification(db::Connection& conn, const BulkRequest& request,
                                 const Clock& clock = system_clock());

// The tracking row (kNotFound when it is not the connection's tenant's).
BulkNotificationStatus load_bulk_notification(db::Connection& conn, int64_t id);

// {"bulk_id","status","notification_type","total","sent","skipped","skipped_ids":[{"user_id",
// "reason"}],"error_message"}
nlohmann::json to_json(const BulkNotificationStatus& s);

// Registers SendBulkNotifications: 3 tries, 30 min timeout, exponential backoff from 5 s.
void register_bulk_notify_job(queue::JobRegistry& registry, const Clock& clock);

}  // namespace unity::jobs
