// `token:create`, `token:list`, `token:revoke`: the API tokens of `unity serve` (http/tokens.h).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/error.h"
#include "http/tokens.h"

namespace unity::cli {

namespace {

nlohmann::json opt(const std::optional<std::string>& s) {
  return s ? nlohmann::json(*s) : nlohmann::json();
}

nlohmann::json token_json(const http::TokenInfo& t) {
  return {{"id", t.id},
          {"tenant_id", t.tenant_id ? nlohmann::json(*t.tenant_id) : nlohmann::json()},
          {"user_id", t.user_id ? nlohmann::json(*t.user_id) : nlohmann::json()},
          {"name", t.name},
          {"expires_at", opt(t.expires_at)},
          {"revoked_at", opt(t.revoked_at)},
          {"last_used_at", opt(t.last_used_at)},
          {"created_at", t.created_at}};
}

struct CreateArgs {
  std::optional<int64_t> tenant, user;
  bool operator_token = false;
  std::string name;
  std::optional<int> expires_days;
};

void define_token_create(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<CreateArgs>();
  app.add_option("--tenant", a->tenant, "Tenant id (a user's token)");
  app.add_option("--user", a->user, "The user the token acts as (must belong to the tenant)");
  app.add_flag("--operator", a->operator_token,
               "An operator's token: the queue across tenants, no tenant's business data");
  app.add_option("--name", a->name, "What the token is for (default: api)");
  app.add_option("--expires-days", a->expires_days, "Expires after D days (default: never)");
  app.callback([&ctx, a] {
    const std::string name = a->name.empty() ? "api" : a->name;
    http::CreatedToken made;
    if (a->operator_token) {
      if (a->tenant || a->user) {
        throw invalid_argument("an operator token has no --tenant or --user");
      }
      ctx.app();  // the schema must be migrated
      made = http::create_operator_token(ctx.owner(), name, a->expires_days, system_clock());
    } else {
      if (!a->tenant || !a->user) {
        throw invalid_argument("give --tenant and --user (or --operator --name=N)");
      }
      made = http::create_user_token(ctx.tenant_app(*a->tenant), *a->user, name, a->expires_days,
                                     system_clock());
    }
    nlohmann::json out = token_json(made.info);
    out["token"] = made.token;
    ctx.emit(out, "Token " + std::to_string(made.info.id) + " created (" + name +
                      "). It is shown only now; keep it secret:\n" + made.token);
  });
}

void define_token_list(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<int64_t>(0);
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.callback([&ctx, tenant] {
    nlohmann::json out = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : http::list_tokens(ctx.tenant_app(*tenant))) {
      out.push_back(token_json(t));
      rows.push_back({std::to_string(t.id), t.name, std::to_string(t.user_id.value_or(0)),
                      t.created_at, t.expires_at.value_or("never"), t.last_used_at.value_or("-"),
                      t.revoked_at ? "revoked" : "active"});
    }
    ctx.emit(out, render_table({"id", "name", "user", "created", "expires", "last used", "status"},
                               rows));
  });
}

void define_token_revoke(CLI::App& app, Context& ctx) {
  auto tenant = std::make_shared<int64_t>(0);
  auto id = std::make_shared<int64_t>(0);
  app.add_option("id", *id, "Token id")->required();
  app.add_option("--tenant", *tenant, "Tenant id")->required();
  app.callback([&ctx, tenant, id] {
    auto t = http::revoke_token(ctx.tenant_app(*tenant), *id, system_clock());
    ctx.emit(token_json(t), "Token " + std::to_string(t.id) + " revoked");
  });
}

}  // namespace

void add_token_commands(Commands& commands, Context& ctx) {
  auto with = [&ctx](void (*define)(CLI::App&, Context&)) {
    return [&ctx, define](CLI::App& app) { define(app, ctx); };
  };
  commands.push_back({"token:create",
                      "Create an API token: --tenant --user [--name] [--expires-days], or "
                      "--operator --name",
                      with(define_token_create)});
  commands.push_back(
      {"token:list", "A tenant's API tokens (never their secrets)", with(define_token_list)});
  commands.push_back({"token:revoke", "Revoke an API token: refused from the next request on",
                      with(define_token_revoke)});
}

}  // namespace unity::cli
