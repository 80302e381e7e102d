-- GenerateReports (SQLite): where a report's file is written and in which format. The command
-- sets both when it records the request; the file exists at `path` once status is 'completed'.
ALTER TABLE reports ADD COLUMN format TEXT;
ALTER TABLE reports ADD COLUMN path TEXT;
-- The sales report reads a tenant's fulfilled orders by fulfilment time.
CREATE INDEX orders_fulfilled ON orders (tenant_id, fulfilled_at) WHERE status = 'fulfilled';
