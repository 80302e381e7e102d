#pragma once
// The VALUES list of a multi-row INSERT: `rows` groups of `width` numbered placeholders, in
// order from $first, each group wrapped as "(<prefix>$k, …, $k+width-1<suffix>)". E.g.
// values_sql(2, 2, 3, "$1, ", ", $2") is "($1, $3, $4, $2), ($1, $5, $6, $2)": $1 and $2 are
// shared by every row, the rest bound row by row. Small enough to stay in this header, which
// only the bulk writers include.

#include <cstddef>
#include <string>
#include <string_view>

namespace unity::db {

inline std::string values_sql(size_t rows, size_t width, size_t first, std::string_view prefix = {},
                              std::string_view suffix = {}) {
  std::string out;
  size_t n = first;
  for (size_t r = 0; r < rows; ++r) {
    out += r == 0 ? "(" : ", (";
    out += prefix;
    for (size_t c = 0; c < width; ++c) out += (c == 0 ? "$" : ", $") + std::to_string(n++);
    out += suffix;
    out += ')';
  }
  return out;
}

}  // namespace unity::db
