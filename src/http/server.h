#pragma once
// `unity serve`'s transport: HTTP/1.1 and WebSocket over Boost.Beast on Asio. A fixed pool of
// threads runs every connection asynchronously, so thousands of idle streams cost memory, not
// threads; each thread owns one database connection, on which it runs the requests it serves.
//
// Limits (defaults in ServerOptions): a request's header and body have size limits (413 past the
// body's, 431 past the header's, refused before the body is read); a connection must deliver each
// whole request within `request_timeout` of starting to wait for it, so a slow or idle client is
// cut off without holding a thread or more memory than the limits.
//
// Uploads (Api::takes_upload: an import's CSV): the header is checked first (Api::precheck: route,
// token, role, type and map; refused without reading the body), `Expect: 100-continue` is
// answered, then the body is streamed into a new 0600 file under `upload_dir` within
// `max_upload_bytes` (a byte at least every `request_timeout`), never held in memory; the file is
// removed whatever the outcome unless the handler moved it. A Response naming a file is streamed
// from disk.
//
// Stopping: stop() (any thread, e.g. the CLI's signal thread) stops accepting, lets requests in
// flight finish, closes the streams, and makes run() return.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "db/connection.h"

namespace unity::http {

class Api;
class NotificationHub;

struct ServerOptions {
  std::string host = "127.0.0.1";        // HTTP_HOST
  uint16_t port = 8080;                  // HTTP_PORT; 0 picks a free port (see Server::port())
  int threads = 0;                       // 0: the number of cores (at least 2)
  size_t max_body_bytes = 10u << 20;     // HTTP_MAX_BODY_MB (10)
  size_t max_upload_bytes = 200u << 20;  // IMPORT_MAX_MB (200): an import's body
  std::string upload_dir = "storage/imports";  // where uploads are written (STORAGE_PATH/imports)
  size_t max_header_bytes = 16u << 10;         // 16 KiB
  std::chrono::seconds request_timeout{15};    // HTTP_REQUEST_TIMEOUT_S
  std::chrono::seconds shutdown_grace{10};     // requests in flight get this long at stop()
};

class Server {
 public:
  using ConnectionFactory = std::function<std::unique_ptr<db::Connection>()>;

  // Binds the listening socket (kUnavailable when the address is taken). `api` and `hub` must
  // outlive the server.
  Server(ServerOptions options, Api& api, NotificationHub& hub, ConnectionFactory factory);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const;
  // Serves until stop(); returns when every thread has ended.
  void run();
  void stop();

  struct Impl;  // defined in server.cc, with the connections' sessions

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace unity::http
