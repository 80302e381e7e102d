-- Inventory valuations (SQLite), as last stored by RecalculateInventoryValuation: per product and
-- location, plus one row per product with location_id NULL for all its locations together.
-- Decimals are canonical text with 4 fraction digits, as in 0002.

CREATE TABLE inventory_valuations (
  id INTEGER PRIMARY KEY,
  tenant_id INTEGER NOT NULL REFERENCES tenants (id),
  product_id INTEGER NOT NULL REFERENCES products (id),
  -- NULL: the product's row for all locations together.
  location_id INTEGER REFERENCES locations (id),
  on_hand TEXT NOT NULL,
  fifo_value TEXT NOT NULL,
  average_cost TEXT NOT NULL,
  movements_count INTEGER NOT NULL CHECK (movements_count >= 0),
  calculated_at TEXT NOT NULL
);
-- One row per (tenant, product, location). NULLs are distinct in a plain unique index, so the
-- all-locations row has its own partial index (same pair on PostgreSQL).
CREATE UNIQUE INDEX inventory_valuations_location
  ON inventory_valuations (tenant_id, product_id, location_id) WHERE location_id IS NOT NULL;
CREATE UNIQUE INDEX inventory_valuations_product
  ON inventory_valuations (tenant_id, product_id) WHERE location_id IS NULL;
-- Location-scoped recalculations replace a location's rows.
CREATE INDEX inventory_valuations_by_location
  ON inventory_valuations (tenant_id, location_id) WHERE location_id IS NOT NULL;

-- The replay reads the ledger in (product, location, occurred_at, id) order. Covering (quantity
-- and unit_cost included), so the scan never visits the table: with a ledger larger than the page
-- cache, looking rows up by id in this order is random I/O and dominated the time.
CREATE INDEX stock_movements_valuation
  ON stock_movements (tenant_id, product_id, location_id, occurred_at, id, quantity, unit_cost);
