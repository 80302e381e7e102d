#include "jobs/valuation.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "db/transaction.h"

namespace unity::jobs {

namespace {

// num / den rounded half away from zero (den != 0).
ExactValue divide_rounded(ExactValue num, ExactValue den) {
  const ExactValue quotient = num / den;
  const ExactValue remainder = num % den;
  if (remainder == 0) return quotient;
  const ExactValue twice = (remainder < 0 ? -remainder : remainder) * 2;
  const ExactValue abs_den = den < 0 ? -den : den;
  if (twice < abs_den) return quotient;
  return (num < 0) != (den < 0) ? quotient - 1 : quotient + 1;
}

Decimal to_decimal(ExactValue mantissa, const char* what) {
  if (mantissa > std::numeric_limits<int64_t>::max() ||
      mantissa < std::numeric_limits<int64_t>::min()) {
    throw invalid_argument(std::string("decimal overflow computing the ") + what);
  }
  return Decimal::from_mantissa(static_cast<int64_t>(mantissa));
}

Decimal decimal_cell(const db::Row& row, size_t i) {
  const db::Value& v = row.value(i);
  if (const auto* text = std::get_if<std::string>(&v)) return Decimal::parse(*text);
  if (const auto* n = std::get_if<int64_t>(&v)) return Decimal::from_units(*n);
  throw internal_error("column " + std::to_string(i) + " is not a decimal");
}

// " AND product_id = $2 AND location_id = $3" for the scope, with its parameters after `first`.
std::string scope_filter(const ValuationScope& scope, db::Params& params) {
  std::string sql;
  if (scope.product_id) {
    params.add(*scope.product_id);
    sql += " AND product_id = $" + std::to_string(params.size());
  }
  if (scope.location_id) {
    params.add(*scope.location_id);
    sql += " AND location_id = $" + std::to_string(params.size());
  }
  return sql;
}

}  // namespace

// --- FIFO replay ------------------------------------------------------------------------------

void FifoLayers::apply(Decimal quantity, Decimal unit_cost) {
  if (quantity.is_negative()) {
    const Decimal out = -quantity;
    if (out > on_hand_) {
      throw failed_precondition("oversold ledger: " + out.to_string() + " out with only " +
                                on_hand_.to_string() + " on hand");
    }
    int64_t left = out.mantissa();
    while (left > 0) {
      Layer& layer = layers_[head_];
      const int64_t take = std::min(left, layer.quantity);
      value_ -= ExactValue{take} * layer.unit_cost;
      layer.quantity -= take;
      left -= take;
      if (layer.quantity == 0) ++head_;
    }
    on_hand_ = on_hand_ - out;
    if (head_ == layers_.size()) {
      layers_.clear();
      head_ = 0;
    } else if (head_ >= 1024 && head_ * 2 >= layers_.size()) {
      layers_.erase(layers_.begin(), layers_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  } else if (!quantity.is_zero()) {
    on_hand_ = on_hand_ + quantity;  // checks overflow before anything changes
    layers_.push_back({quantity.mantissa(), unit_cost.mantissa()});
    value_ += ExactValue{quantity.mantissa()} * unit_cost.mantissa();
  }
  ++movements_;
}

Valuation FifoLayers::valuation() const { return make_valuation(on_hand_, value_, movements_); }

void FifoLayers::clear() {
  layers_.clear();
  head_ = 0;
  on_hand_ = Decimal();
  value_ = 0;
  movements_ = 0;
}

void ValuationTotal::add(const FifoLayers& layers) {
  on_hand += layers.on_hand();
  value += layers.exact_value();
  movements += layers.movements();
}

Valuation ValuationTotal::valuation() const { return make_valuation(on_hand, value, movements); }

Valuation make_valuation(Decimal on_hand, ExactValue value, int64_t movements) {
  // value has 8 fraction digits: /10^4 gives the 4-digit mantissa; value / on_hand's mantissa is
  // the average's mantissa (10^8 / (10^4 · 10^4)).
  Valuation v;
  v.on_hand = on_hand;
  v.movements = movements;
  v.fifo_value = to_decimal(divide_rounded(value, Decimal::kScaleFactor), "FIFO value");
  if (!on_hand.is_zero()) {
    v.average_cost = to_decimal(divide_rounded(value, on_hand.mantissa()), "average cost");
  }
  return v;
}

Valuation replay_fifo(const std::vector<Movement>& movements) {
  FifoLayers layers;
  for (const Movement& m : movements) layers.apply(m.quantity, m.unit_cost);
  return layers.valuation();
}

// --- The ledger and the stored rows -------------------------------------------------------------

LedgerQuery ledger_query(int64_t tenant_id, const ValuationScope& scope) {
  LedgerQuery q;
  q.params.add(tenant_id);
  q.sql =
      "SELECT id, product_id, location_id, quantity, unit_cost FROM stock_movements "
      "WHERE tenant_id = $1" +
      scope_filter(scope, q.params) + " ORDER BY product_id, location_id, occurred_at, id";
  return q;
}

std::vector<ValuationRow> replay_ledger(db::Connection& conn, const ValuationScope& scope,
                                        int64_t& movements,
                                        const std::function<bool()>& cancelled) {
  const LedgerQuery q = ledger_query(conn.require_tenant(), scope);
  const bool all_locations = !scope.location_id;
  std::vector<ValuationRow> rows;
  FifoLayers layers;
  ValuationTotal total;
  int64_t product = 0, location = 0;
  movements = 0;
  // Rows arrive grouped by product, then location: close each group when the key changes.
  auto close_location = [&] {
    rows.push_back({product, location, layers.valuation()});
    total.add(layers);
    layers.clear();
  };
  auto close_product = [&] {
    if (all_locations) rows.push_back({product, std::nullopt, total.valuation()});
    total = ValuationTotal();
  };
  conn.query_each(q.sql, q.params, [&](const db::Row& r) {
    if ((movements & 4095) == 4095 && cancelled && cancelled()) {
      throw deadline_exceeded("inventory valuation cancelled after " + std::to_string(movements) +
                              " movements");
    }
    const int64_t p = r.get<int64_t>(1), l = r.get<int64_t>(2);
    if (movements > 0 && (p != product || l != location)) {
      close_location();
      if (p != product) close_product();
    }
    product = p;
    location = l;
    ++movements;
    try {
      layers.apply(decimal_cell(r, 3), decimal_cell(r, 4));
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kFailedPrecondition) throw;
      throw failed_precondition(std::string(e.what()) + " at movement " +
                                std::to_string(r.get<int64_t>(0)) + " (product " +
                                std::to_string(p) + ", location " + std::to_string(l) + ")");
    }
  });
  if (movements > 0) {
    close_location();
    close_product();
  }
  return rows;
}

int64_t store_valuations(db::Connection& conn, const ValuationScope& scope,
                         const std::vector<ValuationRow>& rows, const std::string& calculated_at) {
  const int64_t tenant = conn.require_tenant();
  db::Transaction tx(conn);
  db::Params params{tenant};
  std::string sql =
      "DELETE FROM inventory_valuations WHERE tenant_id = $1" + scope_filter(scope, params);
  // A location scope replaces that location's rows only, never the all-locations rows.
  if (scope.location_id) sql += " AND location_id IS NOT NULL";
  const int64_t deleted = conn.execute(sql, params);
  // Up to kChunk rows per statement: one round trip per chunk, not per row (PostgreSQL).
  constexpr size_t kChunk = 200;
  for (size_t begin = 0; begin < rows.size(); begin += kChunk) {
    const size_t end = std::min(rows.size(), begin + kChunk);
    db::Params values{tenant, calculated_at};
    std::string insert =
        "INSERT INTO inventory_valuations (tenant_id, product_id, location_id, on_hand, "
        "fifo_value, average_cost, movements_count, calculated_at) VALUES ";
    for (size_t i = begin; i < end; ++i) {
      const Valuation& v = rows[i].valuation;
      const size_t p = values.size();
      insert += (i == begin ? "($1" : ", ($1");
      for (size_t k = 1; k <= 6; ++k) insert += ", $" + std::to_string(p + k);
      insert += ", $2)";
      values.add(rows[i].product_id)
          .add(db::opt_value(rows[i].location_id))
          .add(v.on_hand.to_string(4))
          .add(v.fifo_value.to_string(4))
          .add(v.average_cost.to_string(4))
          .add(v.movements);
    }
    conn.execute(insert, values);
  }
  tx.commit();
  return deleted;
}

RecalculationSummary recalculate_valuations(db::Connection& conn, const ValuationScope& scope,
                                            const std::string& calculated_at,
                                            const std::function<bool()>& cancelled) {
  db::Transaction tx(conn);
  RecalculationSummary out;
  const auto rows = replay_ledger(conn, scope, out.movements, cancelled);
  for (const auto& r : rows) ++(r.location_id ? out.location_rows : out.product_rows);
  out.deleted_rows = store_valuations(conn, scope, rows, calculated_at);
  tx.commit();
  return out;
}

std::vector<StoredValuation> load_valuations(db::Connection& conn, const ValuationScope& scope) {
  db::Params params{conn.require_tenant()};
  std::string filter;
  if (scope.product_id) {
    params.add(*scope.product_id);
    filter += " AND v.product_id = $" + std::to_string(params.size());
  }
  if (scope.location_id) {
    params.add(*scope.location_id);
    filter += " AND v.location_id = $" + std::to_string(params.size());
  }
  std::vector<StoredValuation> out;
  conn.query_each(
      "SELECT v.product_id, p.sku, l.code, v.on_hand, v.fifo_value, v.average_cost, "
      "v.movements_count, v.calculated_at FROM inventory_valuations v "
      "JOIN products p ON p.id = v.product_id LEFT JOIN locations l ON l.id = v.location_id "
      "WHERE v.tenant_id = $1" +
          filter + " ORDER BY p.sku, v.product_id, v.location_id IS NOT NULL, l.code",
      params, [&](const db::Row& r) {
        StoredValuation s;
        s.product_id = r.get<int64_t>(0);
        s.sku = r.get<std::string>(1);
        s.location = r.get<std::optional<std::string>>(2);
        s.valuation.on_hand = decimal_cell(r, 3);
        s.valuation.fifo_value = decimal_cell(r, 4);
        s.valuation.average_cost = decimal_cell(r, 5);
        s.valuation.movements = r.get<int64_t>(6);
        s.calculated_at = r.get<std::string>(7);
        out.push_back(std::move(s));
      });
  return out;
}

}  // namespace unity::jobs
