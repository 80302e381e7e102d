#pragma once
// What every domain command shares (DESIGN.md "The command line"): --tenant, --user (must belong
// to the tenant) and --data='{…}' or --data=- (stdin), and the session they open.

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "db/connection.h"

namespace unity::cli {

struct DomainArgs {
  int64_t tenant = 0;
  std::optional<int64_t> user;
  std::string data;
};

// Adds --tenant (required), --user and --data (required unless `needs_data` is false) to `app`.
void add_domain_options(CLI::App& app, DomainArgs& a, bool needs_data = true);

// The tenant's connection, the checked user and the parsed --data.
struct Session {
  db::Connection& conn;
  std::optional<int64_t> user;
  nlohmann::json data;
};

// Opens the app connection in the tenant (kNotFound for an unknown tenant), checks the user
// belongs to it (kNotFound), reads --data (stdin for "-"; an empty one is {}) as a JSON object
// (kInvalidArgument) and wires the ERP modules on the context's bus.
Session open_session(Context& ctx, DomainArgs& a);

}  // namespace unity::cli
