-- Job middleware (DESIGN.md "The Bus", queue/middleware.h): the state every worker process
-- shares. tenant_id 0 holds system jobs' keys; a key is never shared across tenants (the
-- statements always name the tenant; SQLite has no row-level security, see its 0011). Times are
-- microseconds since the epoch.
--
-- job_locks: WithoutOverlapping. One row per held key; taken by an insert, or by an upsert when
-- the row has expired (its worker was killed) or belongs to the same job (rescued after its
-- worker died); deleted by the holder, naming its token, when its attempt ends.
CREATE TABLE job_locks (
  tenant_id INTEGER NOT NULL DEFAULT 0,
  key TEXT NOT NULL,
  owner_job_id INTEGER NOT NULL,
  token INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, key)
);
-- job_counters: RateLimit (a fixed window per key: window_start is the window's start) and
-- ThrottleExceptions (window_start is the first exception of the decay period). One row per key,
-- reset in place when its window has passed, so the table never grows with time.
CREATE TABLE job_counters (
  tenant_id INTEGER NOT NULL DEFAULT 0,
  key TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  count INTEGER NOT NULL CHECK (count >= 0),
  PRIMARY KEY (tenant_id, key)
);
