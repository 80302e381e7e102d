-- ERP procurement (SQLite): vendors, purchase orders and their lines, goods receipts. Decimals are
-- canonical text with 4 fraction digits ("12.5000", written by the erp layer); sums and
-- comparisons are done in C++ with unity::Decimal. Timestamps are ISO 8601 text.

CREATE TABLE vendors (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- One vendor per e-mail address and tenant, case-insensitively.
CREATE UNIQUE INDEX vendors_email ON vendors (tenant_id, lower(email));

CREATE TABLE purchase_orders (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  vendor_id INTEGER NOT NULL REFERENCES vendors (id),
  status TEXT NOT NULL
    CHECK (status IN ('draft','approved','partially_received','received','cancelled')),
  total TEXT NOT NULL,
  created_by INTEGER REFERENCES users (id),
  approved_by INTEGER REFERENCES users (id),
  approved_at TEXT,
  received_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
-- Open orders by status (what is waiting to be approved or received), and a vendor's orders.
CREATE INDEX purchase_orders_status ON purchase_orders (tenant_id, status, created_at);
CREATE INDEX purchase_orders_vendor ON purchase_orders (tenant_id, vendor_id, created_at);

CREATE TABLE purchase_order_lines (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  purchase_order_id INTEGER NOT NULL REFERENCES purchase_orders (id),
  product_id INTEGER NOT NULL REFERENCES products (id),
  quantity TEXT NOT NULL,
  quantity_received TEXT NOT NULL,
  unit_cost TEXT NOT NULL,
  line_total TEXT NOT NULL,
  -- A product appears once per order, so receipts name lines by SKU without ambiguity.
  UNIQUE (purchase_order_id, product_id)
);
CREATE INDEX purchase_order_lines_order ON purchase_order_lines (tenant_id, purchase_order_id, id);
-- What is on order for a product (procurement reports, reorder decisions).
CREATE INDEX purchase_order_lines_product ON purchase_order_lines (tenant_id, product_id);

CREATE TABLE goods_receipts (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  purchase_order_id INTEGER NOT NULL REFERENCES purchase_orders (id),
  location_id INTEGER NOT NULL REFERENCES locations (id),
  received_by INTEGER REFERENCES users (id),
  received_at TEXT NOT NULL
);
CREATE INDEX goods_receipts_order ON goods_receipts (tenant_id, purchase_order_id, id);

CREATE TABLE goods_receipt_lines (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  goods_receipt_id INTEGER NOT NULL REFERENCES goods_receipts (id),
  purchase_order_line_id INTEGER NOT NULL REFERENCES purchase_order_lines (id),
  quantity TEXT NOT NULL,
  -- The stock batch the receipt created (at the order line's unit cost).
  batch_id INTEGER NOT NULL REFERENCES stock_batches (id)
);
CREATE INDEX goods_receipt_lines_receipt ON goods_receipt_lines (tenant_id, goods_receipt_id, id);
CREATE INDEX goods_receipt_lines_order_line
  ON goods_receipt_lines (tenant_id, purchase_order_line_id);
