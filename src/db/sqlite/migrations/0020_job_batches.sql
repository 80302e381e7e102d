-- Batches and chains (SQLite; same logical schema as the PostgreSQL file).
--
-- job_batches has Laravel's columns plus tenant_id. Counters: a job is finished when it
-- succeeded, failed for good or was skipped (its batch cancelled before it started);
-- pending_jobs counts the rest and is decremented in the transaction that finishes the job, so
-- the counters stay exact when a worker dies mid-batch. options holds allow_failures and the
-- prepared then / catch / finally jobs (JSON). Times are microseconds since the epoch.
CREATE TABLE job_batches (
  id TEXT PRIMARY KEY,                 -- a UUID
  tenant_id INTEGER NOT NULL DEFAULT 0,
  name TEXT NOT NULL,
  total_jobs INTEGER NOT NULL,
  pending_jobs INTEGER NOT NULL,
  failed_jobs INTEGER NOT NULL DEFAULT 0,
  failed_job_ids TEXT NOT NULL DEFAULT '[]',  -- JSON array of the failed jobs' uuids
  options TEXT NOT NULL,
  cancelled_at INTEGER,
  created_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE INDEX job_batches_tenant ON job_batches (tenant_id, created_at);

-- A job's batch, and the rest of its chain (JSON: the chain's id, the prepared links still to
-- run and its catch job), enqueued link by link in the transaction that completes the one before.
-- Both NULL for an ordinary job: the ready index and the claim path are unchanged.
ALTER TABLE {{queue_table}} ADD COLUMN batch_id TEXT;
ALTER TABLE {{queue_table}} ADD COLUMN chain TEXT;
ALTER TABLE failed_jobs ADD COLUMN batch_id TEXT;
ALTER TABLE failed_jobs ADD COLUMN chain TEXT;
