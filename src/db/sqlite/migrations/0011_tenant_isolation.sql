-- Guarantee 11's database-side rules (row-level security, forced; composite (tenant_id, id)
-- foreign keys; narrow grants to the app role) are PostgreSQL's (its 0011). SQLite has no roles
-- and no row-level security, and changing a foreign key means rebuilding the table: on the
-- embedded single-process database the tenant filters in the queries are the isolation. Nothing
-- to do here; the statement keeps both dialects on the same list of migration numbers.
SELECT 1;
