#include "core/json.h"

#include <limits>

#include "core/error.h"

namespace unity {
namespace {

using nlohmann::json;

constexpr uint64_t kInt64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

// nlohmann messages start with "[json.exception.parse_error.101] "; people need only the rest.
std::string reason_of(const json::exception& e) {
  const std::string_view text = e.what();
  const size_t end = text.find("] ");
  return std::string(end == std::string_view::npos ? text : text.substr(end + 2));
}

// nlohmann quotes the token it stopped in ("…; last read: '<token>'"), which may be a whole
// megabyte string: keep its first 32 bytes, or drop it when the input must not be echoed.
std::string bounded_reason(std::string reason, bool quote_input) {
  static constexpr std::string_view kMarker = "; last read: '";
  static constexpr size_t kQuoted = 32;
  const size_t start = reason.find(kMarker);
  if (start == std::string::npos) return reason;
  const size_t token = start + kMarker.size();
  size_t end = reason.rfind("'; expected ");
  if (end == std::string::npos || end < token) {
    if (reason.back() != '\'') return reason;
    end = reason.size() - 1;
  }
  const std::string rest = reason.substr(end + 1);
  if (!quote_input) return reason.substr(0, start) + rest;
  if (end - token <= kQuoted) return reason;
  size_t cut = token + kQuoted;
  while (cut > token && (static_cast<unsigned char>(reason[cut]) & 0xC0) == 0x80) --cut;
  return reason.substr(0, cut) + "…'" + rest;
}

// Whether a bracket outside strings opens level `max_depth + 1` of arrays and objects. One pass
// over the text, before anything is built; malformed text is left to the parser.
bool nests_deeper_than(std::string_view text, int max_depth) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    switch (text[i]) {
      case '"':  // skip the string, escapes included
        for (++i; i < text.size() && text[i] != '"'; ++i) {
          if (text[i] == '\\') ++i;
        }
        break;
      case '[':
      case '{':
        if (++depth > max_depth) return true;
        break;
      case ']':
      case '}':
        --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

void check_depth(std::string_view text, std::string_view what, int max_depth) {
  if (nests_deeper_than(text, max_depth)) {
    throw invalid_argument(std::string(what) + " is nested too deeply: more than " +
                           std::to_string(max_depth) + " levels of arrays and objects");
  }
}

std::string field_name(std::string_view field) { return "field \"" + std::string(field) + "\""; }

// `name` is what messages call the value: field_name(field), or "JSON decimal" for from_json.
[[noreturn]] void throw_wrong_type(const std::string& name, std::string_view expected,
                                   const json& got) {
  throw invalid_argument(name + " must be " + std::string(expected) + ", got " + got.type_name());
}

// The field's value, or nullptr when missing.
const json* find_field(const json& object, std::string_view field) {
  if (!object.is_object()) {
    throw invalid_argument(std::string("expected a JSON object, got ") + object.type_name());
  }
  const auto it = object.find(std::string(field));
  return it == object.end() ? nullptr : &*it;
}

const json& require_field(const json& object, std::string_view field) {
  const json* value = find_field(object, field);
  if (!value) throw invalid_argument(field_name(field) + " is missing");
  return *value;
}

// Missing and null both read as absent.
const json* optional_field(const json& object, std::string_view field) {
  const json* value = find_field(object, field);
  return value && !value->is_null() ? value : nullptr;
}

std::string string_value(const json& value, const std::string& name) {
  if (!value.is_string()) throw_wrong_type(name, "a string", value);
  return value.get<std::string>();
}

int64_t int_value(const json& value, const std::string& name) {
  if (value.is_number_integer() && !value.is_number_unsigned()) return value.get<int64_t>();
  if (value.is_number_unsigned() && value.get<uint64_t>() <= kInt64Max) {
    return static_cast<int64_t>(value.get<uint64_t>());
  }
  if (value.is_number_unsigned()) {
    throw invalid_argument(name + " is out of range: " + value.dump());
  }
  throw_wrong_type(name, "an integer", value);
}

Decimal decimal_value(const json& value, const std::string& name) {
  if (value.is_number_float()) {
    throw invalid_argument(name + " must be a decimal string like \"12.50\", got " + value.dump() +
                           " (decimals are strings, never floating point)");
  }
  if (!value.is_number() && !value.is_string()) {
    throw_wrong_type(name, "a decimal string like \"12.50\"", value);
  }
  const int64_t units = value.is_number() ? int_value(value, name) : 0;
  try {
    if (value.is_number()) return Decimal::from_units(units);
    return Decimal::parse(value.get_ref<const std::string&>());
  } catch (const Error& e) {  // Decimal's messages quote the text but cannot name the field
    throw Error(e.code(), name + ": " + e.what());
  }
}

}  // namespace

json parse_json(std::string_view text, std::string_view what, const JsonParseOptions& options) {
  check_depth(text, what, options.max_depth);
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw invalid_argument(std::string(what) + " is not valid JSON: " +
                           bounded_reason(reason_of(e), options.quote_input));
  }
}

json parse_json_object(std::string_view text, std::string_view what,
                       const JsonParseOptions& options) {
  json value = parse_json(text, what, options);
  if (!value.is_object()) {
    throw invalid_argument(std::string(what) + " must be a JSON object, got " + value.type_name());
  }
  return value;
}

std::string require_string(const json& object, std::string_view field) {
  return string_value(require_field(object, field), field_name(field));
}

std::optional<std::string> optional_string(const json& object, std::string_view field) {
  const json* value = optional_field(object, field);
  if (!value) return std::nullopt;
  return string_value(*value, field_name(field));
}

int64_t require_int(const json& object, std::string_view field) {
  return int_value(require_field(object, field), field_name(field));
}

std::optional<int64_t> optional_int(const json& object, std::string_view field) {
  const json* value = optional_field(object, field);
  if (!value) return std::nullopt;
  return int_value(*value, field_name(field));
}

Decimal require_decimal(const json& object, std::string_view field) {
  return decimal_value(require_field(object, field), field_name(field));
}

std::optional<Decimal> optional_decimal(const json& object, std::string_view field) {
  const json* value = optional_field(object, field);
  if (!value) return std::nullopt;
  return decimal_value(*value, field_name(field));
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t plain = 0;  // start of the run of characters copied as they are
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
    }
  }
  out.append(text.data() + plain, text.size() - plain);
  out += '"';
}

std::string dump_json(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void to_json(json& out, const Decimal& value) { out = value.to_string(); }

void from_json(const json& in, Decimal& value) { value = decimal_value(in, "JSON decimal"); }

}  // namespace unity

namespace unity {

void require_json_object(std::string_view text, std::string_view what) {
  const auto first = text.find_first_not_of(" \t\r\n");
  check_depth(text, what, kMaxJsonDepth);
  if (first != std::string_view::npos && text[first] == '{' && nlohmann::json::accept(text)) return;
  parse_json_object(text, what);  // throws with the precise reason
}

}  // namespace unity
