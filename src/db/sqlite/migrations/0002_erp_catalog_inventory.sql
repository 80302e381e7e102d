-- ERP catalog and inventory (SQLite). Decimals are canonical text with 4 fraction digits
-- ("12.5000", written by the erp layer), so equality against '0.0000' is exact; sums and
-- comparisons are done in C++ with unity::Decimal. Dates are "YYYY-MM-DD", timestamps ISO 8601.

CREATE TABLE products (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  sku TEXT NOT NULL CHECK (length(sku) BETWEEN 1 AND 64),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  price TEXT NOT NULL,
  cost TEXT NOT NULL,
  reorder_level TEXT NOT NULL,
  unit TEXT NOT NULL,
  -- 1 once LowStockDetected fired, until on-hand recovers to the reorder level.
  low_stock_flag INTEGER NOT NULL DEFAULT 0,
  deleted_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX products_sku ON products (tenant_id, sku) WHERE deleted_at IS NULL;

CREATE TABLE locations (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  code TEXT NOT NULL CHECK (length(code) BETWEEN 1 AND 32),
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (tenant_id, code)
);

CREATE TABLE stock_batches (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  product_id INTEGER NOT NULL REFERENCES products (id),
  location_id INTEGER NOT NULL REFERENCES locations (id),
  batch TEXT NOT NULL,
  quantity_received TEXT NOT NULL,
  quantity_remaining TEXT NOT NULL,
  unit_cost TEXT NOT NULL,
  received_at TEXT NOT NULL,
  expiry_date TEXT
);
-- FIFO consumption and on-hand: a product's batches at a location, oldest first.
CREATE INDEX stock_batches_fifo ON stock_batches (tenant_id, product_id, location_id, received_at, id);
-- The daily expiry scan.
CREATE INDEX stock_batches_expiry ON stock_batches (tenant_id, expiry_date) WHERE expiry_date IS NOT NULL;

CREATE TABLE stock_movements (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  product_id INTEGER NOT NULL REFERENCES products (id),
  location_id INTEGER NOT NULL REFERENCES locations (id),
  batch_id INTEGER REFERENCES stock_batches (id),
  quantity TEXT NOT NULL,
  unit_cost TEXT NOT NULL,
  reason TEXT NOT NULL,
  reference_type TEXT,
  reference_id TEXT,
  occurred_at TEXT NOT NULL
);
CREATE INDEX stock_movements_product ON stock_movements (tenant_id, product_id, occurred_at);

-- Expiry alerts already raised: once per batch and severity.
CREATE TABLE stock_expiry_alerts (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  batch_id INTEGER NOT NULL REFERENCES stock_batches (id),
  severity TEXT NOT NULL CHECK (severity IN ('info','warning','critical')),
  created_at TEXT NOT NULL,
  PRIMARY KEY (batch_id, severity)
);
