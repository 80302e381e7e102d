-- Batches and chains (PostgreSQL; same logical schema as the SQLite file).
--
-- job_batches has Laravel's columns plus tenant_id. Counters: a job is finished when it
-- succeeded, failed for good or was skipped (its batch cancelled before it started);
-- pending_jobs counts the rest and is decremented in the transaction that finishes the job (the
-- UPDATE locks the row, so concurrent completions serialise on it and exactly one of them sees
-- pending reach 0), so the counters stay exact when a worker dies mid-batch. options holds
-- allow_failures and the prepared then / catch / finally jobs (JSON). Times are microseconds
-- since the epoch.
CREATE TABLE job_batches (
  id TEXT PRIMARY KEY,                 -- a UUID
  tenant_id BIGINT NOT NULL DEFAULT 0,
  name TEXT NOT NULL,
  total_jobs INTEGER NOT NULL,
  pending_jobs INTEGER NOT NULL,
  failed_jobs INTEGER NOT NULL DEFAULT 0,
  failed_job_ids TEXT NOT NULL DEFAULT '[]',  -- JSON array of the failed jobs' uuids
  options TEXT NOT NULL,
  cancelled_at BIGINT,
  created_at BIGINT NOT NULL,
  finished_at BIGINT
);
CREATE INDEX job_batches_tenant ON job_batches (tenant_id, created_at);

-- Row-level security as the queue's tables have it (0011): forced; a session in a tenant's
-- context sees and writes only that tenant's batches; workers, which finish jobs across tenants
-- without a tenant context, see them all.
ALTER TABLE job_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_batches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job_batches
  USING ((SELECT unity_current_tenant()) IS NULL OR tenant_id = (SELECT unity_current_tenant()))
  WITH CHECK ((SELECT unity_current_tenant()) IS NULL
              OR tenant_id = (SELECT unity_current_tenant()));
CREATE POLICY owner_maintenance ON job_batches TO CURRENT_USER
  USING ((SELECT unity_current_tenant()) IS NULL)
  WITH CHECK ((SELECT unity_current_tenant()) IS NULL);

-- A job's batch, and the rest of its chain (JSON: the chain's id, the prepared links still to
-- run and its catch job), enqueued link by link in the transaction that completes the one before.
-- Both NULL for an ordinary job: the ready index and the claim path are unchanged.
ALTER TABLE {{queue_table}} ADD COLUMN batch_id TEXT;
ALTER TABLE {{queue_table}} ADD COLUMN chain TEXT;
ALTER TABLE failed_jobs ADD COLUMN batch_id TEXT;
ALTER TABLE failed_jobs ADD COLUMN chain TEXT;
