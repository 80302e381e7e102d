#include "db/row.h"

#include <charconv>
#include <cmath>
#include <string>

#include "core/error.h"

namespace unity::db {

namespace {
template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
}  // namespace

int64_t value_as_int(const Value& v, std::string_view what) {
  return std::visit(
      Overloaded{
          [&](std::monostate) -> int64_t {
            throw internal_error("NULL read as an integer: " + std::string(what));
          },
          [](int64_t i) { return i; },
          [&](double d) -> int64_t {
            if (d != std::floor(d)) throw internal_error("not an integer: " + std::string(what));
            return static_cast<int64_t>(d);
          },
          [&](const std::string& s) -> int64_t {
            int64_t out = 0;
            auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
            if (ec != std::errc() || p != s.data() + s.size()) {
              // PostgreSQL booleans arrive as "t"/"f" in text mode.
              if (s == "t") return 1;
              if (s == "f") return 0;
              throw internal_error("not an integer: " + std::string(what) + " = '" + s + "'");
            }
            return out;
          },
      },
      v);
}

double value_as_double(const Value& v, std::string_view what) {
  return std::visit(Overloaded{
                        [&](std::monostate) -> double {
                          throw internal_error("NULL read as a number: " + std::string(what));
                        },
                        [](int64_t i) { return static_cast<double>(i); },
                        [](double d) { return d; },
                        [&](const std::string& s) -> double {
                          try {
                            size_t used = 0;
                            double d = std::stod(s, &used);
                            if (used == s.size()) return d;
                          } catch (const std::exception&) {
                          }
                          throw internal_error("not a number: " + std::string(what));
                        },
                    },
                    v);
}

std::string value_as_string(const Value& v) {
  return std::visit(Overloaded{
                        [](std::monostate) { return std::string(); },
                        [](int64_t i) { return std::to_string(i); },
                        [](double d) {
                          char buf[64];
                          auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
                          return std::string(buf, p);
                        },
                        [](const std::string& s) { return s; },
                    },
                    v);
}

std::string value_debug_string(const Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return "NULL";
  return value_as_string(v);
}

const Value& Row::value(size_t i) const {
  if (i >= values_.size()) {
    throw internal_error("column index " + std::to_string(i) + " out of range (" +
                         std::to_string(values_.size()) + " columns)");
  }
  return values_[i];
}

const Value& Row::value(std::string_view column) const { return value(index_of(column)); }

size_t Row::index_of(std::string_view column) const {
  const auto& cols = *columns_;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (cols[i] == column) return i;
  }
  throw internal_error("no column '" + std::string(column) + "' in result");
}

namespace {
std::string column_name(const Row& r, size_t i) {
  return i < r.columns().size() ? r.columns()[i] : std::to_string(i);
}
}  // namespace

template <>
int64_t Row::get<int64_t>(size_t i) const {
  return value_as_int(value(i), column_name(*this, i));
}
template <>
int Row::get<int>(size_t i) const {
  return static_cast<int>(get<int64_t>(i));
}
template <>
bool Row::get<bool>(size_t i) const {
  return get<int64_t>(i) != 0;
}
template <>
double Row::get<double>(size_t i) const {
  return value_as_double(value(i), column_name(*this, i));
}
template <>
std::string Row::get<std::string>(size_t i) const {
  if (is_null(i)) throw internal_error("NULL read as text: " + column_name(*this, i));
  return value_as_string(value(i));
}
template <>
std::optional<int64_t> Row::get<std::optional<int64_t>>(size_t i) const {
  if (is_null(i)) return std::nullopt;
  return get<int64_t>(i);
}
template <>
std::optional<double> Row::get<std::optional<double>>(size_t i) const {
  if (is_null(i)) return std::nullopt;
  return get<double>(i);
}
template <>
std::optional<std::string> Row::get<std::optional<std::string>>(size_t i) const {
  if (is_null(i)) return std::nullopt;
  return value_as_string(value(i));
}

}  // namespace unity::db
