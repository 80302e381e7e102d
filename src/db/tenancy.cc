#include "db/tenancy.h"

#include <algorithm>

#include "core/clock.h"
#include "core/error.h"

namespace unity::db {

namespace {

Tenant tenant_from(const Row& r) {
  return {r.get<int64_t>("id"), r.get<std::string>("name"), r.get<int>("weight"),
          r.get<std::string>("created_at")};
}

User user_from(const Row& r) {
  return {r.get<int64_t>("id"),        r.get<int64_t>("tenant_id"),
          r.get<std::string>("email"), r.get<std::string>("name"),
          r.get<std::string>("role"),  r.get<std::string>("created_at")};
}

bool looks_like_email(const std::string& email) {
  auto at = email.find('@');
  return at != std::string::npos && at > 0 && at + 1 < email.size() &&
         email.find('@', at + 1) == std::string::npos && email.size() <= 254 &&
         std::none_of(email.begin(), email.end(), [](char c) { return c == ' ' || c == '\n'; });
}

}  // namespace

bool is_valid_role(std::string_view role) {
  return std::any_of(std::begin(kRoles), std::end(kRoles),
                     [&](const char* r) { return role == r; });
}

Tenant create_tenant(Connection& conn, const std::string& name) {
  if (name.empty() || name.size() > 200) {
    throw invalid_argument("tenant name must be 1 to 200 characters");
  }
  const std::string now = format_iso8601(system_clock().now());
  auto row = conn.query_one(
      "INSERT INTO tenants (name, weight, created_at, updated_at) VALUES ($1, 1, $2, $2) "
      "RETURNING id, name, weight, created_at",
      {name, now});
  return tenant_from(*row);
}

Tenant find_tenant(Connection& conn, int64_t id) {
  auto row = conn.query_one("SELECT id, name, weight, created_at FROM tenants WHERE id = $1", {id});
  if (!row) throw not_found("tenant " + std::to_string(id) + " not found");
  return tenant_from(*row);
}

std::vector<Tenant> list_tenants(Connection& conn) {
  std::vector<Tenant> out;
  conn.query_each("SELECT id, name, weight, created_at FROM tenants ORDER BY id", {},
                  [&](const Row& r) { out.push_back(tenant_from(r)); });
  return out;
}

User create_user(Connection& conn, const std::string& email, const std::string& name,
                 const std::string& role) {
  const int64_t tenant = conn.require_tenant();
  if (!looks_like_email(email)) throw invalid_argument("invalid email '" + email + "'");
  if (name.empty() || name.size() > 200)
    throw invalid_argument("user name must be 1 to 200 characters");
  if (!is_valid_role(role)) {
    throw invalid_argument("unknown role '" + role +
                           "' (roles: admin, manager, inventory, sales, billing, procurement)");
  }
  find_tenant(conn, tenant);
  const std::string now = format_iso8601(system_clock().now());
  try {
    auto row = conn.query_one(
        "INSERT INTO users (tenant_id, email, name, role, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $5) RETURNING id, tenant_id, email, name, role, created_at",
        {tenant, email, name, role, now});
    return user_from(*row);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kAlreadyExists) {
      throw already_exists("a user with email '" + email + "' already exists in tenant " +
                           std::to_string(tenant));
    }
    throw;
  }
}

User find_user(Connection& conn, int64_t id) {
  const int64_t tenant = conn.require_tenant();
  auto row = conn.query_one(
      "SELECT id, tenant_id, email, name, role, created_at FROM users "
      "WHERE id = $1 AND tenant_id = $2",
      {id, tenant});
  if (!row)
    throw not_found("user " + std::to_string(id) + " not found in tenant " +
                    std::to_string(tenant));
  return user_from(*row);
}

std::vector<User> list_users(Connection& conn) {
  const int64_t tenant = conn.require_tenant();
  std::vector<User> out;
  conn.query_each(
      "SELECT id, tenant_id, email, name, role, created_at FROM users WHERE tenant_id = $1 "
      "ORDER BY id",
      {tenant}, [&](const Row& r) { out.push_back(user_from(r)); });
  return out;
}

}  // namespace unity::db
