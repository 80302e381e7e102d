-- The worker registry (PostgreSQL; same logical schema as the SQLite file): every running
-- `unity queue:work` process records itself here and beats every QUEUE_WORKER_HEARTBEAT_MS, so
-- `queue:workers`, /metrics and the dashboard can list the workers alive. A system table, not a
-- tenant's data (no tenant_id, so no row-level security). A worker is alive while its last
-- heartbeat is younger than three of its own heartbeat periods; older rows are pruned by the next
-- worker that registers or beats.
CREATE TABLE queue_workers (
  id BIGINT PRIMARY KEY,               -- random, chosen by the worker
  name TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  queues TEXT NOT NULL,                -- in priority order, comma separated
  concurrency INTEGER NOT NULL,
  heartbeat_ms BIGINT NOT NULL,        -- the worker's own heartbeat period
  started_at BIGINT NOT NULL,          -- microseconds since the epoch
  last_heartbeat BIGINT NOT NULL,      -- microseconds since the epoch
  jobs_done BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX queue_workers_heartbeat ON queue_workers (last_heartbeat);
