-- User-defined schedules and the retention of finished jobs (SQLite; same logical schema as
-- PostgreSQL's 0021, which explains both tables). Timestamps of schedules are ISO 8601 text
-- (format_iso8601: fixed width, so they sort like the time); finished_jobs' are microseconds.
CREATE TABLE schedules (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  job_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  queue TEXT,
  next_run_at TEXT NOT NULL,
  last_run_at TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (tenant_id, name)
);
CREATE INDEX schedules_due ON schedules (next_run_at);

CREATE TABLE finished_jobs (
  id INTEGER PRIMARY KEY,  -- the job's id in the queue table (never reused: AUTOINCREMENT, 0012)
  uuid TEXT NOT NULL,
  tenant_id INTEGER NOT NULL DEFAULT 0,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('completed', 'failed', 'cancelled')),
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL
);
CREATE INDEX finished_jobs_tenant ON finished_jobs (tenant_id, id);
CREATE INDEX finished_jobs_finished_at ON finished_jobs (finished_at);
