#pragma once
// A result row: typed access by column index or name. Rows own their values; a Rows object owns
// the column names they share. Access errors (bad index, unknown column, NULL read as non-optional,
// text that is not a number) throw Error(kInternal): they are bugs in the caller's SQL, not input.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/value.h"

namespace unity::db {

class Row {
 public:
  Row(std::shared_ptr<const std::vector<std::string>> columns, std::vector<Value> values)
      : columns_(std::move(columns)), values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const std::vector<std::string>& columns() const { return *columns_; }
  const Value& value(size_t i) const;
  const Value& value(std::string_view column) const;
  size_t index_of(std::string_view column) const;  // throws kInternal if unknown

  bool is_null(size_t i) const { return std::holds_alternative<std::monostate>(value(i)); }
  bool is_null(std::string_view c) const { return is_null(index_of(c)); }

  // T is int64_t, int, bool, double, std::string, or std::optional of one of them.
  template <typename T>
  T get(size_t i) const;
  template <typename T>
  T get(std::string_view column) const {
    return get<T>(index_of(column));
  }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<Value> values_;
};

// A whole result set in memory. For large scans use Connection::query_each.
class Rows {
 public:
  Rows() = default;
  explicit Rows(std::vector<Row> rows) : rows_(std::move(rows)) {}
  size_t size() const { return rows_.size(); }
  bool empty() const { return rows_.empty(); }
  const Row& operator[](size_t i) const { return rows_[i]; }
  const Row& front() const { return rows_.front(); }
  auto begin() const { return rows_.begin(); }
  auto end() const { return rows_.end(); }

 private:
  std::vector<Row> rows_;
};

// Converts one cell; declared here so both Row::get and the drivers share the rules.
int64_t value_as_int(const Value& v, std::string_view what);
double value_as_double(const Value& v, std::string_view what);
std::string value_as_string(const Value& v);
std::string value_debug_string(const Value& v);

template <>
int64_t Row::get<int64_t>(size_t i) const;
template <>
int Row::get<int>(size_t i) const;
template <>
bool Row::get<bool>(size_t i) const;
template <>
double Row::get<double>(size_t i) const;
template <>
std::string Row::get<std::string>(size_t i) const;
template <>
std::optional<int64_t> Row::get<std::optional<int64_t>>(size_t i) const;
template <>
std::optional<double> Row::get<std::optional<double>>(size_t i) const;
template <>
std::optional<std::string> Row::get<std::optional<std::string>>(size_t i) const;

}  // namespace unity::db
