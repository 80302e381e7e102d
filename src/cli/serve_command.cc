// `unity serve`: the HTTP API and the real-time notification streams (src/http).
// The command owns the process's signals: SIGTERM/SIGINT are taken by a sigwait thread, which
// stops the server (stop accepting, finish requests in flight, close streams; exit 0).
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "core/error.h"
#include "erp/erp.h"
#include "events/event_bus.h"
#include "http/api.h"
#include "http/notification_hub.h"
#include "http/server.h"
#include "notify/notifier.h"

namespace unity::cli {

namespace {

struct ServeArgs {
  std::string host;
  std::optional<int> port;
  int threads = 0;
};

// An integer setting from the configuration, within [lo, hi]; kInvalidArgument naming it.
int setting(const Config& config, const std::string& name, int fallback, int lo, int hi) {
  auto it = config.raw.find(name);
  if (it == config.raw.end() || it->second.empty()) return fallback;
  try {
    size_t used = 0;
    const int v = std::stoi(it->second, &used);
    if (used == it->second.size() && v >= lo && v <= hi) return v;
  } catch (const std::exception&) {
  }
  throw invalid_argument(name + " must be an integer in " + std::to_string(lo) + ".." +
                         std::to_string(hi) + ", got " + quote_for_message(it->second));
}

http::ServerOptions server_options(const Config& config, const ServeArgs& a) {
  http::ServerOptions o;
  auto host = config.raw.find("HTTP_HOST");
  o.host = !a.host.empty()                                     ? a.host
           : host != config.raw.end() && !host->second.empty() ? host->second
                                                               : o.host;
  o.port = static_cast<uint16_t>(a.port ? *a.port : setting(config, "HTTP_PORT", 8080, 0, 65535));
  if (a.port && (*a.port < 0 || *a.port > 65535)) throw invalid_argument("--port must be 0..65535");
  o.threads = a.threads;
  o.max_body_bytes = static_cast<size_t>(setting(config, "HTTP_MAX_BODY_MB", 10, 1, 1024)) << 20;
  o.max_upload_bytes = static_cast<size_t>(config.import_max_mb) << 20;
  o.upload_dir = (std::filesystem::path(config.storage_path) / "imports").string();
  o.request_timeout = std::chrono::seconds(setting(config, "HTTP_REQUEST_TIMEOUT_S", 15, 1, 3600));
  return o;
}

void define_serve(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ServeArgs>();
  app.add_option("--host", a->host, "Address to listen on (HTTP_HOST, default 127.0.0.1)");
  app.add_option("--port", a->port, "Port (HTTP_PORT, default 8080; 0 picks a free one)");
  app.add_option("--threads", a->threads, "Threads serving requests (default: the cores)")
      ->check(CLI::Range(0, 256));
  app.callback([&ctx, a] {
    // Signals first, before any thread starts, so every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::signal(SIGPIPE, SIG_IGN);  // a client that went away is an error on its socket
    // Each open stream holds a descriptor: take every one the hard limit allows (the soft limit
    // is often 1,024).
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }

    const Config& config = ctx.config();
    const auto options = server_options(config, *a);
    ctx.app();  // the database is reachable and migrated
    erp::wire_erp(ctx.bus(), ctx.notifier());
    // As the worker's: SQLite checkpoints its log on a background thread, not in a request.
    const db::ConnectionFactory factory = db::connection_factory(config, db::Role::kApp);
    http::NotificationHub::Options hub_options;
    hub_options.max_streams_per_user = setting(config, "HTTP_MAX_STREAMS_PER_USER", 16, 1, 10000);
    http::NotificationHub hub(factory, system_clock(), hub_options);
    http::Api api(ctx.bus(), system_clock(), config, ctx.dispatcher());
    http::Server server(options, api, hub, factory);
    const std::string url = "http://" + options.host + ":" + std::to_string(server.port());
    ctx.emit({{"listening", url}}, "unity serve: listening on " + url);
    std::cout.flush();

    std::jthread signals([&server, set](std::stop_token st) {
      timespec tick{0, 200'000'000};
      while (!st.stop_requested()) {
        if (sigtimedwait(&set, nullptr, &tick) > 0) {
          server.stop();
          return;
        }
      }
    });
    hub.start();
    server.run();
    hub.stop();
    signals.request_stop();
    if (!ctx.json) std::cout << "unity serve: stopped\n";
  });
}

}  // namespace

void add_serve_command(Commands& commands, Context& ctx) {
  commands.push_back({"serve", "Serve the HTTP API and the notification streams (--host --port)",
                      [&ctx](CLI::App& app) { define_serve(app, ctx); }});
}

}  // namespace unity::cli
