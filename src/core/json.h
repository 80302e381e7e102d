#pragma once
// JSON helpers on nlohmann/json: parsing with errors a person can act on, typed field access that
// names the field, decimals as strings (DESIGN.md: "Decimals are strings").
//
// Includes the full <nlohmann/json.hpp> (every caller needs the complete type anyway); include
// this header only where JSON is used, and link nlohmann_json::nlohmann_json yourself.
// Thread-safety: free functions without shared state.
// Errors: everything throws Error(kInvalidArgument); field errors name the field.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/decimal.h"

namespace unity {

// The deepest nesting of arrays and objects parse_json accepts. Parsing itself would not
// overflow the stack (nlohmann's parser and destructor are iterative), but copying, comparing
// and dumping a value recurse once per level: a document 100,000 levels deep crashed a worker.
// Real documents (domain input, payloads, pages of records) nest a handful of levels.
inline constexpr int kMaxJsonDepth = 128;

// How parse_json reads and words its errors.
struct JsonParseOptions {
  int max_depth = kMaxJsonDepth;
  // Quote (up to 32 bytes of) the text near a syntax error in the message. Off for text from
  // another system (an HTTP body), whose content must not reach logs or tables.
  bool quote_input = true;
};

// Every JSON text that comes from outside (the command line, job payloads, HTTP bodies) is read
// through parse_json, parse_json_object or require_json_object, never nlohmann::json::parse
// directly, so that no input nests deeper than the limit.
//
// Checks that `text` is one JSON object without building it (cheaper than parse_json_object
// where only validity matters). Throws like parse_json_object.
void require_json_object(std::string_view text, std::string_view what);

// Parses a complete JSON text (no trailing content, no comments). `what` names the text in the
// error: "<what> is not valid JSON: parse error at line 1, column 3: ...". A text nesting arrays
// and objects deeper than `options.max_depth` is refused before it is built: "<what> is nested
// too deeply: more than 128 levels of arrays and objects". Both are kInvalidArgument.
nlohmann::json parse_json(std::string_view text, std::string_view what,
                          const JsonParseOptions& options = {});
// As parse_json, and the value must be an object: "<what> must be a JSON object, got array".
nlohmann::json parse_json_object(std::string_view text, std::string_view what,
                                 const JsonParseOptions& options = {});

// Field access on a JSON object. If `object` is not an object they throw "expected a JSON object,
// got <type>". A missing field throws "field \"sku\" is missing"; a wrong type throws
// "field \"sku\" must be a string, got number". The optional_* accessors return nullopt for a
// missing field or null, and throw for any other wrong type.
std::string require_string(const nlohmann::json& object, std::string_view field);
std::optional<std::string> optional_string(const nlohmann::json& object, std::string_view field);
// An integral JSON number that fits int64_t; floats (3.0 too) and strings are rejected.
int64_t require_int(const nlohmann::json& object, std::string_view field);
std::optional<int64_t> optional_int(const nlohmann::json& object, std::string_view field);
// A string Decimal::parse accepts ("12.50") or an integral number (12); a float (12.5) is rejected
// with a message saying decimals are strings. Parse errors are prefixed with the field name.
Decimal require_decimal(const nlohmann::json& object, std::string_view field);
std::optional<Decimal> optional_decimal(const nlohmann::json& object, std::string_view field);

// Appends `text` as a JSON string literal (quotes included), escaped exactly as nlohmann's
// dump() escapes valid UTF-8: `"`, `\\`, \b \f \n \r \t, other control characters as \u00XX,
// everything else (UTF-8 included) as is. For hand-written JSON on hot paths; `text` must be
// valid UTF-8.
void append_json_string(std::string& out, std::string_view text);

// Compact text (no spaces). Invalid UTF-8 in strings is replaced with U+FFFD instead of throwing.
std::string dump_json(const nlohmann::json& value);

// nlohmann ADL hooks. `json j = price;` stores the string to_string() gives ("12.50");
// `j.get<Decimal>()` accepts what require_decimal accepts (its errors say "JSON decimal").
void to_json(nlohmann::json& out, const Decimal& value);
void from_json(const nlohmann::json& in, Decimal& value);

}  // namespace unity
