-- Foundation schema (SQLite). Timestamps are ISO 8601 UTC text ("2026-11-28T02:27:32.123456Z"),
-- decimals are text, JSON is text. Every tenant table carries tenant_id; the data layer scopes every
-- query on them by the connection's tenant (no row-level security in SQLite).

CREATE TABLE tenants (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  weight INTEGER NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 1000),
  max_concurrency INTEGER CHECK (max_concurrency IS NULL OR max_concurrency >= 1),
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

-- The queue. The table is named by DB_QUEUE_TABLE ({{queue_table}} is replaced when migrating;
-- set it before the first migrate). Times the queue compares on every claim are integer
-- microseconds since the Unix epoch. tenant_id 0 is a system job of no tenant; the queue is
-- claimed across tenants by workers, so it has no foreign key and no row-level security.
-- A row is ready when reserved_at IS NULL and available_at has passed; reserved while a worker
-- holds its lease (lease_token fences a worker whose lease was taken over).
CREATE TABLE {{queue_table}} (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL,  -- not indexed: nothing looks a queued job up by uuid (failed_jobs does)
  tenant_id INTEGER NOT NULL DEFAULT 0,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_tries INTEGER,
  timeout_s INTEGER,
  backoff TEXT,
  retry_until INTEGER,
  unique_key TEXT,
  available_at INTEGER NOT NULL,
  reserved_at INTEGER,
  lease_expires_at INTEGER,
  lease_token INTEGER,
  worker TEXT,
  last_error TEXT,
  progress INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX {{queue_table}}_ready ON {{queue_table}} (queue, tenant_id, available_at, id)
  WHERE reserved_at IS NULL;
CREATE INDEX {{queue_table}}_reserved ON {{queue_table}} (lease_expires_at) WHERE reserved_at IS NOT NULL;
CREATE UNIQUE INDEX {{queue_table}}_unique_key ON {{queue_table}} (tenant_id, unique_key)
  WHERE unique_key IS NOT NULL;

CREATE TABLE failed_jobs (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  tenant_id INTEGER NOT NULL DEFAULT 0,
  connection TEXT NOT NULL,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  max_tries INTEGER,
  timeout_s INTEGER,
  backoff TEXT,
  exception TEXT NOT NULL,
  failed_at TEXT NOT NULL
);
CREATE INDEX failed_jobs_tenant ON failed_jobs (tenant_id, failed_at);
CREATE INDEX failed_jobs_failed_at ON failed_jobs (failed_at);

-- queue:pause / queue:resume per tenant (queue '*' = every queue).
CREATE TABLE queue_pauses (
  tenant_id INTEGER NOT NULL,
  queue TEXT NOT NULL,
  paused_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, queue)
);

-- Signals to every worker: 'restart' = microseconds of the last queue:restart.
CREATE TABLE queue_signals (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);

-- Jobs finished per minute (minute = microseconds / 60e6), for queue:stats throughput.
CREATE TABLE queue_metrics (
  minute INTEGER NOT NULL,
  queue TEXT NOT NULL,
  completed INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, queue)
);

-- Rows written by the diag.write job type (operators' and tests' check of exactly-once effects).
CREATE TABLE diag_marks (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL,
  mark TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL
);

-- Customers and their contacts (the CRM module adds the rest); contacts are notifiable.
CREATE TABLE customers (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL,
  email TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX customers_tenant ON customers (tenant_id);

CREATE TABLE customer_contacts (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  name TEXT NOT NULL,
  email TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX customer_contacts_customer ON customer_contacts (tenant_id, customer_id);

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
-- A recipient's notifications newest first, and (partial) their unread ones: both read in index
-- order, so "newest 100 unread" touches 100 rows whatever the table holds.
CREATE INDEX notifications_notifiable ON notifications (tenant_id, notifiable_type, notifiable_id, created_at);
CREATE INDEX notifications_unread ON notifications (tenant_id, notifiable_type, notifiable_id, created_at)
  WHERE read_at IS NULL;

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
-- Queued listeners that ran: one row per (event, listener), written in the listener's own
-- transaction, so a redelivered pair changes nothing twice.
CREATE TABLE listener_runs (
  tenant_id INTEGER NOT NULL,
  event_id TEXT NOT NULL,
  listener TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  PRIMARY KEY (event_id, listener)
);

CREATE TRIGGER domain_events_no_update BEFORE UPDATE ON domain_events
BEGIN SELECT RAISE(ABORT, 'domain_events is append-only'); END;
CREATE TRIGGER domain_events_no_delete BEFORE DELETE ON domain_events
BEGIN SELECT RAISE(ABORT, 'domain_events is append-only'); END;
