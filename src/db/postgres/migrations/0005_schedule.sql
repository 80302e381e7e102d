-- The scheduler (queue/schedule.h; `schedule:run`, `schedule:work`). One row per (task, slot) that
-- a scheduler claimed: the INSERT … ON CONFLICT DO NOTHING of the claim is what makes a slot run
-- once however many schedulers run, on any number of hosts. finished_at stays NULL while the task
-- runs (or when its scheduler died); error is NULL when it succeeded. A system table like the queue
-- tables: no tenant_id and no row-level security (the tasks loop over tenants themselves); the app
-- role gets SELECT/INSERT/UPDATE/DELETE on it with every table after migrating
-- (prepare_app_role). Slots are whole minutes.
CREATE TABLE schedule_runs (
  task TEXT NOT NULL,
  slot TIMESTAMPTZ NOT NULL,
  runner TEXT NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  error TEXT,
  PRIMARY KEY (task, slot)
);
-- Pruning (rows older than the retention, 30 days by default).
CREATE INDEX schedule_runs_slot ON schedule_runs (slot);
