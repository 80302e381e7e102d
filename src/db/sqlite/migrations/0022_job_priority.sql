-- Priority inside a queue (DESIGN.md "The Bus"): an integer, default 0, higher first within one
-- queue and tenant, then oldest first. The ready index leads with (queue, tenant_id) as before, so
-- the tenant skip scan and strict queue order are untouched; the claim is still one probe of it,
-- now in (priority DESC, available_at, id) order. failed_jobs keeps the priority for a retry;
-- finished_jobs (0021) keeps it and the job's batch for queue:jobs.
ALTER TABLE {{queue_table}} ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE failed_jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
DROP INDEX {{queue_table}}_ready;
CREATE INDEX {{queue_table}}_ready ON {{queue_table}} (queue, tenant_id, priority DESC, available_at, id)
  WHERE reserved_at IS NULL;
ALTER TABLE finished_jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE finished_jobs ADD COLUMN batch_id TEXT;
