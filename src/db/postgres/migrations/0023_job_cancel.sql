-- Cancelling a job (queue:cancel, DESIGN.md "The Bus"). A waiting job is deleted at once; a running
-- one is only flagged here, since its worker may be another process or host: the worker's
-- heartbeat (which already updates the running job's row) returns the flagged ids, the attempt is
-- asked to stop through its context and, when it ends, the job is recorded as cancelled. NULL for
-- every job not asked to stop: the ready index and the claim are unchanged. Microseconds.
ALTER TABLE {{queue_table}} ADD COLUMN cancel_requested_at BIGINT;
-- Who created a batch (queue:batch --user, the token's user over HTTP); NULL: not said. And how
-- many of its jobs were cancelled one by one: they count as finished (like skipped jobs) but not
-- as succeeded, so the batch's then job does not run.
ALTER TABLE job_batches ADD COLUMN created_by BIGINT;
ALTER TABLE job_batches ADD COLUMN cancelled_jobs INTEGER NOT NULL DEFAULT 0;
