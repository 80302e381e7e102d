#pragma once
// What every command shares: the loaded configuration, the database connections (opened on first
// use), and how to print (table or --json).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/config.h"
#include "db/connection.h"

namespace CLI {
class App;
}

namespace unity::queue {
class JobRegistry;
class AuditLog;
class Dispatcher;
}  // namespace unity::queue
namespace unity::events {
class EventBus;
}
namespace unity::notify {
class DatabaseNotifier;
}
namespace unity::jobs {
struct JobSettings;
class OtlpExporter;
}  // namespace unity::jobs

namespace unity::cli {

class ProgressBar;

class Context {
 public:
  Context();
  ~Context();
  bool json = false;  // --json: machine output on stdout

  // Loaded on first use from .env + environment (bad values throw kInvalidArgument).
  const Config& config();
  // The restricted app connection; throws kFailedPrecondition when the schema is behind
  // ("run `unity migrate`") or when there is no SQLite database (it is not created).
  db::Connection& app();
  // The schema owner's connection. Only `migrate` passes `create` (the first call decides): for
  // every other command a missing SQLite database is kFailedPrecondition and stays missing.
  db::Connection& owner(bool create = false);
  // Opens the app connection in the given tenant (checks the tenant exists: kNotFound).
  db::Connection& tenant_app(int64_t tenant_id);

  // The application, wired once: every job type this binary knows (the diag.* types, the queued
  // listeners, notify.deliver), the dispatcher, the event bus and the notifier.
  const queue::JobRegistry& registry();
  queue::Dispatcher& dispatcher();
  events::EventBus& bus();
  notify::DatabaseNotifier& notifier();
  // The worker audit log, STORAGE_PATH/logs/worker.log.
  queue::AuditLog& audit_log(const std::string& worker_name);

  // Prints `value` as JSON when --json, else `human` (a line or a table already rendered).
  void emit(const nlohmann::json& value, const std::string& human) const;
  // `text` with the configuration's secrets masked (Config::redact), or redact_secrets(text)
  // when the configuration did not load.
  std::string redact(std::string_view text) const;

 private:
  std::unique_ptr<Config> config_;
  std::unique_ptr<db::Connection> app_;
  std::unique_ptr<db::Connection> owner_;
  void wire();
  std::unique_ptr<queue::JobRegistry> registry_;
  std::unique_ptr<queue::Dispatcher> dispatcher_;
  std::unique_ptr<events::EventBus> bus_;
  std::unique_ptr<notify::DatabaseNotifier> notifier_;
  std::unique_ptr<jobs::JobSettings> job_settings_;  // from the configuration
  // QUEUE_CONNECTION=sync: the bar of the job running inside this command, and its type.
  std::unique_ptr<ProgressBar> inline_bar_;
  std::string inline_bar_type_;
  int inline_bar_percent_ = 0;
  std::unique_ptr<queue::AuditLog> audit_log_;
  // OTEL_EXPORTER_OTLP_ENDPOINT set: every span this process records is also sent there.
  std::unique_ptr<jobs::OtlpExporter> otlp_;
};

// A readable table: headers, a rule, rows; columns padded to their widest cell.
std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows);

// A command of the `unity` binary. `define` adds its options and its callback to the CLI::App that
// main() makes for it (named "unity <name>", with --json and --help already there). CLI11 does
// not allow ':' in subcommand names, so main() dispatches on the first argument itself.
struct Command {
  std::string name;
  std::string summary;
  std::function<void(CLI::App&)> define;
};
using Commands = std::vector<Command>;

// Each file of commands adds its own.
void add_migrate_commands(Commands& commands, Context& ctx);
void add_tenant_commands(Commands& commands, Context& ctx);
void add_queue_commands(Commands& commands, Context& ctx);
void add_batch_commands(Commands& commands, Context& ctx);
void add_queue_jobs_command(Commands& commands, Context& ctx);
void add_event_commands(Commands& commands, Context& ctx);
void add_erp_commands(Commands& commands, Context& ctx);
void add_sales_commands(Commands& commands, Context& ctx);
void add_demo_command(Commands& commands, Context& ctx);
void add_procurement_commands(Commands& commands, Context& ctx);
void add_schedule_commands(Commands& commands, Context& ctx);
void add_valuation_commands(Commands& commands, Context& ctx);
void add_import_commands(Commands& commands, Context& ctx);
void add_bulk_commands(Commands& commands, Context& ctx);
void add_report_commands(Commands& commands, Context& ctx);
void add_sync_commands(Commands& commands, Context& ctx);
void add_token_commands(Commands& commands, Context& ctx);
void add_serve_command(Commands& commands, Context& ctx);
void add_trace_command(Commands& commands, Context& ctx);
void add_key_commands(Commands& commands, Context& ctx);

}  // namespace unity::cli
