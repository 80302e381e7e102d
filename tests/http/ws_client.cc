#include "ws_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

namespace unity::testing {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<beast::tcp_stream> ws{ioc};
  beast::flat_buffer buffer;
};

WsClient::WsClient(int port, const std::string& path, const std::string& token)
    : impl_(std::make_unique<Impl>()) {
  net::ip::tcp::resolver resolver(impl_->ioc);
  beast::get_lowest_layer(impl_->ws).connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  impl_->ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
    if (!token.empty()) req.set(beast::http::field::authorization, "Bearer " + token);
  }));
  websocket::response_type res;
  beast::error_code ec;
  impl_->ws.handshake(res, "127.0.0.1", path, ec);
  if (ec) throw std::runtime_error("handshake refused: " + std::to_string(res.result_int()));
}

WsClient::~WsClient() {
  beast::error_code ec;
  beast::get_lowest_layer(impl_->ws).socket().close(ec);
}

std::optional<std::string> WsClient::read(std::chrono::milliseconds timeout) {
  std::optional<std::string> out;
  beast::get_lowest_layer(impl_->ws).expires_after(timeout);
  impl_->ws.async_read(impl_->buffer, [&](beast::error_code ec, size_t) {
    if (ec) return;
    out = beast::buffers_to_string(impl_->buffer.data());
    impl_->buffer.consume(impl_->buffer.size());
  });
  impl_->ioc.restart();
  impl_->ioc.run();
  return out;
}

}  // namespace unity::testing
