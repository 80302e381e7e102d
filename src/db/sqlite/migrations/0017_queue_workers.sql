-- The worker registry (SQLite; same logical schema as the PostgreSQL file): every running
-- `unity queue:work` process records itself here and beats every QUEUE_WORKER_HEARTBEAT_MS, so
-- `queue:workers`, /metrics and the dashboard can list the workers alive. A system table, not a
-- tenant's data. A worker is alive while its last heartbeat is younger than three of its own
-- heartbeat periods; older rows are pruned by the next worker that registers or beats.
CREATE TABLE queue_workers (
  id INTEGER PRIMARY KEY,              -- random, chosen by the worker
  name TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  queues TEXT NOT NULL,                -- in priority order, comma separated
  concurrency INTEGER NOT NULL,
  heartbeat_ms INTEGER NOT NULL,       -- the worker's own heartbeat period
  started_at INTEGER NOT NULL,         -- microseconds since the epoch
  last_heartbeat INTEGER NOT NULL,     -- microseconds since the epoch
  jobs_done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_workers_heartbeat ON queue_workers (last_heartbeat);
