// `migrate [--fresh]`, `migrate:status`, `db:show`.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "db/migrate.h"

namespace unity::cli {

namespace {

void run_migrate(Context& ctx, bool fresh) {
  db::Migrator migrator(ctx.owner(/*create=*/true), ctx.config().db_app_role,
                        ctx.config().queue_table);
  auto applied = fresh ? migrator.fresh() : migrator.migrate();
  std::string human;
  if (fresh) human += "Dropped all tables.\n";
  if (applied.empty()) human += "Nothing to migrate: the schema is up to date.\n";
  for (const auto& name : applied) human += "Migrated: " + name + "\n";
  ctx.emit({{"applied", applied}, {"database", ctx.owner().describe()}}, human);
}

void run_status(Context& ctx) {
  db::Migrator migrator(ctx.owner(), ctx.config().db_app_role, ctx.config().queue_table);
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : migrator.status()) {
    const std::string state = s.changed ? "changed" : (s.applied ? "applied" : "pending");
    out.push_back({{"version", s.version},
                   {"name", s.name},
                   {"status", state},
                   {"checksum", s.checksum},
                   {"applied_at", s.applied ? nlohmann::json(s.applied_at) : nlohmann::json()}});
    rows.push_back({s.name, state, s.applied_at});
  }
  ctx.emit(out, render_table({"migration", "status", "applied at"}, rows));
}

// Lists the tables of the schema with their row counts: a quick look at what migrate built.
void run_show(Context& ctx) {
  db::Connection& conn = ctx.owner();
  const std::string tables_shown[] = {"tenants",         "users",         ctx.config().queue_table,
                                      "failed_jobs",     "domain_events", "notifications",
                                      "products",        "locations",     "stock_batches",
                                      "stock_movements", "import_logs",   "reports",
                                      "sync_logs"};
  nlohmann::json tables = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const std::string& t : tables_shown) {
    const int64_t n = conn.query_int("SELECT count(*) FROM " + t);
    tables.push_back({{"table", t}, {"rows", n}});
    rows.push_back({t, std::to_string(n)});
  }
  ctx.emit({{"database", conn.describe()}, {"tables", tables}},
           conn.describe() + "\n\n" + render_table({"table", "rows"}, rows));
}

}  // namespace

void add_migrate_commands(Commands& commands, Context& ctx) {
  commands.push_back({"migrate", "Create or upgrade the database schema", [&ctx](CLI::App& app) {
                        auto fresh = std::make_shared<bool>(false);
                        app.add_flag("--fresh", *fresh,
                                     "Drop every table first, then migrate from empty");
                        app.callback([&ctx, fresh] { run_migrate(ctx, *fresh); });
                      }});
  commands.push_back({"migrate:status", "List migrations: applied, pending or changed",
                      [&ctx](CLI::App& app) { app.callback([&ctx] { run_status(ctx); }); }});
  commands.push_back({"db:show", "Show the database and the row count of each table",
                      [&ctx](CLI::App& app) { app.callback([&ctx] { run_show(ctx); }); }});
}

}  // namespace unity::cli
