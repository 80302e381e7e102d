-- Job middleware (DESIGN.md "The Bus", queue/middleware.h): the state every worker process and
-- host shares. tenant_id 0 holds system jobs' keys; a key is never shared across tenants. Times
-- are microseconds since the epoch.
--
-- job_locks: WithoutOverlapping. One row per held key; taken by an insert, or by an upsert when
-- the row has expired (its worker was killed) or belongs to the same job (rescued after its
-- worker died); deleted by the holder, naming its token, when its attempt ends.
CREATE TABLE job_locks (
  tenant_id BIGINT NOT NULL DEFAULT 0,
  key TEXT NOT NULL,
  owner_job_id BIGINT NOT NULL,
  token BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, key)
);
-- job_counters: RateLimit (a fixed window per key: window_start is the window's start) and
-- ThrottleExceptions (window_start is the first exception of the decay period). One row per key,
-- reset in place when its window has passed, so the table never grows with time.
CREATE TABLE job_counters (
  tenant_id BIGINT NOT NULL DEFAULT 0,
  key TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  count INTEGER NOT NULL CHECK (count >= 0),
  PRIMARY KEY (tenant_id, key)
);

-- Row-level security as the queue's tables have it (0011): forced; a session in a tenant's
-- context sees and writes only that tenant's keys; a session without one (operators) sees all.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['job_locks', 'job_counters']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                   ' USING ((SELECT unity_current_tenant()) IS NULL'
                   '        OR tenant_id = (SELECT unity_current_tenant()))'
                   ' WITH CHECK ((SELECT unity_current_tenant()) IS NULL'
                   '        OR tenant_id = (SELECT unity_current_tenant()))', t);
    EXECUTE format('CREATE POLICY owner_maintenance ON %I TO CURRENT_USER'
                   ' USING ((SELECT unity_current_tenant()) IS NULL)'
                   ' WITH CHECK ((SELECT unity_current_tenant()) IS NULL)', t);
  END LOOP;
END $$;
