// `tenant:create NAME`, `tenant:list`, `user:create`, `user:list`.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "db/tenancy.h"

namespace unity::cli {

namespace {

nlohmann::json to_json(const db::User& u) {
  return {{"id", u.id},     {"tenant_id", u.tenant_id}, {"email", u.email},
          {"name", u.name}, {"role", u.role},           {"created_at", u.created_at}};
}

void define_tenant_create(CLI::App& app, Context& ctx) {
  auto name = std::make_shared<std::string>();
  app.add_option("name", *name, "The tenant's name")->required();
  app.callback([&ctx, name] {
    db::Tenant t = db::create_tenant(ctx.app(), *name);
    ctx.emit({{"id", t.id}, {"name", t.name}, {"weight", t.weight}, {"created_at", t.created_at}},
             "Tenant " + std::to_string(t.id) + " created: " + t.name);
  });
}

void define_tenant_list(CLI::App& app, Context& ctx) {
  app.callback([&ctx] {
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : db::list_tenants(ctx.app())) {
      out.push_back({{"id", t.id}, {"name", t.name}, {"weight", t.weight}});
      rows.push_back({std::to_string(t.id), t.name, std::to_string(t.weight)});
    }
    ctx.emit(out, render_table({"id", "name", "weight"}, rows));
  });
}

struct UserArgs {
  int64_t tenant = 0;
  std::string email, name, role;
};

void define_user_create(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<UserArgs>();
  app.add_option("--tenant", args->tenant, "Tenant id")->required();
  app.add_option("--email", args->email, "Email, unique in the tenant")->required();
  app.add_option("--name", args->name, "Display name")->required();
  app.add_option("--role", args->role, "admin, manager, inventory, sales, billing or procurement")
      ->required();
  app.callback([&ctx, args] {
    db::Connection& conn = ctx.tenant_app(args->tenant);
    db::User u = db::create_user(conn, args->email, args->name, args->role);
    ctx.emit(to_json(u), "User " + std::to_string(u.id) + " created: " + u.email + " (" + u.role +
                             ") in tenant " + std::to_string(u.tenant_id));
  });
}

void define_user_list(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<int64_t>(0);
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.callback([&ctx, tenant] {
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& u : db::list_users(ctx.tenant_app(*tenant))) {
      out.push_back(to_json(u));
      rows.push_back({std::to_string(u.id), u.email, u.name, u.role});
    }
    ctx.emit(out, render_table({"id", "email", "name", "role"}, rows));
  });
}

}  // namespace

void add_tenant_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back(
      {"tenant:create", "Create a tenant (a client company)", with(define_tenant_create)});
  commands.push_back({"tenant:list", "List tenants", with(define_tenant_list)});
  commands.push_back(
      {"user:create", "Create a user of a tenant with a role", with(define_user_create)});
  commands.push_back({"user:list", "List a tenant's users", with(define_user_list)});
}

}  // namespace unity::cli
