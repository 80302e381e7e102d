-- SendBulkNotifications tracking rows and the counters of the per-tenant / per-user rate limits
-- on jobs people start (SQLite). Same logical schema as the PostgreSQL file.

-- One row per `notify:bulk`: what is sent, to whom, and how far the job got. The job works in
-- batches of recipients in ascending user id; each batch commits its notifications together with
-- cursor_user_id and the counts, so a redelivered job resumes after the last committed batch and
-- never writes a notification twice.
CREATE TABLE bulk_notifications (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  user_id INTEGER REFERENCES users (id),
  notification_type TEXT NOT NULL
    CHECK (notification_type IN ('AnnouncementNotification','ReminderNotification','AlertNotification')),
  -- The rendered notifications.data every recipient receives (a JSON object).
  data TEXT NOT NULL,
  -- "all" (every user of the tenant when the job runs) or a JSON array of user ids.
  recipients TEXT NOT NULL,
  total_recipients INTEGER NOT NULL DEFAULT 0 CHECK (total_recipients >= 0),
  sent_count INTEGER NOT NULL DEFAULT 0 CHECK (sent_count >= 0),
  skipped_count INTEGER NOT NULL DEFAULT 0 CHECK (skipped_count >= 0),
  -- [{"user_id","reason"}] for the first 1000 skipped recipients (skipped_count has them all).
  skipped TEXT NOT NULL DEFAULT '[]',
  cursor_user_id INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending','processing','completed','completed_with_errors','failed')),
  error_message TEXT,
  completed_at TEXT,
  failed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX bulk_notifications_tenant ON bulk_notifications (tenant_id, status);
-- The job walks a tenant's users in id order, a batch at a time (`--users=all`): without this the
-- planner may take the (tenant_id, email) index and sort the whole tenant for every batch.
CREATE INDEX users_tenant_id ON users (tenant_id, id);

-- Fixed-window counters: scope 'tenant' (key = the tenant id) or 'user' (key = the user id);
-- window_start in Unix seconds, a multiple of RATE_LIMIT_WINDOW_S. Old windows are deleted as
-- new ones start.
CREATE TABLE rate_limits (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  scope TEXT NOT NULL CHECK (scope IN ('tenant','user')),
  key TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL CHECK (count >= 0),
  PRIMARY KEY (tenant_id, scope, key, window_start)
);
