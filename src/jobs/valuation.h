#pragma once
// RecalculateInventoryValuation (the seed's job): replays a tenant's stock ledger first-in
// first-out and stores, per product and location, the on-hand quantity, its FIFO value and its
// average cost, read back by `valuation:show`.
//
// Three pieces, usable on their own:
// - FifoLayers: the pure replay of one product at one location (no database), exact decimals.
// - recalculate_valuations(): reads the ledger in one streaming query and replaces the stored
//   valuations of a scope on a connection, inside the caller's transaction.
// - the job type itself, registered by jobs::wire_jobs() (jobs/jobs.h).
//
// Stored rows (inventory_valuations, migration 0006), by scope:
//   - no scope:            one row per (product, location) with movements, and one row per product
//                          with location NULL for all its locations together ("all-locations row");
//   - product:             that product's location rows and its all-locations row;
//   - location:            every product's row at that location; all-locations rows are left as
//                          they were (they depend on other locations' ledgers, not read here);
//   - product + location:  that one row.
// The scope's rows are deleted and written again in one transaction, so a reader sees the old set
// or the new one. A product or location without movements in scope gets no row.
//
// Arithmetic: quantities and costs are Decimals (scale 4). The value of a layer is kept exactly
// (quantity × unit cost has 8 fraction digits) and rounded once, half away from zero, to 4 places
// per stored row: fifo_value = round(Σ remaining × unit_cost); average_cost = round(Σ remaining ×
// unit_cost / on_hand), 0 when nothing is on hand. An all-locations row is rounded from the exact
// sum over its locations, so it may differ from the sum of its rounded location rows in the last
// (fourth) decimal.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/decimal.h"
#include "db/connection.h"
#include "queue/registry.h"

namespace unity::jobs {

inline constexpr const char* kRecalculateInventoryValuation = "RecalculateInventoryValuation";

// Σ quantity × unit_cost with 8 fraction digits, unrounded (value = ExactValue / 10^8).
__extension__ typedef __int128 ExactValue;

struct Valuation {
  Decimal on_hand;
  Decimal fifo_value;
  Decimal average_cost;
  int64_t movements = 0;  // ledger rows replayed
};

// The FIFO cost layers of one product at one location. Feed it the ledger's movements in ledger
// order (occurred_at, id). Not thread-safe; a value type.
class FifoLayers {
 public:
  // quantity > 0: a new layer at `unit_cost`, the newest. quantity < 0: takes -quantity from the
  // oldest layers first; `unit_cost` is ignored (the ledger records the consumed batch's cost,
  // which the replay reproduces). quantity == 0: only counted.
  //
  // Oversold ledger: an outgoing movement larger than the quantity on hand cannot come from
  // InventoryService (it refuses the oversell), so the ledger was written behind its back. Valuing
  // it by clamping would invent or hide stock, so it is an error: throws
  // Error(kFailedPrecondition) and the layers are left as they were before the call.
  // Throws kInvalidArgument on decimal overflow.
  void apply(Decimal quantity, Decimal unit_cost);

  Decimal on_hand() const { return on_hand_; }
  ExactValue exact_value() const { return value_; }
  int64_t movements() const { return movements_; }
  size_t layer_count() const { return layers_.size() - head_; }
  Valuation valuation() const;
  // Back to empty (keeps the memory for the next key).
  void clear();

 private:
  struct Layer {
    int64_t quantity;   // mantissa of what is left of the layer, > 0
    int64_t unit_cost;  // mantissa
  };
  std::vector<Layer> layers_;  // oldest first from head_
  size_t head_ = 0;
  Decimal on_hand_;
  ExactValue value_ = 0;
  int64_t movements_ = 0;
};

// Exact sum of several FifoLayers (the all-locations row), rounded once by valuation().
struct ValuationTotal {
  Decimal on_hand;
  ExactValue value = 0;
  int64_t movements = 0;
  void add(const FifoLayers& layers);
  Valuation valuation() const;
};

// on_hand, value and movement count → the rounded Valuation (see the header comment).
Valuation make_valuation(Decimal on_hand, ExactValue value, int64_t movements);

struct Movement {
  Decimal quantity;  // signed: > 0 in, < 0 out
  Decimal unit_cost;
};
// Replays `movements` (one product at one location, ledger order) from nothing.
Valuation replay_fifo(const std::vector<Movement>& movements);

// Which rows a recalculation replaces (see the header comment). Ids of the connection's tenant.
struct ValuationScope {
  std::optional<int64_t> product_id;
  std::optional<int64_t> location_id;
};

// The ledger read of a scope: id, product_id, location_id, quantity, unit_cost of the tenant's
// stock_movements ordered by (product_id, location_id, occurred_at, id). Exposed so the benchmark
// times the same query.
struct LedgerQuery {
  std::string sql;
  db::Params params;
};
LedgerQuery ledger_query(int64_t tenant_id, const ValuationScope& scope);

// One row to store: a (product, location) row, or the all-locations row (location nullopt).
struct ValuationRow {
  int64_t product_id = 0;
  std::optional<int64_t> location_id;
  Valuation valuation;
};

// Reads the ledger of the connection's tenant for `scope` in one streaming query and replays it:
// one row per (product, location) with movements, plus the all-locations rows when the scope
// has no location. `cancelled` is polled every 4096 ledger rows; when it returns true the call
// throws Error(kDeadlineExceeded). `movements` receives the number of ledger rows read.
// Errors: no tenant context → kFailedPrecondition; oversold ledger → kFailedPrecondition naming
// the movement, product and location; database errors as the driver throws them.
std::vector<ValuationRow> replay_ledger(db::Connection& conn, const ValuationScope& scope,
                                        int64_t& movements,
                                        const std::function<bool()>& cancelled = {});

// Replaces the stored valuations of `scope` with `rows`, stamped `calculated_at` (ISO 8601), in
// the caller's transaction when there is one, else in its own. Returns the rows deleted.
int64_t store_valuations(db::Connection& conn, const ValuationScope& scope,
                         const std::vector<ValuationRow>& rows, const std::string& calculated_at);

struct RecalculationSummary {
  int64_t movements = 0;      // ledger rows read
  int64_t location_rows = 0;  // (product, location) rows written
  int64_t product_rows = 0;   // all-locations rows written
  int64_t deleted_rows = 0;   // stored rows replaced
};

// replay_ledger() then store_valuations(), in one transaction (the caller's when there is one):
// nothing is written when the replay fails.
RecalculationSummary recalculate_valuations(db::Connection& conn, const ValuationScope& scope,
                                            const std::string& calculated_at,
                                            const std::function<bool()>& cancelled = {});

// A stored valuation as valuation:show prints it.
struct StoredValuation {
  int64_t product_id = 0;
  std::string sku;
  std::optional<std::string> location;  // code; nullopt for the all-locations row
  Valuation valuation;
  std::string calculated_at;
};
// The connection tenant's stored rows in `scope` (a location scope lists only that location's
// rows), ordered by SKU, then the all-locations row, then location code.
std::vector<StoredValuation> load_valuations(db::Connection& conn, const ValuationScope& scope);

// Registers the RecalculateInventoryValuation job type: 3 tries, 600 s timeout, exponential
// backoff from 10 s capped at 10 min, transactional (its writes commit with the job's
// completion). Payload: {"product_id"?: id, "location"?: code, "user_id"?: requester}. An unknown
// product or location, or an oversold ledger, gives the job up at once (retrying cannot help;
// on the last try the error itself is thrown, so the sync driver reports it with its code).
// `clock` stamps calculated_at and must outlive the registry.
void register_valuation_job(queue::JobRegistry& registry, const Clock& clock);

}  // namespace unity::jobs
