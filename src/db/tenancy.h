#pragma once
// Tenants and their users: the set-up records every layer relies on (`tenant:create`,
// `user:create`). Users are tenant rows: every function that touches them requires the
// connection's tenant context (Connection::require_tenant) and only ever sees that tenant's users.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/connection.h"

namespace unity::db {

inline constexpr const char* kRoles[] = {"admin", "manager", "inventory",
                                         "sales", "billing", "procurement"};

struct Tenant {
  int64_t id = 0;
  std::string name;
  int weight = 1;
  std::string created_at;
};

struct User {
  int64_t id = 0;
  int64_t tenant_id = 0;
  std::string email;
  std::string name;
  std::string role;
  std::string created_at;
};

// Creates a tenant; kInvalidArgument for an empty name or one over 200 characters. Outside any
// tenant context: on PostgreSQL a tenant's session may not create tenants (kPermissionDenied),
// and sees only its own row in find_tenant/list_tenants.
Tenant create_tenant(Connection& conn, const std::string& name);
// The tenant, or kNotFound ("tenant 7 not found").
Tenant find_tenant(Connection& conn, int64_t id);
std::vector<Tenant> list_tenants(Connection& conn);

// Creates a user in the connection's tenant. kInvalidArgument for a malformed email, an empty
// name or an unknown role (the message lists the roles); kAlreadyExists for an email already used
// in the tenant; kFailedPrecondition without a tenant context.
User create_user(Connection& conn, const std::string& email, const std::string& name,
                 const std::string& role);
// The user if it belongs to the connection's tenant; kNotFound otherwise (another tenant's user
// is "not found", never "forbidden", so ids do not leak).
User find_user(Connection& conn, int64_t id);
std::vector<User> list_users(Connection& conn);

bool is_valid_role(std::string_view role);

}  // namespace unity::db
