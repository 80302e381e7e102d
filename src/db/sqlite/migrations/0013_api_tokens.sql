-- API tokens for `unity serve` (SQLite). Same logical schema as the PostgreSQL file.
-- Only the SHA-256 of a token's secret is stored (hex); the secret is shown once by `token:create`.

-- A tenant user's token: the tenant and the user come from it, never from the request.
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  user_id INTEGER NOT NULL REFERENCES users (id),
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT,
  created_at TEXT NOT NULL
);
CREATE INDEX api_tokens_tenant ON api_tokens (tenant_id, id);

-- An operator's token: the queue across tenants, no tenant's business data. Not a tenant row.
CREATE TABLE operator_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT,
  created_at TEXT NOT NULL
);
