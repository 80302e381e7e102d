#include "cli/context.h"

#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/progress.h"
#include "core/error.h"
#include "core/trace.h"
#include "db/migrate.h"
#include "db/tenancy.h"
#include "erp/erp.h"
#include "events/event_bus.h"
#include "jobs/job_log.h"
#include "jobs/jobs.h"
#include "jobs/otlp_exporter.h"
#include "notify/notifier.h"
#include "queue/audit_log.h"
#include "queue/dispatch.h"
#include "queue/registry.h"

namespace unity::cli {

Context::Context() = default;
Context::~Context() {
  trace::set_span_sink({});  // before the exporter sends its last spans and goes
}

const Config& Context::config() {
  if (!config_) config_ = std::make_unique<Config>(Config::load("."));
  return *config_;
}

db::Connection& Context::owner(bool create) {
  if (!owner_) owner_ = db::open_connection(config(), db::Role::kOwner, create);
  return *owner_;
}

db::Connection& Context::app() {
  if (!app_) app_ = db::open_app_connection(config());
  return *app_;
}

db::Connection& Context::tenant_app(int64_t tenant_id) {
  db::Connection& conn = app();
  db::find_tenant(conn, tenant_id);
  conn.set_tenant(tenant_id);
  return conn;
}

void Context::wire() {
  if (registry_) return;
  registry_ = std::make_unique<queue::JobRegistry>();
  queue::register_diag_jobs(*registry_);
  dispatcher_ = std::make_unique<queue::Dispatcher>(config(), *registry_);
  bus_ = std::make_unique<events::EventBus>(*registry_, *dispatcher_);
  notifier_ = std::make_unique<notify::DatabaseNotifier>(*registry_, *dispatcher_);
  erp::wire_erp(*bus_, *notifier_);
  if (!config().otel_endpoint.empty()) {
    jobs::OtlpOptions o;
    o.endpoint = config().otel_endpoint;
    otlp_ = std::make_unique<jobs::OtlpExporter>(std::move(o));
    trace::set_span_sink([e = otlp_.get()](const trace::Span& s) { e->add(s); });
  }
  if (config().queue_connection == QueueConnection::kSync) {
    // While a bar is drawn, the job's log lines clear the bar's line first; the next update
    // redraws it.
    dispatcher_->set_job_log([this](const std::string& line) {
      const bool drawing = inline_bar_ && inline_bar_->drawing();
      std::fprintf(stderr, drawing ? "\r\x1b[K%s\n" : "%s\n", line.c_str());
    });
    // The job runs inside this command: its progress is drawn here, on a terminal (not --json).
    dispatcher_->set_inline_progress([this](const std::string& type, int percent) {
      if (percent < 0) {
        if (inline_bar_ && type == inline_bar_type_) {
          inline_bar_->finish(inline_bar_percent_);
          inline_bar_.reset();
        }
        return;
      }
      if (!inline_bar_) {
        if (json) return;
        inline_bar_ = std::make_unique<ProgressBar>(type, true);
        inline_bar_type_ = type;
      }
      if (type != inline_bar_type_) return;  // a job the running one dispatched inline
      inline_bar_percent_ = percent;
      inline_bar_->update(percent, "running");
    });
  }
  job_settings_ = std::make_unique<jobs::JobSettings>(jobs::job_settings(config()));
  jobs::wire_jobs(*registry_, *bus_, system_clock(), *job_settings_);
}

const queue::JobRegistry& Context::registry() {
  wire();
  return *registry_;
}
queue::Dispatcher& Context::dispatcher() {
  wire();
  return *dispatcher_;
}
events::EventBus& Context::bus() {
  wire();
  return *bus_;
}
notify::DatabaseNotifier& Context::notifier() {
  wire();
  return *notifier_;
}

queue::AuditLog& Context::audit_log(const std::string& worker_name) {
  if (!audit_log_) {
    audit_log_ =
        std::make_unique<queue::AuditLog>(config().storage_path + "/logs/worker.log", worker_name);
  }
  return *audit_log_;
}

void Context::emit(const nlohmann::json& value, const std::string& human) const {
  if (json) {
    std::cout << value.dump() << '\n';
  } else {
    std::cout << human;
    if (!human.empty() && human.back() != '\n') std::cout << '\n';
  }
}

std::string Context::redact(std::string_view text) const {
  return config_ ? config_->redact(text) : redact_secrets(text);
}

std::string render_table(const std::vector<std::string>& headers,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size());
  for (size_t c = 0; c < headers.size(); ++c) width[c] = headers[c].size();
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size() && c < width.size(); ++c)
      width[c] = std::max(width[c], r[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < width.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      out += cell;
      if (c + 1 < width.size()) out += std::string(width[c] - cell.size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(headers);
  std::vector<std::string> rule;
  for (size_t w : width) rule.emplace_back(w, '-');
  out += line(rule);
  for (const auto& r : rows) out += line(r);
  if (rows.empty()) out += "(none)\n";
  return out;
}

}  // namespace unity::cli
