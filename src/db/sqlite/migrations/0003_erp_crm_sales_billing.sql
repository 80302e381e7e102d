-- ERP CRM, sales and billing (SQLite). Decimals are canonical text with 4 fraction digits, as in
-- 0002; sums are done in C++ with unity::Decimal. Dates "YYYY-MM-DD", timestamps ISO 8601.

-- CRM: payment terms and the statistics UpdateCustomerStatistics keeps (from fulfilled orders).
ALTER TABLE customers ADD COLUMN payment_terms_days INTEGER NOT NULL DEFAULT 30;
ALTER TABLE customers ADD COLUMN lead_id INTEGER;
ALTER TABLE customers ADD COLUMN orders_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN total_spent TEXT NOT NULL DEFAULT '0.0000';
ALTER TABLE customers ADD COLUMN average_order_value TEXT NOT NULL DEFAULT '0.0000';
ALTER TABLE customers ADD COLUMN last_order_at TEXT;
ALTER TABLE customers ADD COLUMN statistics_updated_at TEXT;
-- Imports upsert customers by email.
CREATE UNIQUE INDEX customers_email ON customers (tenant_id, lower(email)) WHERE email IS NOT NULL;

CREATE TABLE leads (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  email TEXT,
  company TEXT,
  status TEXT NOT NULL CHECK (status IN ('new','converted')),
  customer_id INTEGER REFERENCES customers (id),
  converted_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX leads_tenant ON leads (tenant_id, status);

-- Sales orders: draft → approved → fulfilled (or cancelled).
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  status TEXT NOT NULL CHECK (status IN ('draft','approved','fulfilled','cancelled')),
  total TEXT NOT NULL,
  cost_of_goods TEXT,
  location_id INTEGER REFERENCES locations (id),
  created_by INTEGER,
  approved_by INTEGER,
  approved_at TEXT,
  fulfilled_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, status);
CREATE INDEX orders_status ON orders (tenant_id, status, created_at);

CREATE TABLE order_lines (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  order_id INTEGER NOT NULL REFERENCES orders (id),
  product_id INTEGER NOT NULL REFERENCES products (id),
  quantity TEXT NOT NULL,
  unit_price TEXT NOT NULL,
  line_total TEXT NOT NULL,
  cost TEXT
);
CREATE INDEX order_lines_order ON order_lines (tenant_id, order_id);
CREATE INDEX order_lines_product ON order_lines (tenant_id, product_id);

-- What UpdateInventoryOnSale keeps per product (from fulfilled orders).
CREATE TABLE product_sales (
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  product_id INTEGER NOT NULL REFERENCES products (id),
  quantity_sold TEXT NOT NULL,
  revenue TEXT NOT NULL,
  cost_of_goods TEXT NOT NULL,
  last_sold_at TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, product_id)
);

-- Billing: one invoice per order (GenerateInvoiceFromOrder is idempotent on it).
CREATE TABLE invoices (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  order_id INTEGER NOT NULL UNIQUE REFERENCES orders (id),
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  status TEXT NOT NULL CHECK (status IN ('issued','partially_paid','paid','overdue')),
  total TEXT NOT NULL,
  paid TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  due_date TEXT NOT NULL,
  overdue_at TEXT,
  paid_at TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id, status);
-- The daily overdue scan.
CREATE INDEX invoices_due ON invoices (tenant_id, status, due_date);

CREATE TABLE invoice_lines (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  invoice_id INTEGER NOT NULL REFERENCES invoices (id),
  product_id INTEGER NOT NULL REFERENCES products (id),
  description TEXT NOT NULL,
  quantity TEXT NOT NULL,
  unit_price TEXT NOT NULL,
  line_total TEXT NOT NULL
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (tenant_id, invoice_id);

CREATE TABLE payments (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  invoice_id INTEGER NOT NULL REFERENCES invoices (id),
  amount TEXT NOT NULL,
  received_by INTEGER,
  paid_at TEXT NOT NULL
);
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id);
