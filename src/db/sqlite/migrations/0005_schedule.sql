-- The scheduler (queue/schedule.h; `schedule:run`, `schedule:work`). One row per (task, slot) that
-- a scheduler claimed: the INSERT … ON CONFLICT DO NOTHING of the claim is what makes a slot run
-- once however many schedulers run. finished_at stays NULL while the task runs (or when its
-- scheduler died); error is NULL when it succeeded. A system table: no tenant_id (the tasks loop
-- over tenants themselves). Times are ISO 8601 text, slots whole minutes.
CREATE TABLE schedule_runs (
  task TEXT NOT NULL,
  slot TEXT NOT NULL,
  runner TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT,
  error TEXT,
  PRIMARY KEY (task, slot)
);
-- Pruning (rows older than the retention, 30 days by default).
CREATE INDEX schedule_runs_slot ON schedule_runs (slot);
