// The pure FIFO replay: worked textbook examples, exact rounding, the oversold ledger, and a
// randomised comparison with a brute-force reference that expands every layer into equal pieces.
#include "jobs/valuation.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>

#include "core/error.h"

namespace unity::jobs {
namespace {

Decimal d(const char* s) { return Decimal::parse(s); }

Movement in(const char* quantity, const char* unit_cost) { return {d(quantity), d(unit_cost)}; }
Movement out(const char* quantity) { return {-d(quantity), Decimal()}; }

// The classic perpetual-FIFO exercise, computed by hand:
//   buy 100 @ 10, buy 200 @ 11          layers 100@10, 200@11
//   sell 150: 100@10 + 50@11            layers 150@11
//   buy 100 @ 12                        layers 150@11, 100@12
//   sell 120: 120@11                    layers  30@11, 100@12
// Ending inventory 130 units = 330 + 1,200 = 1,530; cost of goods sold 1,550 + 1,320 = 2,870
// (purchases 4,400 − 2,870 = 1,530); average 1,530 / 130 = 11.769230… → 11.7692.
TEST(FifoReplay, ClassicBuyBuySellBuySellEndsWith130UnitsWorth1530) {
  const Valuation v =
      replay_fifo({in("100", "10"), in("200", "11"), out("150"), in("100", "12"), out("120")});
  EXPECT_EQ(v.on_hand, d("130"));
  EXPECT_EQ(v.fifo_value, d("1530"));
  EXPECT_EQ(v.average_cost, d("11.7692"));
  EXPECT_EQ(v.movements, 5);
}

// Weygandt, Kimmel & Kieso, "Accounting Principles", chapter "Inventories" (Houston
// Electronics): beginning inventory 100 units @ $10, purchases 200 @ $11, 300 @ $12 and
// 400 @ $13 (cost of goods available $12,000 for 1,000 units); 550 units sold, 450 on hand.
// FIFO ending inventory: 400 @ $13 + 50 @ $12 = $5,800; cost of goods sold $6,200. The perpetual
// variant (the 550 units sold on Sept. 10, before the $13 purchase) ends the same under FIFO.
TEST(FifoReplay, TextbookHoustonElectronicsEndingInventoryIs5800) {
  const Valuation periodic =
      replay_fifo({in("100", "10"), in("200", "11"), in("300", "12"), in("400", "13"), out("550")});
  EXPECT_EQ(periodic.on_hand, d("450"));
  EXPECT_EQ(periodic.fifo_value, d("5800"));
  const Valuation perpetual =
      replay_fifo({in("100", "10"), in("200", "11"), in("300", "12"), out("550"), in("400", "13")});
  EXPECT_EQ(perpetual.on_hand, d("450"));
  EXPECT_EQ(perpetual.fifo_value, d("5800"));
  EXPECT_EQ(perpetual.average_cost, d("12.8889"));  // 5,800 / 450 = 12.88888…
}

TEST(FifoReplay, EmptyAndFullySoldLedgersAreZeroWithZeroAverage) {
  EXPECT_EQ(replay_fifo({}).fifo_value, Decimal());
  const Valuation v = replay_fifo({in("5", "2.50"), out("2"), out("3")});
  EXPECT_TRUE(v.on_hand.is_zero());
  EXPECT_TRUE(v.fifo_value.is_zero());
  EXPECT_TRUE(v.average_cost.is_zero());
  EXPECT_EQ(v.movements, 3);
}

TEST(FifoReplay, ZeroMovementIsCountedAndChangesNothing) {
  const Valuation v = replay_fifo({in("2", "3"), {Decimal(), d("99")}});
  EXPECT_EQ(v.on_hand, d("2"));
  EXPECT_EQ(v.fifo_value, d("6"));
  EXPECT_EQ(v.movements, 2);
}

TEST(FifoReplay, OutgoingCostIsIgnoredTheOldestLayerIsConsumed) {
  const Valuation v = replay_fifo({in("1", "1"), in("1", "100"), {d("-1"), d("100")}});
  EXPECT_EQ(v.fifo_value, d("100"));
}

TEST(FifoReplay, ValueIsRoundedOnceFromTheExactSum) {
  // 0.0001 × 0.5 three times is 0.00015 exactly: once rounded, 0.0002 (each alone rounds to 0.0001
  // and would sum to 0.0003).
  const Valuation v = replay_fifo({in("0.0001", "0.5"), in("0.0001", "0.5"), in("0.0001", "0.5")});
  EXPECT_EQ(v.fifo_value, d("0.0002"));
  EXPECT_EQ(v.average_cost, d("0.5"));
  // 1 @ 1 + 2 @ 0 = 1 over 3 units: 0.33333… → 0.3333; 2 over 3: 0.66666… → 0.6667.
  EXPECT_EQ(replay_fifo({in("1", "1"), in("2", "0")}).average_cost, d("0.3333"));
  EXPECT_EQ(replay_fifo({in("1", "2"), in("2", "0")}).average_cost, d("0.6667"));
}

TEST(FifoReplay, OversoldLedgerThrowsFailedPreconditionAndKeepsTheLayers) {
  FifoLayers layers;
  layers.apply(d("3"), d("2"));
  try {
    layers.apply(d("-3.0001"), Decimal());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(std::string(e.what()).find("oversold"), std::string::npos) << e.what();
  }
  EXPECT_EQ(layers.on_hand(), d("3"));
  EXPECT_EQ(layers.valuation().fifo_value, d("6"));
  EXPECT_EQ(layers.movements(), 1);
  layers.apply(d("-3"), Decimal());
  EXPECT_TRUE(layers.on_hand().is_zero());
  EXPECT_EQ(layers.layer_count(), 0u);
}

TEST(FifoReplay, TotalOfLocationsRoundsOnceFromTheExactSum) {
  FifoLayers a, b;
  a.apply(d("0.0001"), d("0.5"));  // 0.00005 → rounds to 0.0001 alone
  b.apply(d("0.0001"), d("0.5"));
  ValuationTotal total;
  total.add(a);
  total.add(b);
  EXPECT_EQ(a.valuation().fifo_value, d("0.0001"));
  EXPECT_EQ(total.valuation().fifo_value, d("0.0001"));  // 0.0001 exactly, not 0.0002
  EXPECT_EQ(total.valuation().on_hand, d("0.0002"));
  EXPECT_EQ(total.valuation().movements, 2);
}

TEST(FifoReplay, ManyLayersConsumedOneByOneStayExact) {
  FifoLayers layers;
  for (int i = 1; i <= 5000; ++i) layers.apply(Decimal::from_units(1), Decimal::from_units(i));
  for (int i = 1; i <= 4999; ++i) layers.apply(Decimal::from_units(-1), Decimal());
  EXPECT_EQ(layers.on_hand(), d("1"));
  EXPECT_EQ(layers.valuation().fifo_value, d("5000"));
  EXPECT_EQ(layers.layer_count(), 1u);
}

// --- Randomised comparison with a brute-force reference -------------------------------------

__extension__ typedef __int128 Wide;

// Every quantity is a multiple of `piece` (a mantissa); the reference keeps one entry per piece,
// so FIFO is a plain queue pop and the value a plain sum, sharing no code with FifoLayers.
struct Reference {
  int64_t piece;
  std::deque<int64_t> costs;  // mantissa of each piece's unit cost, oldest first
  Wide value = 0;             // Σ piece × cost over `costs`, 8 fraction digits

  void apply(const Movement& m) {
    const int64_t n = m.quantity.mantissa() / piece;
    for (int64_t i = 0; i < n; ++i) {
      costs.push_back(m.unit_cost.mantissa());
      value += Wide{piece} * costs.back();
    }
    for (int64_t i = 0; i < -n; ++i) {
      value -= Wide{piece} * costs.front();
      costs.pop_front();
    }
  }
  // Half away from zero for the non-negative values here.
  static int64_t round_div(Wide num, Wide den) {
    Wide q = num / den;
    if ((num % den) * 2 >= den) ++q;
    return static_cast<int64_t>(q);
  }
  Valuation valuation(int64_t movements) const {
    const int64_t on_hand = piece * static_cast<int64_t>(costs.size());
    Valuation v;
    v.on_hand = Decimal::from_mantissa(on_hand);
    v.fifo_value = Decimal::from_mantissa(round_div(value, 10000));
    v.average_cost = Decimal::from_mantissa(on_hand ? round_div(value, on_hand) : 0);
    v.movements = movements;
    return v;
  }
};

TEST(FifoReplay, RandomLedgersMatchTheUnitPieceReference) {
  // Piece sizes: whole units, quarters, and ten-thousandths (the finest a Decimal has).
  const int64_t pieces[] = {10000, 2500, 1, 7};
  for (uint32_t seed = 1; seed <= 400; ++seed) {
    std::mt19937 rng(seed);
    const int64_t piece = pieces[seed % 4];
    const int64_t max_pieces = piece >= 2500 ? 40 : 300;
    Reference ref{piece, {}, 0};
    FifoLayers layers;
    std::vector<Movement> ledger;
    int64_t on_hand_pieces = 0;
    const int steps = 1 + static_cast<int>(rng() % 120);
    for (int s = 0; s < steps; ++s) {
      Movement m;
      const uint32_t kind = rng() % 10;
      if (kind < 5 || on_hand_pieces == 0) {
        const int64_t n = 1 + static_cast<int64_t>(rng() % max_pieces);
        // Costs with 4 fraction digits, so quantity × cost needs up to 8 and rounding matters.
        m = {Decimal::from_mantissa(n * piece),
             Decimal::from_mantissa(static_cast<int64_t>(rng() % 10'000'000))};
        on_hand_pieces += n;
      } else if (kind < 9) {
        const int64_t n = 1 + static_cast<int64_t>(rng() % on_hand_pieces);
        m = {Decimal::from_mantissa(-n * piece),
             Decimal::from_mantissa(static_cast<int64_t>(rng() % 10'000'000))};
        on_hand_pieces -= n;
      } else {
        m = {Decimal(), Decimal::from_units(1)};
      }
      ref.apply(m);
      layers.apply(m.quantity, m.unit_cost);
      ledger.push_back(m);
      const Valuation want = ref.valuation(s + 1), got = layers.valuation();
      ASSERT_EQ(got.on_hand, want.on_hand) << "seed " << seed << " step " << s;
      ASSERT_EQ(got.fifo_value, want.fifo_value) << "seed " << seed << " step " << s;
      ASSERT_EQ(got.average_cost, want.average_cost) << "seed " << seed << " step " << s;
      ASSERT_EQ(got.movements, want.movements);
    }
    const Valuation replayed = replay_fifo(ledger), want = ref.valuation(steps);
    EXPECT_EQ(replayed.fifo_value, want.fifo_value) << "seed " << seed;
    EXPECT_EQ(replayed.on_hand, want.on_hand) << "seed " << seed;
  }
}

}  // namespace
}  // namespace unity::jobs
