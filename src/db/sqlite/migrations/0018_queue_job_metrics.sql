-- Per job type counters and histogram buckets for GET /metrics (SQLite; same logical schema on both
-- drivers). Workers add their in-memory sums about once a second (queue/job_metrics.h names the
-- series: completed, failed, retried, run_/wait_ count, sum_us and b<i> buckets). Cumulative since
-- the database was created, as Prometheus counters are. A system table, not a tenant's data.
CREATE TABLE queue_job_metrics (
  job_type TEXT NOT NULL,
  series TEXT NOT NULL,
  value INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_type, series)
);

-- The dashboard's wait per queue over the last hour: per minute, the sum of the waits (from when
-- a job could run until a worker claimed it) and how many attempts they are.
ALTER TABLE queue_metrics ADD COLUMN wait_us INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue_metrics ADD COLUMN waited INTEGER NOT NULL DEFAULT 0;
