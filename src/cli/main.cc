// The `unity` command, in the spirit of `php artisan`: one binary, one command per task.
// Errors: one line on stderr ("unity: <message>", or {"error":{"code","message"}} with --json),
// exit code by error kind (core/error.h); secrets are masked in every message (Guarantee 11).
// `unity` alone and `unity --help` print the commands and exit 0; `unity --version` the version.
#include <iostream>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/command_trace.h"
#include "cli/context.h"
#include "core/allocator.h"
#include "core/error.h"

#ifndef UNITY_VERSION
#define UNITY_VERSION "unknown"
#endif

namespace {

// Whether --json is among the arguments: errors of a command line that does not parse are JSON
// too when it asked for JSON.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--json") return true;
  }
  return false;
}

// One line on stderr: "<prefix>: <message>" or {"error":{"code","message"}} with --json.
void print_error(const unity::cli::Context& ctx, std::string_view prefix, unity::ErrorCode code,
                 std::string_view message) {
  const std::string text = ctx.redact(message);
  if (ctx.json) {
    const nlohmann::json error = {
        {"error", {{"code", std::string(unity::error_code_name(code))}, {"message", text}}}};
    std::cerr << error.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  } else {
    std::cerr << prefix << ": " << text << '\n';
  }
}

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
  unity::cli::CommandTrace traced(ctx, command.name);  // the command's callback runs in parse()
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    print_error(ctx, "unity " + command.name, unity::ErrorCode::kInvalidArgument,
                std::string(e.what()) + " (see `unity " + command.name + " --help`)");
    return 2;
  } catch (const std::exception& e) {
    traced.finish(e.what());
    throw;
  }
  traced.finish();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();
  unity::cli::Context ctx;
  unity::cli::Commands commands;
  unity::cli::add_migrate_commands(commands, ctx);
  unity::cli::add_demo_command(commands, ctx);
  unity::cli::add_tenant_commands(commands, ctx);
  unity::cli::add_queue_commands(commands, ctx);
  unity::cli::add_batch_commands(commands, ctx);
  unity::cli::add_queue_jobs_command(commands, ctx);
  unity::cli::add_event_commands(commands, ctx);
  unity::cli::add_trace_command(commands, ctx);
  unity::cli::add_erp_commands(commands, ctx);
  unity::cli::add_sales_commands(commands, ctx);
  unity::cli::add_procurement_commands(commands, ctx);
  unity::cli::add_schedule_commands(commands, ctx);
  unity::cli::add_valuation_commands(commands, ctx);
  unity::cli::add_import_commands(commands, ctx);
  unity::cli::add_bulk_commands(commands, ctx);
  unity::cli::add_report_commands(commands, ctx);
  unity::cli::add_sync_commands(commands, ctx);
  unity::cli::add_token_commands(commands, ctx);
  unity::cli::add_serve_command(commands, ctx);
  unity::cli::add_key_commands(commands, ctx);

  ctx.json = wants_json(argc, argv);
  const std::string_view name = argc > 1 ? argv[1] : "";
  if (name.empty() || name == "--help" || name == "-h" || name == "help" || name == "list") {
    print_usage(commands);
    return 0;
  }
  if (name == "--version" || name == "-V" || name == "version") {
    ctx.emit({{"version", UNITY_VERSION}}, std::string("unity ") + UNITY_VERSION);
    return 0;
  }
  for (const auto& command : commands) {
    if (command.name != name) continue;
    try {
      return run(command, ctx, argc - 1, argv + 1);
    } catch (const unity::Error& e) {
      print_error(ctx, "unity", e.code(), e.what());
      return unity::exit_code(e.code());
    } catch (const std::exception& e) {
      print_error(ctx, "unity", unity::ErrorCode::kInternal,
                  std::string("internal error: ") + e.what());
      return 1;
    }
  }
  print_error(ctx, "unity", unity::ErrorCode::kInvalidArgument,
              "unknown command '" + std::string(name) + "' (see `unity --help`)");
  return 2;
}
