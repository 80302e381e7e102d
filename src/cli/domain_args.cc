#include "cli/domain_args.h"

#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "core/json.h"
#include "db/tenancy.h"
#include "erp/erp.h"
#include "events/event_bus.h"
#include "notify/notifier.h"

namespace unity::cli {

void add_domain_options(CLI::App& app, DomainArgs& a, bool needs_data) {
  app.add_option("--tenant", a.tenant, "Tenant id")->required();
  app.add_option("--user", a.user, "Acting user id (must belong to the tenant)");
  auto* data = app.add_option("--data", a.data, "The input, a JSON object; - reads stdin");
  if (needs_data) data->required();
}

Session open_session(Context& ctx, DomainArgs& a) {
  db::Connection& conn = ctx.tenant_app(a.tenant);
  if (a.user) db::find_user(conn, *a.user);
  if (a.data == "-") {
    std::stringstream ss;
    ss << std::cin.rdbuf();
    a.data = ss.str();
  }
  nlohmann::json data =
      a.data.empty() ? nlohmann::json::object() : parse_json_object(a.data, "--data");
  erp::wire_erp(ctx.bus(), ctx.notifier());
  return {conn, a.user, std::move(data)};
}

}  // namespace unity::cli
