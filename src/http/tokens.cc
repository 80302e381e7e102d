#include "http/tokens.h"

#include <sodium.h>

#include <charconv>
#include <chrono>

#include "core/error.h"
#include "db/tenancy.h"
#include "db/transaction.h"

namespace unity::http {

namespace {

constexpr std::string_view kUserPrefix = "uty_";
constexpr std::string_view kOperatorPrefix = "uto_";
constexpr size_t kSecretBytes = 32;  // 256 bits
constexpr auto kTouchEvery = std::chrono::minutes(1);

void init_sodium() {
  if (sodium_init() < 0) throw internal_error("libsodium could not be initialised");
}

std::string new_secret() {
  init_sodium();
  unsigned char raw[kSecretBytes];
  randombytes_buf(raw, sizeof raw);
  char text[sodium_base64_ENCODED_LEN(kSecretBytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(text, sizeof text, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return text;
}

std::string hash_hex(std::string_view secret) {
  init_sodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool same_hash(const std::string& a, const std::string& b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() > 200) {
    throw invalid_argument("a token's name must be 1 to 200 characters");
  }
}

std::optional<std::string> expiry(std::optional<int> days, const Clock& clock) {
  if (!days) return std::nullopt;
  if (*days < 1 || *days > 3650) throw invalid_argument("--expires-days must be 1..3650");
  return format_iso8601(clock.now() + std::chrono::hours(24) * *days);
}

std::optional<int64_t> parse_id(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

TokenInfo user_token_from(const db::Row& r) {
  return {r.get<int64_t>("id"),
          r.get<int64_t>("tenant_id"),
          r.get<int64_t>("user_id"),
          r.get<std::string>("name"),
          r.get<std::optional<std::string>>("expires_at"),
          r.get<std::optional<std::string>>("revoked_at"),
          r.get<std::optional<std::string>>("last_used_at"),
          r.get<std::string>("created_at")};
}

constexpr const char* kUserColumns =
    "id, tenant_id, user_id, name, expires_at, revoked_at, last_used_at, created_at";

bool usable(const std::optional<std::string>& revoked_at,
            const std::optional<std::string>& expires_at, const Clock& clock) {
  if (revoked_at) return false;
  return !expires_at || parse_iso8601(*expires_at) > clock.now();
}

bool touch_due(const std::optional<std::string>& last_used_at, const Clock& clock) {
  return !last_used_at || parse_iso8601(*last_used_at) + kTouchEvery <= clock.now();
}

}  // namespace

CreatedToken create_user_token(db::Connection& conn, int64_t user_id, const std::string& name,
                               std::optional<int> expires_days, const Clock& clock) {
  check_name(name);
  const auto expires = expiry(expires_days, clock);
  const int64_t tenant = conn.require_tenant();
  db::Transaction tx(conn);
  db::find_user(conn, user_id);
  const std::string secret = new_secret();
  auto row = conn.query_one(
      std::string("INSERT INTO api_tokens (tenant_id, user_id, name, secret_hash, expires_at,"
                  " created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ") +
          kUserColumns,
      {tenant, user_id, name, hash_hex(secret), db::opt_value(expires),
       format_iso8601(clock.now())});
  tx.commit();
  TokenInfo info = user_token_from(*row);
  return {info, std::string(kUserPrefix) + std::to_string(tenant) + "_" + std::to_string(info.id) +
                    "_" + secret};
}

CreatedToken create_operator_token(db::Connection& conn, const std::string& name,
                                   std::optional<int> expires_days, const Clock& clock) {
  check_name(name);
  const auto expires = expiry(expires_days, clock);
  const std::string secret = new_secret();
  auto row = conn.query_one(
      "INSERT INTO operator_tokens (name, secret_hash, expires_at, created_at)"
      " VALUES ($1, $2, $3, $4) RETURNING id, name, expires_at, created_at",
      {name, hash_hex(secret), db::opt_value(expires), format_iso8601(clock.now())});
  TokenInfo info;
  info.id = row->get<int64_t>("id");
  info.name = row->get<std::string>("name");
  info.expires_at = row->get<std::optional<std::string>>("expires_at");
  info.created_at = row->get<std::string>("created_at");
  return {info, std::string(kOperatorPrefix) + std::to_string(info.id) + "_" + secret};
}

std::vector<TokenInfo> list_tokens(db::Connection& conn) {
  std::vector<TokenInfo> out;
  conn.query_each(std::string("SELECT ") + kUserColumns +
                      " FROM api_tokens WHERE tenant_id = $1 ORDER BY id DESC",
                  {conn.require_tenant()},
                  [&](const db::Row& r) { out.push_back(user_token_from(r)); });
  return out;
}

TokenInfo revoke_token(db::Connection& conn, int64_t id, const Clock& clock) {
  const int64_t tenant = conn.require_tenant();
  db::Transaction tx(conn);
  conn.execute(
      "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND tenant_id = $2"
      " AND revoked_at IS NULL",
      {id, tenant, format_iso8601(clock.now())});
  auto row = conn.query_one(
      std::string("SELECT ") + kUserColumns + " FROM api_tokens WHERE id = $1 AND tenant_id = $2",
      {id, tenant});
  if (!row) throw not_found("token " + std::to_string(id) + " not found");
  tx.commit();
  return user_token_from(*row);
}

std::optional<Principal> authenticate(db::Connection& conn, const std::string& token,
                                      const Clock& clock) {
  std::string_view t = token;
  Principal p;
  if (t.size() > 256) return std::nullopt;
  if (t.substr(0, kOperatorPrefix.size()) == kOperatorPrefix) {
    t.remove_prefix(kOperatorPrefix.size());
    const auto us = t.find('_');
    if (us == std::string_view::npos) return std::nullopt;
    const auto id = parse_id(t.substr(0, us));
    if (!id) return std::nullopt;
    conn.set_tenant(std::nullopt);
    auto row = conn.query_one(
        "SELECT secret_hash, expires_at, revoked_at, last_used_at FROM operator_tokens"
        " WHERE id = $1",
        {*id});
    if (!row || !same_hash(row->get<std::string>(0), hash_hex(t.substr(us + 1))) ||
        !usable(row->get<std::optional<std::string>>(2), row->get<std::optional<std::string>>(1),
                clock)) {
      return std::nullopt;
    }
    p.operator_token = true;
    p.token_id = *id;
    p.touch_due = touch_due(row->get<std::optional<std::string>>(3), clock);
    return p;
  }
  if (t.substr(0, kUserPrefix.size()) != kUserPrefix) return std::nullopt;
  t.remove_prefix(kUserPrefix.size());
  const auto us1 = t.find('_');
  if (us1 == std::string_view::npos) return std::nullopt;
  const auto us2 = t.find('_', us1 + 1);
  if (us2 == std::string_view::npos) return std::nullopt;
  const auto tenant = parse_id(t.substr(0, us1));
  const auto id = parse_id(t.substr(us1 + 1, us2 - us1 - 1));
  if (!tenant || !id) return std::nullopt;
  conn.set_tenant(*tenant);
  auto row = conn.query_one(
      "SELECT t.secret_hash, t.expires_at, t.revoked_at, t.last_used_at, t.user_id, u.role"
      " FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id"
      " WHERE t.id = $1 AND t.tenant_id = $2",
      {*id, *tenant});
  if (!row || !same_hash(row->get<std::string>(0), hash_hex(t.substr(us2 + 1))) ||
      !usable(row->get<std::optional<std::string>>(2), row->get<std::optional<std::string>>(1),
              clock)) {
    conn.set_tenant(std::nullopt);
    return std::nullopt;
  }
  p.token_id = *id;
  p.tenant_id = *tenant;
  p.user_id = row->get<int64_t>(4);
  p.role = row->get<std::string>(5);
  p.touch_due = touch_due(row->get<std::optional<std::string>>(3), clock);
  return p;
}

void touch_token(db::Connection& conn, const Principal& p, const Clock& clock) {
  const std::string now = format_iso8601(clock.now());
  if (p.operator_token) {
    conn.execute("UPDATE operator_tokens SET last_used_at = $2 WHERE id = $1", {p.token_id, now});
  } else {
    conn.execute("UPDATE api_tokens SET last_used_at = $3 WHERE id = $1 AND tenant_id = $2",
                 {p.token_id, p.tenant_id, now});
  }
}

}  // namespace unity::http
