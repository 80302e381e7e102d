-- Guarantee 11: no way around isolation, even for a buggy query (PostgreSQL).
--
-- 1. Every table with a tenant_id column has row-level security enabled AND forced, so the schema
--    owner's own statements are filtered too, not only the app role's.
-- 2. The queue's tables ({{queue_table}}, failed_jobs, queue_pauses, diag_marks) get the policy
--    they lacked: a session in a tenant's context sees and writes only that tenant's rows; a
--    session without a tenant (workers claiming across tenants, operators' queue:* commands) sees
--    them all. Domain tables keep their strict policy (no tenant context: no rows).
-- 3. tenants: a tenant's session sees only its own row and can neither create nor change tenants.
--    Grants (prepare_app_role, re-applied after every migrate) keep the app role from renaming or
--    deleting tenants, writing schema_migrations, choosing ids or moving a sequence.
-- 4. Each policy reads the tenant once per statement ((SELECT unity_current_tenant()) is an
--    InitPlan), so a tenant's queries still probe their (tenant_id, …) indexes.
-- 5. owner_maintenance: the role that runs migrations, outside any tenant context, sees every row
--    (migrate:show counts, data fixes in later migrations). It owns the tables and could turn RLS
--    off anyway; in a tenant's context it is held to that tenant like everyone else.
-- 6. Foreign keys between tenant tables become (tenant_id, col) → (tenant_id, id): a row can only
--    point at its own tenant's rows, and another tenant's id fails exactly like a missing one (the
--    same constraint, the same message), so an insert's success reveals nothing.

-- 2. The queue's tables.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['{{queue_table}}', 'failed_jobs', 'queue_pauses', 'diag_marks']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I'
                   ' USING ((SELECT unity_current_tenant()) IS NULL'
                   '        OR tenant_id = (SELECT unity_current_tenant()))'
                   ' WITH CHECK ((SELECT unity_current_tenant()) IS NULL'
                   '        OR tenant_id = (SELECT unity_current_tenant()))', t);
  END LOOP;
END $$;

-- 3. tenants.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON tenants FOR SELECT
  USING ((SELECT unity_current_tenant()) IS NULL OR id = (SELECT unity_current_tenant()));
CREATE POLICY tenant_create ON tenants FOR INSERT
  WITH CHECK ((SELECT unity_current_tenant()) IS NULL);
CREATE POLICY tenant_settings ON tenants FOR UPDATE
  USING ((SELECT unity_current_tenant()) IS NULL) WITH CHECK ((SELECT unity_current_tenant()) IS NULL);

-- 1 and 5. FORCE everywhere a row carries a tenant.
DO $$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.relname FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
      AND (c.relname = 'tenants' OR EXISTS (
        SELECT 1 FROM pg_attribute a
        WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
    ORDER BY c.relname
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY owner_maintenance ON %I TO CURRENT_USER'
                   ' USING ((SELECT unity_current_tenant()) IS NULL)'
                   ' WITH CHECK ((SELECT unity_current_tenant()) IS NULL)', t);
  END LOOP;
END $$;

-- 6. Composite foreign keys. Every single-column foreign key from a tenant table to another
-- tenant table's id is replaced, under the same name, by one that includes tenant_id; the
-- referenced table gets UNIQUE (tenant_id, id) for it. Foreign keys to tenants (id) stay.
DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT DISTINCT c.confrelid::regclass::text AS ref FROM pg_constraint c
    WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
      AND cardinality(c.conkey) = 1
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid
                  AND a.attname = 'tenant_id' AND NOT a.attisdropped)
      AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.confrelid
                  AND a.attname = 'tenant_id' AND NOT a.attisdropped)
    ORDER BY 1
  LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I UNIQUE (tenant_id, id)', r.ref,
                   r.ref || '_tenant_id_id_key');
  END LOOP;
  FOR r IN
    SELECT c.conname, c.conrelid::regclass::text AS tbl, c.confrelid::regclass::text AS ref,
           a.attname AS col
    FROM pg_constraint c
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
    WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
      AND cardinality(c.conkey) = 1
      AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.conrelid
                  AND t.attname = 'tenant_id' AND NOT t.attisdropped)
      AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.confrelid
                  AND t.attname = 'tenant_id' AND NOT t.attisdropped)
    ORDER BY 2, 1
  LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (tenant_id, %I)'
                   ' REFERENCES %s (tenant_id, id)', r.tbl, r.conname, r.col, r.ref);
  END LOOP;
END $$;
