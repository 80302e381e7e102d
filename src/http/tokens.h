#pragma once
// API tokens for `unity serve` (DESIGN.md "The HTTP server", Authentication).
//
// A tenant token acts as one user of one tenant; an operator token reaches the queue across
// tenants and no tenant's business data. A token is shown once, when it is created:
//   tenant token    "uty_<tenant id>_<token id>_<secret>"
//   operator token  "uto_<token id>_<secret>"
// where <secret> is 256 bits from the operating system (libsodium's randombytes), base64url
// without padding. Only the SHA-256 of the secret is stored (`api_tokens`, a tenant table under
// row-level security, and `operator_tokens`); authenticate() finds the row by its ids and compares
// the hashes in constant time. The ids in the token only say where to look: a token whose secret
// does not match is refused like an unknown one.
//
// Threading: free functions over the connection they are given (one thread at a time).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "db/connection.h"

namespace unity::http {

struct TokenInfo {
  int64_t id = 0;
  std::optional<int64_t> tenant_id;  // nullopt for an operator token
  std::optional<int64_t> user_id;
  std::string name;
  std::optional<std::string> expires_at, revoked_at, last_used_at;
  std::string created_at;
};

struct CreatedToken {
  TokenInfo info;
  std::string token;  // the secret, shown once
};

// Creates a token for `user_id` of the connection's tenant (kNotFound for another tenant's or
// an unknown user; kInvalidArgument for an empty or over-200-character name or expires_days
// outside 1..3650). `expires_days` nullopt: never expires.
CreatedToken create_user_token(db::Connection& conn, int64_t user_id, const std::string& name,
                               std::optional<int> expires_days, const Clock& clock);
// Creates an operator token (no tenant context needed).
CreatedToken create_operator_token(db::Connection& conn, const std::string& name,
                                   std::optional<int> expires_days, const Clock& clock);
// The connection's tenant's tokens, newest first (never their secrets).
std::vector<TokenInfo> list_tokens(db::Connection& conn);
// Revokes token `id` of the connection's tenant (kNotFound otherwise, also for another tenant's);
// refused from the next request on. Revoking twice is fine.
TokenInfo revoke_token(db::Connection& conn, int64_t id, const Clock& clock);

// Who a request acts as.
struct Principal {
  bool operator_token = false;
  int64_t token_id = 0;
  int64_t tenant_id = 0;   // 0 for an operator
  int64_t user_id = 0;     // 0 for an operator
  std::string role;        // the user's role ("admin", ...); "" for an operator
  bool touch_due = false;  // last_used_at is older than a minute: record the use
};

// Checks a presented token. nullopt for a malformed, unknown, revoked or expired token, or a
// wrong secret (the caller answers 401 in every case). Leaves the connection's tenant set to the
// token's tenant for a tenant token, and unset for an operator token.
std::optional<Principal> authenticate(db::Connection& conn, const std::string& token,
                                      const Clock& clock);
// Records that the token was used now (last_used_at), in the token's tenant context.
void touch_token(db::Connection& conn, const Principal& p, const Clock& clock);

}  // namespace unity::http
