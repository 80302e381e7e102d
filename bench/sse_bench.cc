// Real-time streams of `unity serve` (issue: "1,000 open SSE streams: server RSS <= 64 MiB;
// notification committed by a worker -> received by the client: p99 <= 10 ms on SQLite, <= 20 ms
// on PostgreSQL"). Prints one JSON object, asserts nothing.
//
//   unity_sse_bench --port=P --server-pid=PID [--streams=N] [--notifications=K]
//
// Against a running `unity serve` on 127.0.0.1:P over the database of the working directory's
// configuration (.env / environment, as the CLI reads it): seeds a tenant with N users (default
// 1,000), each with an API token, opens one Server-Sent Events stream per user, and reads the
// server's RSS once all are open. Then K times (default 300), one notification to one user is
// written and committed the way the notify.deliver job writes it (notify::deliver_now in a
// transaction, which announces it); the latency is from just after the commit to the moment its
// id arrives on that user's stream. Reports p50, p99 and max.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/clock.h"
#include "core/config.h"
#include "db/tenancy.h"
#include "db/transaction.h"
#include "http/tokens.h"
#include "notify/notifier.h"

using namespace unity;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Stream {
  int fd = -1;
  std::string received;
};

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

// Reads what has arrived on ready sockets for up to `timeout`; returns false on timeout.
bool pump(int ep, std::vector<Stream>& streams, std::chrono::milliseconds timeout) {
  epoll_event events[64];
  const int n = ::epoll_wait(ep, events, 64, static_cast<int>(timeout.count()));
  if (n <= 0) return false;
  char buf[8192];
  for (int i = 0; i < n; ++i) {
    Stream& s = streams[events[i].data.u32];
    const ssize_t got = ::read(s.fd, buf, sizeof buf);
    if (got <= 0) throw std::runtime_error("a stream was closed by the server");
    s.received.append(buf, static_cast<size_t>(got));
  }
  return true;
}

std::string proc_status(int pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      const auto digits = line.find_first_of("0123456789");
      return digits == std::string::npos ? ""
                                         : line.substr(digits, line.find(' ', digits) - digits);
    }
  }
  return "";
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  unity::keep_freed_memory_for_reuse();  // as `unity` does
  int port = 0, server_pid = 0, n_streams = 1000, n_notifications = 300;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) {
      return a.rfind(name, 0) == 0 ? std::stoi(a.substr(std::string(name).size())) : -1;
    };
    if (value("--port=") >= 0) {
      port = value("--port=");
    } else if (value("--server-pid=") >= 0) {
      server_pid = value("--server-pid=");
    } else if (value("--streams=") >= 0) {
      n_streams = value("--streams=");
    } else if (value("--notifications=") >= 0) {
      n_notifications = value("--notifications=");
    } else {
      std::fprintf(stderr,
                   "usage: unity_sse_bench --port=P --server-pid=PID [--streams=N] "
                   "[--notifications=K]\n");
      return 2;
    }
  }
  if (port <= 0 || server_pid <= 0 || n_streams <= 0 || n_notifications <= 0) {
    std::fprintf(stderr, "unity_sse_bench: --port and --server-pid are required\n");
    return 2;
  }
  try {
    const Config config = Config::load(".");
    auto conn = db::open_connection(config, db::Role::kApp);
    const int64_t tenant = db::create_tenant(*conn, "SSE bench").id;
    std::vector<int64_t> users;
    std::vector<std::string> tokens;
    {
      db::TenantScope scope(*conn, tenant);
      db::Transaction tx(*conn);
      for (int i = 0; i < n_streams; ++i) {
        users.push_back(
            db::create_user(*conn, "u" + std::to_string(i) + "@sse.test", "U", "sales").id);
        tokens.push_back(
            http::create_user_token(*conn, users.back(), "sse", std::nullopt, system_clock())
                .token);
      }
      tx.commit();
    }

    const int ep = ::epoll_create1(0);
    std::vector<Stream> streams(static_cast<size_t>(n_streams));
    const auto t_open = SteadyClock::now();
    for (int i = 0; i < n_streams; ++i) {
      Stream& s = streams[static_cast<size_t>(i)];
      s.fd = connect_to(port);
      const std::string req =
          "GET /api/v1/notifications/stream HTTP/1.1\r\nHost: bench\r\n"
          "Accept: text/event-stream\r\nAuthorization: Bearer " +
          tokens[static_cast<size_t>(i)] + "\r\n\r\n";
      if (::write(s.fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
        throw std::runtime_error("cannot send a stream request");
      }
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<uint32_t>(i);
      ::epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &ev);
    }
    auto all_open = [&] {
      return std::all_of(streams.begin(), streams.end(), [](const Stream& s) {
        return s.received.find(": stream open") != std::string::npos;
      });
    };
    while (!all_open()) {
      if (!pump(ep, streams, std::chrono::seconds(30))) {
        throw std::runtime_error("the streams did not all open within 30 s");
      }
    }
    const double open_ms =
        std::chrono::duration<double, std::milli>(SteadyClock::now() - t_open).count();
    // Let the watcher take every stream in before measuring.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::string rss_kib = proc_status(server_pid, "VmRSS");

    std::vector<double> latencies;
    db::TenantScope scope(*conn, tenant);
    for (int k = 0; k < n_notifications; ++k) {
      const size_t i = (static_cast<size_t>(k) * 7919) % streams.size();
      std::vector<std::string> ids;
      {
        db::Transaction tx(*conn);
        ids = notify::deliver_now(*conn, {notify::Notifiable::user(users[i])},
                                  "AnnouncementNotification", R"({"title":"bench","message":"m"})");
        tx.commit();
      }
      const auto t0 = SteadyClock::now();
      const std::string mark = "id: " + ids.front() + "\n";
      while (streams[i].received.find(mark) == std::string::npos) {
        if (!pump(ep, streams, std::chrono::seconds(10))) {
          throw std::runtime_error("a notification did not arrive within 10 s");
        }
      }
      latencies.push_back(
          std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    nlohmann::json out = {
        {"driver", config.db_connection == DbConnection::kPgsql ? "pgsql" : "sqlite"},
        {"streams", n_streams},
        {"open_all_ms", open_ms},
        {"server_rss_kib", rss_kib.empty() ? 0 : std::stoll(rss_kib)},
        {"server_peak_rss_kib", std::stoll("0" + proc_status(server_pid, "VmHWM"))},
        {"notifications", n_notifications},
        {"latency_ms",
         {{"p50", percentile(latencies, 0.50)},
          {"p99", percentile(latencies, 0.99)},
          {"max", percentile(latencies, 1.0)}}}};
    std::printf("%s\n", out.dump().c_str());
    for (auto& s : streams) ::close(s.fd);
    ::close(ep);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unity_sse_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
