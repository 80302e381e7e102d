-- SyncExternalData (jobs/sync_job.h): what each run did, and the circuit breaker per endpoint.
ALTER TABLE sync_logs ADD COLUMN direction TEXT;
ALTER TABLE sync_logs ADD COLUMN endpoint TEXT;
ALTER TABLE sync_logs ADD COLUMN pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_logs ADD COLUMN records INTEGER NOT NULL DEFAULT 0;
-- Where a retried run resumes: the next page to pull, or the last id pushed.
ALTER TABLE sync_logs ADD COLUMN resume_at INTEGER;

-- One row per external endpoint (its base URL), shared by every tenant and every worker: the
-- endpoint's health is not tenant data (jobs/circuit_breaker.h). Times in microseconds since the
-- epoch, like the queue's.
CREATE TABLE circuit_breakers (
  endpoint TEXT PRIMARY KEY,
  state TEXT NOT NULL DEFAULT 'closed' CHECK (state IN ('closed','open','half_open')),
  failures INTEGER NOT NULL DEFAULT 0,
  opened_at_us INTEGER,
  next_probe_at_us INTEGER,
  updated_at_us INTEGER NOT NULL
);
