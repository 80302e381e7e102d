// Boost.Beast is included here only: no other file of Unity sees Asio or Beast.
#include "http/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "core/error.h"
#include "core/thread_name.h"
#include "core/uuid.h"
#include "http/api.h"
#include "http/http_metrics.h"
#include "http/notification_hub.h"

namespace unity::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

// Each thread of the pool runs its requests on its own connection (db::Connection is used by one
// thread at a time), opened on first use and reopened after the database was unavailable.
thread_local std::unique_ptr<db::Connection> t_conn;

constexpr size_t kMaxQueuedMessages = 1024;  // a stream that falls this far behind is closed

// Something the server closes when it stops.
class Closable {
 public:
  virtual ~Closable() = default;
  virtual void shutdown() = 0;
};

}  // namespace

struct Server::Impl {
  ServerOptions options;
  Api& api;
  NotificationHub& hub;
  ConnectionFactory factory;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards live, grace
  std::map<Closable*, std::weak_ptr<Closable>> live;
  std::shared_ptr<net::steady_timer> grace;  // set by stop(); cancelled once nothing is live

  Impl(ServerOptions o, Api& a, NotificationHub& h, ConnectionFactory f)
      : options(std::move(o)),
        api(a),
        hub(h),
        factory(std::move(f)),
        ioc(options.threads > 0 ? options.threads : 2) {}

  db::Connection& conn() {
    if (!t_conn) {
      t_conn = factory();
      api.metrics().connection_opened();
    }
    return *t_conn;
  }
  // Drops the thread's connection (after an error, or as the thread ends).
  void drop_conn() {
    if (!t_conn) return;
    t_conn.reset();
    api.metrics().connection_closed();
  }
  void track(const std::shared_ptr<Closable>& c) {
    std::lock_guard lock(mu);
    live[c.get()] = c;
  }
  void untrack(Closable* c) {
    std::lock_guard lock(mu);
    live.erase(c);
    if (live.empty() && grace) {
      net::post(grace->get_executor(), [timer = grace] { timer->cancel(); });
    }
  }
  void accept();
};

namespace {

// The request's header as plain values (the body is the caller's to add).
template <typename Body>
Request header_of(const bhttp::request<Body>& req) {
  Request r;
  r.method = std::string(req.method_string());
  r.target = std::string(req.target());
  r.authorization = std::string(req[bhttp::field::authorization]);
  r.content_type = std::string(req[bhttp::field::content_type]);
  r.last_event_id = std::string(req["Last-Event-ID"]);
  r.traceparent = std::string(req["traceparent"]);
  return r;
}

Request to_request(const bhttp::request<bhttp::string_body>& req) {
  Request r = header_of(req);
  r.body = req.body();
  return r;
}

std::string mib(size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

// Runs `api` on the thread's connection; a connection that failed is dropped so the next request
// opens a fresh one.
template <typename F>
Response with_connection(Server::Impl& impl, F&& f) {
  try {
    Response res = f(impl.conn());
    if (res.status == 503) impl.drop_conn();
    return res;
  } catch (const Error&) {
    impl.drop_conn();
    return error_response(503, "unavailable", "database unavailable");
  }
}

// A notification stream's outgoing messages, written one at a time on the stream's executor.
template <typename Derived>
class StreamBase : public Closable, public std::enable_shared_from_this<Derived> {
 protected:
  explicit StreamBase(Server::Impl& impl) : impl_(impl) {}

  // From the hub's thread: queues `text` on the stream's executor; false once the stream ended.
  static bool post_message(const std::weak_ptr<Derived>& weak, std::string text) {
    auto self = weak.lock();
    if (!self || self->closed_) return false;
    net::post(self->executor(),
              [self, text = std::move(text)]() mutable { self->enqueue(std::move(text)); });
    return true;
  }

  void enqueue(std::string text) {
    if (closed_) return;
    if (queue_.size() >= kMaxQueuedMessages) return static_cast<Derived*>(this)->close();
    queue_.push_back(std::move(text));
    if (queue_.size() == 1) static_cast<Derived*>(this)->write_front();
  }

  void on_written(beast::error_code ec) {
    if (ec) return static_cast<Derived*>(this)->close();
    queue_.pop_front();
    if (!queue_.empty()) static_cast<Derived*>(this)->write_front();
  }

  void subscribe(const Api::StreamAuth& who, const std::string& last_event_id,
                 const std::function<std::string(const std::string&, const std::string&)>& frame,
                 std::string ping) {
    std::weak_ptr<Derived> weak = this->shared_from_this();
    sub_ = impl_.hub.subscribe(
        who.tenant_id, who.user_id, last_event_id,
        [weak, frame](const std::string& id, const std::string& json) {
          return post_message(weak, frame(id, json));
        },
        [weak, ping] { return post_message(weak, ping); });
    subscribed_ = true;
  }

  void finish() {
    if (closed_) return;
    closed_ = true;
    if (subscribed_) impl_.hub.unsubscribe(sub_);
    impl_.untrack(this);
  }

  Server::Impl& impl_;
  std::deque<std::string> queue_;
  std::atomic<bool> closed_{false};
  bool subscribed_ = false;
  uint64_t sub_ = 0;
};

// GET /api/v1/notifications/stream: Server-Sent Events until the client or the server closes.
class SseStream : public StreamBase<SseStream> {
 public:
  SseStream(Server::Impl& impl, beast::tcp_stream stream)
      : StreamBase(impl), stream_(std::move(stream)) {}

  net::any_io_executor executor() { return stream_.get_executor(); }

  void start(const Api::StreamAuth& who, const std::string& last_event_id) {
    stream_.expires_never();
    subscribe(
        who, last_event_id,
        [](const std::string& id, const std::string& json) {
          return "id: " + id + "\nevent: notification\ndata: " + json + "\n\n";
        },
        ": keep-alive\n\n");
    impl_.track(shared_from_this());
    queue_.push_front(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "Connection: close\r\nX-Accel-Buffering: no\r\n\r\n: stream open\n\n");
    if (queue_.size() == 1) write_front();
    watch_close();
  }

  void write_front() {
    net::async_write(
        stream_, net::buffer(queue_.front()),
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_written(ec); });
  }

  void close() {
    if (closed_) return;
    finish();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

  void shutdown() override {
    net::post(executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  // The client sends nothing more: any read completing (EOF, reset) means it has gone.
  void watch_close() {
    stream_.async_read_some(net::buffer(sink_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->close();
                              self->watch_close();
                            });
  }

  beast::tcp_stream stream_;
  char sink_[512];
};

// GET /api/v1/ws: the same messages over WebSocket, as text frames
// {"event":"notification","id":…,"data":{…}}.
class WsStream : public StreamBase<WsStream> {
 public:
  WsStream(Server::Impl& impl, beast::tcp_stream stream)
      : StreamBase(impl), ws_(std::move(stream)) {}

  net::any_io_executor executor() { return ws_.get_executor(); }

  void start(bhttp::request<bhttp::string_body> req, const Api::StreamAuth& who) {
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    impl_.track(shared_from_this());
    const std::string last_event_id = std::string(req["Last-Event-ID"]);
    ws_.async_accept(req, [self = shared_from_this(), who, last_event_id](beast::error_code ec) {
      if (ec) return self->finish();
      self->subscribe(
          who, last_event_id,
          [](const std::string& id, const std::string& json) {
            return R"({"event":"notification","id":")" + id + R"(","data":)" + json + "}";
          },
          "");
      self->read_loop();
    });
  }

  void write_front() {
    if (queue_.front().empty()) {  // a keep-alive: WebSocket pings are handled by Beast
      queue_.pop_front();
      if (!queue_.empty()) write_front();
      return;
    }
    ws_.text(true);
    ws_.async_write(
        net::buffer(queue_.front()),
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_written(ec); });
  }

  void close() {
    if (closed_) return;
    finish();
    // A close frame, then the socket: a client that does not answer the close within a second
    // does not hold the server's stop.
    ws_.async_close(websocket::close_code::going_away,
                    [self = shared_from_this()](beast::error_code) { self->drop(); });
    auto timer = std::make_shared<net::steady_timer>(executor(), std::chrono::seconds(1));
    timer->async_wait([self = shared_from_this(), timer](beast::error_code) { self->drop(); });
  }

  void shutdown() override {
    net::post(executor(), [self = shared_from_this()] { self->close(); });
  }

 private:
  void drop() {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
  }

  void read_loop() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->finish();
      self->buffer_.consume(self->buffer_.size());
      self->read_loop();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
};

// One HTTP/1.1 connection: request after request (keep-alive), until it becomes a stream.
class HttpSession : public Closable, public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Server::Impl& impl, tcp::socket socket) : impl_(impl), stream_(std::move(socket)) {}

  void start() {
    impl_.track(shared_from_this());
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

  void shutdown() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->closing_ = true;
      if (!self->busy_) self->close();
    });
  }

 private:
  // The header first: an upload (Api::takes_upload) is checked on it and then streamed to a file
  // with its own limit; any other body is read into memory within HTTP_MAX_BODY_MB.
  void read() {
    if (closing_) return close();
    header_parser_.emplace();
    header_parser_->body_limit(
        std::max(impl_.options.max_body_bytes, impl_.options.max_upload_bytes));
    header_parser_->header_limit(static_cast<uint32_t>(impl_.options.max_header_bytes));
    stream_.expires_after(impl_.options.request_timeout);
    busy_ = false;
    bhttp::async_read_header(
        stream_, buffer_, *header_parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    busy_ = true;
    if (ec == bhttp::error::body_limit) {
      return refuse(413, "too_large",
                    "the request body is over " + mib(std::max(impl_.options.max_body_bytes,
                                                               impl_.options.max_upload_bytes)));
    }
    if (ec == bhttp::error::header_limit) {
      return refuse(431, "too_large", "the request header is too large");
    }
    if (ec) return close();  // end of stream, timeout (slow or idle client), reset, bad HTTP
    const Request header = header_of(header_parser_->get());
    const auto length = header_parser_->content_length();
    if (impl_.api.takes_upload(header)) return start_upload(header, length);
    if (length && *length > impl_.options.max_body_bytes) {
      return refuse(413, "too_large",
                    "the request body is over " + mib(impl_.options.max_body_bytes));
    }
    parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    parser_->body_limit(impl_.options.max_body_bytes);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code e, size_t) { self->on_read(e); });
  }

  void on_read(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return refuse(413, "too_large",
                    "the request body is over " + mib(impl_.options.max_body_bytes));
    }
    if (ec) return close();
    auto req = parser_->release();
    const std::string target(req.target());
    if (Api::is_notification_stream(target) || Api::is_websocket(target)) {
      return start_stream(std::move(req), target);
    }
    Request r = to_request(req);
    Response res =
        with_connection(impl_, [&](db::Connection& c) { return impl_.api.handle(r, c); });
    write(std::move(res), req.keep_alive() && !closing_, req.version());
  }

  void start_stream(bhttp::request<bhttp::string_body> req, const std::string& target) {
    Request r = to_request(req);
    Response error;
    std::optional<Api::StreamAuth> who;
    error = with_connection(impl_, [&](db::Connection& c) {
      Response e;
      who = impl_.api.authenticate_stream(r, c, e);
      return e;
    });
    if (!who) return write(std::move(error), false, req.version());
    if (req.method() != bhttp::verb::get) {
      return write(error_response(405, "invalid_argument", "streams are opened with GET"), false,
                   req.version());
    }
    const bool ws = Api::is_websocket(target);
    if (ws && !websocket::is_upgrade(req)) {
      return write(error_response(400, "invalid_argument", "a WebSocket upgrade is expected"),
                   false, req.version());
    }
    if (!impl_.hub.has_room(who->tenant_id, who->user_id)) {
      Response busy = error_response(429, "rate_limited",
                                     "too many open streams for this user: close one first");
      busy.headers.emplace_back("Retry-After", "5");
      return write(std::move(busy), false, req.version());
    }
    impl_.untrack(this);
    try {
      if (ws) {
        std::make_shared<WsStream>(impl_, std::move(stream_))->start(std::move(req), *who);
      } else {
        std::make_shared<SseStream>(impl_, std::move(stream_))->start(*who, r.last_event_id);
      }
    } catch (const Error&) {
      // Another stream took the last place meanwhile: the socket has moved into the stream,
      // which closes it as it goes away.
    }
  }

  // POST /api/v1/imports/{type}: refused on its header (size, route, token, role, type, map)
  // before a byte of the body is read; else `100 Continue` when asked, and the body goes straight
  // into a new 0600 file under the upload directory, within max_upload_bytes (413 past it, the
  // partial file removed). The handler moves the file away; whatever is left is removed.
  void start_upload(const Request& header, boost::optional<std::uint64_t> length) {
    const size_t limit = impl_.options.max_upload_bytes;
    if (length && *length > limit) {
      return refuse(413, "too_large", "the import is over " + mib(limit) + " (IMPORT_MAX_MB)");
    }
    std::optional<Response> refusal;
    Response checked = with_connection(impl_, [&](db::Connection& c) {
      refusal = impl_.api.precheck(header, c);
      return refusal ? *refusal : Response{};
    });
    if (checked.status == 503 && !refusal) refusal = std::move(checked);
    if (refusal) return refuse(std::move(*refusal));

    std::error_code fs_ec;
    std::filesystem::create_directories(impl_.options.upload_dir, fs_ec);
    upload_path_ = (std::filesystem::path(impl_.options.upload_dir) /
                    ("upload-" + new_uuid().to_string() + ".part"))
                       .string();
    const int fd = ::open(upload_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      upload_path_.clear();
      return refuse(error_response(500, "internal", "cannot store the upload"));
    }
    beast::file file;
    file.native_handle(fd);
    upload_parser_.emplace(std::move(*header_parser_));
    header_parser_.reset();
    upload_parser_->body_limit(limit);
    beast::error_code ec;
    upload_parser_->get().body().reset(std::move(file), ec);
    if (ec) return fail_upload(error_response(500, "internal", "cannot store the upload"));
    upload_header_ = header;
    if (beast::iequals(upload_parser_->get()[bhttp::field::expect], "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(
          bhttp::status::continue_, upload_parser_->get().version());
      bhttp::async_write(stream_, *cont,
                         [self = shared_from_this(), cont](beast::error_code e, size_t) {
                           if (e) return self->fail_upload(std::nullopt);
                           self->read_upload();
                         });
      return;
    }
    read_upload();
  }

  // A slow upload is cut off when no byte comes for request_timeout, not when the whole body
  // takes longer (hundreds of MiB may).
  void read_upload() {
    if (upload_parser_->is_done()) return on_upload();
    stream_.expires_after(impl_.options.request_timeout);
    bhttp::async_read_some(
        stream_, buffer_, *upload_parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) {
          if (ec == bhttp::error::body_limit) {
            return self->fail_upload(error_response(413, "too_large",
                                                    "the import is over " +
                                                        mib(self->impl_.options.max_upload_bytes) +
                                                        " (IMPORT_MAX_MB)"));
          }
          if (ec) return self->fail_upload(std::nullopt);
          self->read_upload();
        });
  }

  void on_upload() {
    upload_parser_->get().body().close();
    Request r = upload_header_;
    r.body_file = upload_path_;
    const bool keep_alive = upload_parser_->get().keep_alive() && !closing_;
    const unsigned version = upload_parser_->get().version();
    upload_parser_.reset();
    Response res =
        with_connection(impl_, [&](db::Connection& c) { return impl_.api.handle(r, c); });
    remove_upload();
    write(std::move(res), keep_alive, version);
  }

  // Ends an upload that failed: the partial file removed, `res` sent (nullopt: just closed).
  void fail_upload(std::optional<Response> res) {
    if (upload_parser_) upload_parser_->get().body().close();
    upload_parser_.reset();
    remove_upload();
    if (res) return refuse(std::move(*res));
    close();
  }

  void remove_upload() {
    if (upload_path_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove(upload_path_, ignored);
    upload_path_.clear();
  }

  void refuse(int status, const std::string& code, const std::string& message) {
    refuse(error_response(status, code, message));
  }
  // Answers and closes: the body, if any, is not read.
  void refuse(Response res) { write(std::move(res), false, 11); }

  template <typename Message>
  void send(std::shared_ptr<Message> msg, const Response& res, bool keep_alive) {
    msg->set(bhttp::field::server, "unity");
    msg->set(bhttp::field::content_type, res.content_type);
    for (const auto& [k, v] : res.headers) msg->set(k, v);
    msg->keep_alive(keep_alive);
    msg->prepare_payload();
    bhttp::async_write(stream_, *msg,
                       [self = shared_from_this(), msg, keep_alive](beast::error_code ec, size_t) {
                         if (ec || !keep_alive) return self->close();
                         self->read();
                       });
  }

  void write(Response res, bool keep_alive, unsigned version) {
    if (!res.file.empty()) {  // a file streamed from disk (a report)
      auto msg = std::make_shared<bhttp::response<bhttp::file_body>>(
          static_cast<bhttp::status>(res.status), version);
      beast::error_code ec;
      msg->body().open(res.file.c_str(), beast::file_mode::scan, ec);
      if (!ec) return send(std::move(msg), res, keep_alive);
      res = error_response(404, "not_found", "the file is no longer stored");
    }
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(res.status), version);
    msg->body() = std::move(res.body);
    send(std::move(msg), res, keep_alive);
  }

  void close() {
    remove_upload();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
    impl_.untrack(this);
  }

  Server::Impl& impl_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::request_parser<bhttp::file_body>> upload_parser_;
  Request upload_header_;
  std::string upload_path_;  // the upload being written, until handled or removed
  bool busy_ = false;
  bool closing_ = false;
};

}  // namespace

void Server::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping) return;
    if (!ec) std::make_shared<HttpSession>(*this, std::move(socket))->start();
    accept();
  });
}

Server::Server(ServerOptions options, Api& api, NotificationHub& hub, ConnectionFactory factory)
    : impl_(std::make_unique<Impl>(std::move(options), api, hub, std::move(factory))) {
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) throw invalid_argument("HTTP_HOST is not an IP address: " + impl_->options.host);
  const tcp::endpoint endpoint(address, impl_->options.port);
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw unavailable("cannot listen on " + impl_->options.host + ":" +
                      std::to_string(impl_->options.port) + ": " + ec.message());
  }
}

Server::~Server() = default;

uint16_t Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::run() {
  impl_->accept();
  int n = impl_->options.threads > 0
              ? impl_->options.threads
              : std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  impl_->api.metrics().set_pool_size(n);
  impl_->api.metrics().set_open_streams(
      [&hub = impl_->hub] { return static_cast<int64_t>(hub.open_streams()); });
  std::vector<std::jthread> threads;
  for (int i = 1; i < n; ++i) {
    threads.emplace_back([this, i] {
      name_this_thread("unity http " + std::to_string(i));
      impl_->ioc.run();
      impl_->drop_conn();
    });
  }
  impl_->ioc.run();
  impl_->drop_conn();
}

void Server::stop() {
  if (impl_->stopping.exchange(true)) return;
  net::post(impl_->ioc, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor.close(ec);
    // Whatever is still running after the grace period is cut off.
    auto timer = std::make_shared<net::steady_timer>(impl->ioc, impl->options.shutdown_grace);
    timer->async_wait([impl, timer](beast::error_code e) {
      if (!e) impl->ioc.stop();
    });
    std::vector<std::shared_ptr<Closable>> live;
    {
      std::lock_guard lock(impl->mu);
      impl->grace = timer;
      for (auto& [_, weak] : impl->live) {
        if (auto c = weak.lock()) live.push_back(std::move(c));
      }
      if (live.empty()) timer->cancel();
    }
    for (auto& c : live) c->shutdown();
  });
}

}  // namespace unity::http
