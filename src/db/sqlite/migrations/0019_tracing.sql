-- Tracing (SQLite; same logical schema as PostgreSQL). The trace a row was written for (32 hex
-- digits, W3C Trace Context), NULL when none: the domain events a traced request records, the
-- jobs they cause (kept across retries, copied into failed_jobs and back on queue:retry, with the
-- span that dispatched them) and the notifications those write.
ALTER TABLE domain_events ADD COLUMN trace_id TEXT;
ALTER TABLE {{queue_table}} ADD COLUMN trace_id TEXT;
ALTER TABLE {{queue_table}} ADD COLUMN parent_span_id TEXT;
ALTER TABLE failed_jobs ADD COLUMN trace_id TEXT;
ALTER TABLE failed_jobs ADD COLUMN parent_span_id TEXT;
ALTER TABLE notifications ADD COLUMN trace_id TEXT;

-- One row per finished piece of traced work (core/trace.h): the request, each event, each
-- listener or job attempt (success, retry or failure), each delivery of notifications. Written in
-- the transaction that finishes the work where there is one. tenant_id 0: a system job's span.
-- Times are microseconds since the Unix epoch. As on the queue's tables, the queries scope it by
-- tenant (no row-level security in SQLite; see 0011).
CREATE TABLE spans (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT,
  tenant_id INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  duration_us INTEGER NOT NULL,
  detail TEXT
);
CREATE INDEX spans_trace ON spans (trace_id, started_at);
