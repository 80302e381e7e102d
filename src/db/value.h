#pragma once
// Values that cross the driver seam: statement parameters and result cells.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace unity::db {

// NULL, an integer, a float, or text. Booleans travel as 0/1 integers; decimals and timestamps as
// text (the drivers store decimals as TEXT on SQLite and NUMERIC on PostgreSQL, timestamps as
// ISO 8601 text on SQLite and TIMESTAMPTZ on PostgreSQL).
using Value = std::variant<std::monostate, int64_t, double, std::string>;

inline const Value kNull{};

// Parameter list for a statement: db::Params{1, "x", db::kNull}.
class Params {
 public:
  Params() = default;
  Params(std::initializer_list<Value> values) : values_(values) {}
  explicit Params(std::vector<Value> values) : values_(std::move(values)) {}

  Params& add(Value v) {
    values_.push_back(std::move(v));
    return *this;
  }
  const std::vector<Value>& values() const { return values_; }
  size_t size() const { return values_.size(); }

 private:
  std::vector<Value> values_;
};

// Helpers so callers can write Params{opt_value(maybe_name)}.
template <typename T>
Value opt_value(const std::optional<T>& v) {
  if (!v) return kNull;
  return Value{*v};
}

}  // namespace unity::db
