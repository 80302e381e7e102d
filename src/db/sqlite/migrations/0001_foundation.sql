-- Foundation schema (SQLite). Timestamps are ISO 8601 UTC text ("2026-11-28T02:27:32.123456Z"),
-- decimals are text, JSON is text. Every tenant table carries tenant_id; the data layer scopes every
-- query on them by the connection's tenant (no row-level security in SQLite).

CREATE TABLE tenants (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  weight INTEGER NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  email TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin','manager','inventory','sales','billing','procurement')),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (tenant_id, email)
);

-- The queue (Laravel's `jobs` shape plus tenant_id and uuid; the queue layer extends it).
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  tenant_id INTEGER REFERENCES tenants (id),
  queue TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  reserved_at TEXT,
  available_at TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX jobs_queue_available ON jobs (queue, reserved_at, available_at);

CREATE TABLE failed_jobs (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  tenant_id INTEGER REFERENCES tenants (id),
  connection TEXT NOT NULL,
  queue TEXT NOT NULL,
  payload TEXT NOT NULL,
  exception TEXT NOT NULL,
  failed_at TEXT NOT NULL
);
CREATE INDEX failed_jobs_tenant ON failed_jobs (tenant_id, failed_at);

CREATE TABLE notifications (
  id TEXT PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  type TEXT NOT NULL,
  notifiable_type TEXT NOT NULL,
  notifiable_id INTEGER NOT NULL,
  data TEXT NOT NULL,
  read_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX notifications_notifiable ON notifications (tenant_id, notifiable_type, notifiable_id, read_at);

CREATE TABLE import_logs (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  user_id INTEGER REFERENCES users (id),
  import_type TEXT NOT NULL,
  file_path TEXT NOT NULL,
  total_rows INTEGER NOT NULL DEFAULT 0,
  imported_rows INTEGER NOT NULL DEFAULT 0,
  failed_rows INTEGER NOT NULL DEFAULT 0,
  errors TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending','processing','completed','completed_with_errors','failed')),
  completed_at TEXT,
  failed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX import_logs_tenant ON import_logs (tenant_id, status);

CREATE TABLE reports (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  user_id INTEGER REFERENCES users (id),
  report_type TEXT NOT NULL,
  file_name TEXT,
  parameters TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending','processing','completed','failed')),
  error_message TEXT,
  generated_at TEXT,
  failed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX reports_tenant ON reports (tenant_id, status);

CREATE TABLE sync_logs (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  sync_type TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running','completed','failed')),
  error_message TEXT,
  synced_at TEXT,
  failed_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX sync_logs_tenant ON sync_logs (tenant_id, created_at);

-- The append-only event store (the audit trail).
CREATE TABLE domain_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL UNIQUE,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  user_id INTEGER,
  name TEXT NOT NULL,
  aggregate_type TEXT,
  aggregate_id TEXT,
  payload TEXT NOT NULL,
  occurred_at TEXT NOT NULL
);
CREATE INDEX domain_events_tenant ON domain_events (tenant_id, occurred_at);
CREATE INDEX domain_events_aggregate ON domain_events (tenant_id, aggregate_type, aggregate_id);
CREATE TRIGGER domain_events_no_update BEFORE UPDATE ON domain_events
BEGIN SELECT RAISE(ABORT, 'domain_events is append-only'); END;
CREATE TRIGGER domain_events_no_delete BEFORE DELETE ON domain_events
BEGIN SELECT RAISE(ABORT, 'domain_events is append-only'); END;
