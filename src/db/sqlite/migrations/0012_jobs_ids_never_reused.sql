-- The queue table's ids are never reused (SQLite). With a plain INTEGER PRIMARY KEY, SQLite gives
-- a new row the largest id + 1, so a job inserted after the newest one completed (and was deleted)
-- got that job's id: a follower by id (`--wait`) then followed another tenant's job. AUTOINCREMENT
-- keeps the highest id ever used in sqlite_sequence. SQLite cannot add it to an existing table,
-- so the table is rebuilt with the same columns and indexes (jobs waiting or running are copied).
-- PostgreSQL's identity columns never reuse ids (its 0012 has nothing to do).
CREATE TABLE {{queue_table}}_0012 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uuid TEXT NOT NULL,  -- not indexed: nothing looks a queued job up by uuid alone
  tenant_id INTEGER NOT NULL DEFAULT 0,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  max_tries INTEGER,
  timeout_s INTEGER,
  backoff TEXT,
  retry_until INTEGER,
  unique_key TEXT,
  available_at INTEGER NOT NULL,
  reserved_at INTEGER,
  lease_expires_at INTEGER,
  lease_token INTEGER,
  worker TEXT,
  last_error TEXT,
  progress INTEGER,
  created_at INTEGER NOT NULL
);
INSERT INTO {{queue_table}}_0012 (id, uuid, tenant_id, queue, type, payload, attempts, max_tries,
  timeout_s, backoff, retry_until, unique_key, available_at, reserved_at, lease_expires_at,
  lease_token, worker, last_error, progress, created_at)
SELECT id, uuid, tenant_id, queue, type, payload, attempts, max_tries, timeout_s, backoff,
  retry_until, unique_key, available_at, reserved_at, lease_expires_at, lease_token, worker,
  last_error, progress, created_at FROM {{queue_table}};
DROP TABLE {{queue_table}};
ALTER TABLE {{queue_table}}_0012 RENAME TO {{queue_table}};
CREATE INDEX {{queue_table}}_ready ON {{queue_table}} (queue, tenant_id, available_at, id)
  WHERE reserved_at IS NULL;
CREATE INDEX {{queue_table}}_reserved ON {{queue_table}} (lease_expires_at) WHERE reserved_at IS NOT NULL;
CREATE UNIQUE INDEX {{queue_table}}_unique_key ON {{queue_table}} (tenant_id, unique_key)
  WHERE unique_key IS NOT NULL;
