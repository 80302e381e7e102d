// The `unity` command, in the spirit of `php artisan`: one binary, one command per task.
// Errors: one line on stderr ("unity: <message>"), exit code by error kind (core/error.h).
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/context.h"
#include "core/error.h"

namespace {

constexpr std::string_view kAbout =
    "unity: the event-driven core and job queue of a multi-tenant ERP.\n"
    "Configuration comes from .env in the working directory and the environment.";

void print_usage(const unity::cli::Commands& commands) {
  std::cout << kAbout
            << "\n\nUsage: unity COMMAND [OPTIONS]   (unity COMMAND --help for its options)"
            << "\n\nCommands:\n";
  for (const auto& c : commands) {
    std::cout << "  " << c.name << std::string(c.name.size() < 22 ? 22 - c.name.size() : 1, ' ')
              << c.summary << '\n';
  }
  std::cout << "\nEvery command takes --json for machine-readable output.\n";
}

int run(const unity::cli::Command& command, unity::cli::Context& ctx, int argc, char** argv) {
  CLI::App app{command.summary, "unity " + command.name};
  app.add_flag("--json", ctx.json, "Print JSON instead of tables and messages");
  command.define(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "unity " << command.name << ": " << e.what() << " (see `unity " << command.name
              << " --help`)\n";
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  unity::cli::Context ctx;
  unity::cli::Commands commands;
  unity::cli::add_migrate_commands(commands, ctx);
  unity::cli::add_demo_command(commands, ctx);
  unity::cli::add_tenant_commands(commands, ctx);
  unity::cli::add_queue_commands(commands, ctx);
  unity::cli::add_event_commands(commands, ctx);
  unity::cli::add_erp_commands(commands, ctx);
  unity::cli::add_sales_commands(commands, ctx);
  unity::cli::add_procurement_commands(commands, ctx);
  unity::cli::add_bench_commands(commands, ctx);
  unity::cli::add_schedule_commands(commands, ctx);
  unity::cli::add_valuation_commands(commands, ctx);
  unity::cli::add_import_commands(commands, ctx);
  unity::cli::add_bulk_commands(commands, ctx);
  unity::cli::add_report_commands(commands, ctx);
  unity::cli::add_sync_commands(commands, ctx);
  unity::cli::add_token_commands(commands, ctx);
  unity::cli::add_serve_command(commands, ctx);

  const std::string_view name = argc > 1 ? argv[1] : "";
  if (name.empty() || name == "--help" || name == "-h" || name == "list") {
    print_usage(commands);
    return name.empty() ? 2 : 0;
  }
  for (const auto& command : commands) {
    if (command.name != name) continue;
    try {
      return run(command, ctx, argc - 1, argv + 1);
    } catch (const unity::Error& e) {
      std::cerr << "unity: " << e.what() << '\n';
      return unity::exit_code(e.code());
    } catch (const std::exception& e) {
      std::cerr << "unity: internal error: " << e.what() << '\n';
      return 1;
    }
  }
  std::cerr << "unity: unknown command '" << name << "' (see `unity --help`)\n";
  return 2;
}
