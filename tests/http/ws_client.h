#pragma once
// A WebSocket client for the tests (Boost.Beast, kept in its own file so only it compiles Beast).

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace unity::testing {

class WsClient {
 public:
  // Connects to ws://127.0.0.1:port/path with `Authorization: Bearer token` (empty: none).
  // Throws std::runtime_error with the HTTP status when the upgrade is refused.
  WsClient(int port, const std::string& path, const std::string& token);
  ~WsClient();
  // The next text message, or nullopt when none arrives within `timeout` or the stream ended.
  std::optional<std::string> read(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace unity::testing
