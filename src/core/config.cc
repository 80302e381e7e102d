#include "core/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "core/secretbox.h"
#include "core/text.h"

extern char** environ;  // POSIX: the process environment

namespace unity {
namespace {

constexpr size_t kMaxIdentifierLength = 63;  // PostgreSQL's NAMEDATALEN - 1
constexpr const char* kDefaultSqlitePath = "storage/unity.sqlite";
constexpr const char* kDefaultPgDatabase = "unity";

bool is_identifier(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

const std::string* find(const std::map<std::string, std::string>& vars, const char* name) {
  const auto it = vars.find(name);
  return it == vars.end() ? nullptr : &it->second;
}

// A plain string; an empty value counts as unset (keeps the default in `out`).
void read_string(const std::map<std::string, std::string>& vars, const char* name,
                 std::string& out) {
  if (const std::string* value = find(vars, name); value && !value->empty()) out = *value;
}

// One of two words; anything else (empty too) is an error naming the variable.
template <typename Enum>
void read_choice(const std::map<std::string, std::string>& vars, const char* name,
                 const char* first, Enum first_value, const char* second, Enum second_value,
                 Enum& out) {
  const std::string* value = find(vars, name);
  if (!value) return;
  if (*value == first) {
    out = first_value;
  } else if (*value == second) {
    out = second_value;
  } else {
    throw invalid_argument(std::string(name) + " must be \"" + first + "\" or \"" + second +
                           "\", got " + quote_for_message(*value));
  }
}

void read_int(const std::map<std::string, std::string>& vars, const char* name, int low, int high,
              int& out) {
  const std::string* value = find(vars, name);
  if (!value) return;
  int64_t parsed = 0;
  const char* end = value->data() + value->size();
  const auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
  if (value->empty() || ec != std::errc() || ptr != end || parsed < low || parsed > high) {
    throw invalid_argument(std::string(name) + " must be an integer from " + std::to_string(low) +
                           " to " + std::to_string(high) + ", got " + quote_for_message(*value));
  }
  out = static_cast<int>(parsed);
}

void read_identifier(const std::map<std::string, std::string>& vars, const char* name,
                     std::string& out) {
  const std::string* value = find(vars, name);
  if (!value) return;
  if (!is_identifier(*value) || value->size() > kMaxIdentifierLength) {
    throw invalid_argument(std::string(name) +
                           " must be an SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 "
                           "characters), got " +
                           quote_for_message(*value));
  }
  out = *value;
}

// One SYNC_ALLOWED_HOSTS entry: a name, an IPv4 address or an [IPv6 address], then an optional
// :port.
Config::AllowedHost parse_allowed_host(std::string_view entry) {
  const auto fail = [&entry](const std::string& why) {
    return invalid_argument("SYNC_ALLOWED_HOSTS: " + quote_for_message(std::string(entry)) + " " +
                            why + " (expected host or host:port, separated by commas)");
  };
  std::string_view host = entry;
  std::optional<std::string_view> port;
  if (entry.starts_with('[')) {
    const size_t close = entry.find(']');
    if (close == std::string_view::npos) throw fail("has no closing ]");
    host = entry.substr(1, close - 1);
    const std::string_view after = entry.substr(close + 1);
    if (!after.empty() && !after.starts_with(':')) throw fail("has text after ]");
    if (!after.empty()) port = after.substr(1);
    if (host.empty() || host.find_first_not_of("0123456789abcdefABCDEF:.") != host.npos) {
      throw fail("is not an IPv6 address in brackets");
    }
  } else {
    if (const size_t colon = entry.find(':'); colon != std::string_view::npos) {
      host = entry.substr(0, colon);
      port = entry.substr(colon + 1);
    }
    constexpr std::string_view kNameChars =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_";
    if (host.empty() || host.size() > 253 || host.find_first_not_of(kNameChars) != host.npos) {
      throw fail("is not a host name");
    }
  }
  Config::AllowedHost out;
  if (port) {
    const char* end = port->data() + port->size();
    const auto [ptr, ec] = std::from_chars(port->data(), end, out.port);
    if (port->empty() || ec != std::errc() || ptr != end || out.port < 1 || out.port > 65535) {
      throw fail("has a port that is not 1 to 65535");
    }
  }
  out.host = ascii_lower(host);
  return out;
}

void read_allowed_hosts(const std::map<std::string, std::string>& vars,
                        std::vector<Config::AllowedHost>& out) {
  const std::string* value = find(vars, "SYNC_ALLOWED_HOSTS");
  if (!value) return;
  std::string_view rest = *value;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (!entry.empty()) out.push_back(parse_allowed_host(entry));
  }
}

// APP_KEY and APP_PREVIOUS_KEYS (comma-separated, blanks around commas allowed); an empty value
// counts as unset.
void read_app_keys(const std::map<std::string, std::string>& vars, Config& c) {
  if (const std::string* key = find(vars, "APP_KEY"); key && !key->empty()) {
    c.app_key = secretbox::decode_key(*key, "APP_KEY");
  }
  const std::string* value = find(vars, "APP_PREVIOUS_KEYS");
  if (!value) return;
  std::string_view rest = *value;
  for (int n = 1; !rest.empty(); ++n) {
    const size_t comma = rest.find(',');
    std::string_view entry = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry.empty()) continue;
    c.app_previous_keys.push_back(
        secretbox::decode_key(entry, "APP_PREVIOUS_KEYS (entry " + std::to_string(n) + ")"));
  }
}

// libpq key=value quoting: '...' with backslash and single quote escaped.
std::string libpq_quote(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// The file's contents, or nullopt if it does not exist. Throws if it exists but cannot be read.
std::optional<std::string> read_file_if_exists(const std::string& path) {
  const auto fail = [&path] {
    return invalid_argument("cannot read " + path + ": " +
                            std::error_code(errno, std::generic_category()).message());
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::nullopt;
    throw fail();
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const Error error = fail();
      ::close(fd);
      throw error;
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

// --- Redaction ---------------------------------------------------------------------------------

constexpr std::string_view kMask = "***";

struct Span {
  size_t begin, end;  // [begin, end) of a secret in the text
};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The passwords of URIs' user info: "scheme://user:SECRET@host". The authority runs to the next
// blank or quote; its last '@' ends the user info (a password may hold '/' or '@').
void find_uri_passwords(std::string_view text, std::vector<Span>& out) {
  for (size_t at = text.find("://"); at != std::string_view::npos; at = text.find("://", at + 3)) {
    const size_t start = at + 3;
    size_t end = start;
    while (end < text.size() && !is_blank(text[end]) && text[end] != '"' && text[end] != '\'') {
      ++end;
    }
    const size_t last_at = text.substr(start, end - start).rfind('@');
    if (last_at == std::string_view::npos) continue;
    const size_t colon = text.substr(start, last_at).find(':');
    if (colon == std::string_view::npos) continue;
    out.push_back({start + colon + 1, start + last_at});
  }
}

// The values of keys containing "password": key = 'quoted \' value' or key=unquoted (to a blank,
// '&' or a quote).
void find_password_values(std::string_view text, std::vector<Span>& out) {
  constexpr std::string_view kKey = "password";
  for (size_t i = 0; i + kKey.size() <= text.size(); ++i) {
    bool match = true;
    for (size_t k = 0; k < kKey.size() && match; ++k) match = lower(text[i + k]) == kKey[k];
    if (!match) continue;
    size_t pos = i + kKey.size();
    while (pos < text.size() && is_blank(text[pos])) ++pos;
    if (pos >= text.size() || text[pos] != '=') continue;
    ++pos;
    while (pos < text.size() && is_blank(text[pos])) ++pos;
    size_t end = pos;
    if (pos < text.size() && text[pos] == '\'') {
      end = ++pos;
      while (end < text.size() && text[end] != '\'') end += text[end] == '\\' ? 2 : 1;
      end = std::min(end, text.size());
    } else {
      while (end < text.size() && !is_blank(text[end]) && text[end] != '&' && text[end] != '"' &&
             text[end] != '\'') {
        ++end;
      }
    }
    if (end > pos) out.push_back({pos, end});
    i = end > i ? end - 1 : i;
  }
}

std::vector<Span> secret_spans(std::string_view text) {
  std::vector<Span> spans;
  find_uri_passwords(text, spans);
  find_password_values(text, spans);
  return spans;
}

// "%41b" -> "Ab"; malformed escapes stay as written.
std::string percent_decoded(std::string_view s) {
  std::string out;
  const auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "a\\'b" -> "a'b" (libpq's quoted values).
std::string backslash_unescaped(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

std::string replace_all(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (size_t at = text.find(secret); at != std::string::npos;
       at = text.find(secret, at + kMask.size())) {
    text.replace(at, secret.size(), kMask);
  }
  return text;
}

}  // namespace

std::string redact_secrets(std::string_view text) {
  std::vector<Span> spans = secret_spans(text);
  std::sort(spans.begin(), spans.end(), [](Span a, Span b) { return a.begin < b.begin; });
  std::string out;
  size_t copied = 0;
  for (const Span& s : spans) {
    if (s.begin < copied) continue;  // overlaps one already masked
    out.append(text.substr(copied, s.begin - copied));
    out.append(kMask);
    copied = s.end;
  }
  out.append(text.substr(std::min(copied, text.size())));
  return out;
}

std::string redact_conninfo(std::string_view text, std::string_view conninfo) {
  std::string out(text);
  for (const Span& s : secret_spans(conninfo)) {
    const std::string_view raw = conninfo.substr(s.begin, s.end - s.begin);
    for (const std::string& secret :
         {std::string(raw), percent_decoded(raw), backslash_unescaped(raw)}) {
      out = replace_all(std::move(out), secret);
    }
  }
  return redact_secrets(out);
}

Config Config::from_vars(const std::map<std::string, std::string>& vars) {
  Config c;
  read_choice(vars, "DB_CONNECTION", "sqlite", DbConnection::kSqlite, "pgsql", DbConnection::kPgsql,
              c.db_connection);
  read_string(vars, "DB_DATABASE", c.db_database);
  read_string(vars, "DB_URL", c.db_url);
  read_string(vars, "DB_HOST", c.db_host);
  read_int(vars, "DB_PORT", 1, 65535, c.db_port);
  read_string(vars, "DB_USERNAME", c.db_username);
  read_string(vars, "DB_PASSWORD", c.db_password);
  read_identifier(vars, "DB_APP_ROLE", c.db_app_role);
  read_int(vars, "DB_BUSY_TIMEOUT_MS", 0, 600000, c.db_busy_timeout_ms);
  read_choice(vars, "QUEUE_CONNECTION", "database", QueueConnection::kDatabase, "sync",
              QueueConnection::kSync, c.queue_connection);
  read_identifier(vars, "DB_QUEUE_TABLE", c.queue_table);
  if (const std::string* queue = find(vars, "DB_QUEUE")) {
    if (queue->empty()) throw invalid_argument("DB_QUEUE must not be empty");
    c.queue_default = *queue;
  }
  read_int(vars, "DB_QUEUE_RETRY_AFTER", 1, 86400, c.queue_retry_after_s);
  read_int(vars, "QUEUE_WORKER_HEARTBEAT_MS", 100, 600000, c.queue_worker_heartbeat_ms);
  read_int(vars, "QUEUE_KEEP_COMPLETED_MINUTES", 0, 525600, c.queue_keep_completed_minutes);
  read_string(vars, "STORAGE_PATH", c.storage_path);
  read_string(vars, "SYNC_TOKEN", c.sync_token);
  read_allowed_hosts(vars, c.sync_allowed_hosts);
  read_int(vars, "SYNC_MAX_RESPONSE_MB", 1, 1024, c.sync_max_response_mb);
  read_int(vars, "IMPORT_MAX_COLUMNS", 1, 100000, c.import_max_columns);
  read_int(vars, "IMPORT_MAX_MB", 1, 1024, c.import_max_mb);
  read_string(vars, "OTEL_EXPORTER_OTLP_ENDPOINT", c.otel_endpoint);
  if (!c.otel_endpoint.empty()) {
    if (!c.otel_endpoint.starts_with("http://") && !c.otel_endpoint.starts_with("https://")) {
      throw invalid_argument(
          "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL, got \"" +
          c.otel_endpoint + "\"");
    }
    while (c.otel_endpoint.ends_with('/')) c.otel_endpoint.pop_back();
  }
  read_app_keys(vars, c);
  c.raw = vars;
  return c;
}

Config Config::load(const std::string& dir) {
  std::map<std::string, std::string> vars;
  const std::string path = dir + "/.env";
  if (const auto text = read_file_if_exists(path)) vars = parse_dotenv(*text, path);
  for (char** entry = environ; entry && *entry; ++entry) {
    const std::string_view pair(*entry);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    vars[std::string(pair.substr(0, eq))] = std::string(pair.substr(eq + 1));
  }
  return from_vars(vars);
}

std::string Config::postgres_conninfo() const {
  if (!db_url.empty()) return db_url;
  std::string out =
      "host=" + libpq_quote(db_host) + " port=" + libpq_quote(std::to_string(db_port));
  out += " dbname=" + libpq_quote(db_database.empty() ? kDefaultPgDatabase : db_database);
  if (!db_username.empty()) out += " user=" + libpq_quote(db_username);
  if (!db_password.empty()) out += " password=" + libpq_quote(db_password);
  return out;
}

std::string Config::redact(std::string_view text) const {
  std::string out = redact_conninfo(text, postgres_conninfo());
  out = replace_all(std::move(out), db_password);
  if (!app_key.empty()) out = replace_all(std::move(out), secretbox::encode_key(app_key).substr(7));
  for (const std::string& key : app_previous_keys) {
    out = replace_all(std::move(out), secretbox::encode_key(key).substr(7));
  }
  return replace_all(std::move(out), sync_token);
}

std::string Config::sqlite_path() const {
  if (db_connection == DbConnection::kSqlite && !db_database.empty()) return db_database;
  return kDefaultSqlitePath;
}

}  // namespace unity
