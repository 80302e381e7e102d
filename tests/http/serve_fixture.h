#pragma once
// The fixture of the `unity serve` tests: a database of two tenants with an admin and a token
// each, the real binary serving it on loopback, real HTTP clients (cpp-httplib; raw sockets for
// streams and slow clients), the CLI twins on the same database.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "db/tenancy.h"
#include "http/tokens.h"
#include "support/cli.h"
#include "support/process.h"
#include "support/test_db.h"

namespace unity::testing {

using nlohmann::json;
using namespace std::chrono_literals;

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A raw TCP connection: for streams read as they arrive and for clients that misbehave.
class RawSocket {
 public:
  explicit RawSocket(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~RawSocket() { ::close(fd_); }
  void send(const std::string& s) { (void)!::write(fd_, s.data(), s.size()); }
  // Reads until `text` has arrived (true), the peer closes or `timeout` passes (false).
  bool read_until(const std::string& text, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (received_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !read_some(left)) return false;
    }
    return true;
  }
  // Whether the peer closes the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      if (!read_some(50ms) && closed_) return true;
    }
    return false;
  }
  const std::string& received() const { return received_; }

 private:
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[4096];
    const ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(buf, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

class ServeFixture : public ::testing::TestWithParam<Driver> {
 protected:
  void SetUp() override {
    UNITY_REQUIRE_DRIVER(GetParam());
    std::signal(SIGPIPE, SIG_IGN);  // a server that refuses a body closes while the client sends
    db_ = TestDatabase::create(GetParam());
    conn_ = db_->app();
    tenant_a_ = db::create_tenant(*conn_, "Acme").id;
    tenant_b_ = db::create_tenant(*conn_, "Globex").id;
    admin_a_ = user(tenant_a_, "admin@acme.test", "admin");
    admin_b_ = user(tenant_b_, "admin@globex.test", "admin");
    token_a_ = token(tenant_a_, admin_a_);
    token_b_ = token(tenant_b_, admin_b_);
  }
  void TearDown() override {
    if (server_) {
      server_->signal(SIGKILL);
      server_->wait(5s);
    }
  }

  CliRun cli(const std::string& args, const std::string& stdin_text = "") {
    return run_cli(db_->dir(), db_->env_for_cli() + extra_env_, args, "", stdin_text);
  }
  json cli_json(const std::string& args) {
    auto r = cli(args + " --json");
    EXPECT_EQ(r.exit, 0) << args << ": " << r.err;
    return r.exit == 0 ? json::parse(r.out) : json();
  }
  // Set-up rows are written through the library (the CLI twins are tested on their own).
  int64_t user(int64_t tenant, const std::string& email, const std::string& role) {
    db::TenantScope scope(*conn_, tenant);
    return db::create_user(*conn_, email, "N", role).id;
  }
  std::string token(int64_t tenant, int64_t user_id) {
    db::TenantScope scope(*conn_, tenant);
    return http::create_user_token(*conn_, user_id, "api", std::nullopt, system_clock()).token;
  }

  void start_server(const std::map<std::string, std::string>& env = {}) {
    auto e = db_->cli_env();
    for (const auto& [k, v] : env) e[k] = v;
    log_ = db_->dir() + "/serve.log";
    server_.emplace(
        Process::start({unity_binary(), "serve", "--port=0", "--threads=2"}, e, db_->dir(), log_));
    const std::string mark = "listening on http://127.0.0.1:";
    ASSERT_TRUE(eventually([&] { return slurp(log_).find(mark) != std::string::npos; }, 20s))
        << slurp(log_);
    const std::string text = slurp(log_);
    port_ = std::stoi(text.substr(text.find(mark) + mark.size()));
  }

  httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(20, 0);
    return c;
  }
  static httplib::Headers auth(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }
  // A request; returns (status, parsed body or the raw text as a JSON string).
  std::pair<int, json> call(const std::string& method, const std::string& path,
                            const std::string& token, const std::string& body = "") {
    auto c = client();
    httplib::Result r =
        method == "GET"     ? c.Get(path.c_str(), auth(token))
        : method == "POST"  ? c.Post(path.c_str(), auth(token), body, "application/json")
        : method == "PATCH" ? c.Patch(path.c_str(), auth(token), body, "application/json")
                            : c.Delete(path.c_str(), auth(token));
    if (!r) return {0, json()};
    json parsed = json::parse(r->body, nullptr, false);
    return {r->status, parsed.is_discarded() ? json(r->body) : parsed};
  }
  int64_t count_rows(const std::string& table) {
    auto conn = db_->owner();
    return conn->query_int("SELECT count(*) FROM " + table);
  }
  std::string sse_request(const std::string& token, const std::string& last_event_id = "") {
    return "GET /api/v1/notifications/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n" +
           (token.empty() ? std::string() : "Authorization: Bearer " + token + "\r\n") +
           (last_event_id.empty() ? std::string() : "Last-Event-ID: " + last_event_id + "\r\n") +
           "\r\n";
  }
  // Sends an announcement to `user` of `tenant` and drains it with a real worker process.
  void notify_and_drain(int64_t tenant, int64_t user_id, const std::string& title) {
    auto r = cli("notify:bulk --tenant=" + std::to_string(tenant) +
                 " --user=" + std::to_string(user_id) + " --users=" + std::to_string(user_id) +
                 " --type=announcement --data='{\"title\":\"" + title + "\",\"message\":\"m\"}'");
    ASSERT_EQ(r.exit, 0) << r.err;
    auto w = cli("queue:work --stop-when-empty --sleep=0.1");
    ASSERT_EQ(w.exit, 0) << w.err;
  }

  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<db::Connection> conn_;
  std::string extra_env_;
  int64_t tenant_a_ = 0, tenant_b_ = 0, admin_a_ = 0, admin_b_ = 0;
  std::string token_a_, token_b_;
  std::optional<Process> server_;
  std::string log_;
  int port_ = 0;
};

}  // namespace unity::testing
