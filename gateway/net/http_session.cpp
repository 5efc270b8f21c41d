// SPDX-License-Identifier: Apache-2.0
#include "gateway/net/http_session.hpp"

#include <array>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/app/gateway.hpp"
#include "gateway/net/raw_session.hpp"

namespace pg::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr std::size_t kChunk = 64 * 1024;

template <class Stream>
class ParserBody final : public BodySource {
public:
    ParserBody(Stream& stream, beast::flat_buffer& buffer, http::request_parser<http::buffer_body>& parser,
               std::chrono::milliseconds timeout)
        : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout) {}

    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        if (failed_) co_return failed_;
        if (parser_.is_done()) co_return std::span<const std::byte>{};
        for (;;) {
            parser_.get().body().data = chunk_.data();
            parser_.get().body().size = chunk_.size();
            beast::get_lowest_layer(stream_).expires_after(timeout_);
            auto [ec, n] = co_await http::async_read_some(stream_, buffer_, parser_,
                                                          asio::as_tuple(asio::use_awaitable));
            if (ec == http::error::need_buffer) ec = {};
            if (ec) {
                failed_ = ec;
                co_return ec;
            }
            std::size_t got = chunk_.size() - parser_.get().body().size;
            read_ += got;
            if (got > 0) co_return std::span<const std::byte>(chunk_.data(), got);
            if (parser_.is_done()) co_return std::span<const std::byte>{};
        }
    }
    std::uint64_t bytes_read() const override { return read_; }

private:
    Stream& stream_;
    beast::flat_buffer& buffer_;
    http::request_parser<http::buffer_body>& parser_;
    std::chrono::milliseconds timeout_;
    std::array<std::byte, kChunk> chunk_{};
    std::uint64_t read_ = 0;
    boost::system::error_code failed_;
};

template <class Stream>
asio::awaitable<void> serve(app::Gateway& gw, Stream& stream, const std::string& peer, const std::string& proto,
                            bool tls, const HttpHandler& handler, const HttpLimits& limits) {
    beast::flat_buffer buffer(limits.header_limit + kChunk);
    bool first = true;
    for (;;) {
        http::request_parser<http::buffer_body> parser;
        parser.header_limit(limits.header_limit);
        parser.body_limit(boost::none);  // the spool enforces job sizes while streaming
        beast::get_lowest_layer(stream).expires_after(first ? limits.request_timeout : limits.idle_timeout);
        first = false;
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::eof &&
                ec != asio::error::operation_aborted && ec != asio::error::connection_reset) {
                gw.log().warn({.event = "http_bad_request", .peer = peer, .proto = proto}, "bad HTTP request: {}",
                              ec.message());
                http::response<http::string_body> bad{http::status::bad_request, 11};
                bad.set(http::field::connection, "close");
                bad.body() = "bad request\n";
                bad.prepare_payload();
                beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
                co_await http::async_write(stream, bad, asio::as_tuple(asio::use_awaitable));
            }
            co_return;
        }
        auto& req = parser.get();
        HttpRequestHead head;
        head.method = std::string(req.method_string());
        head.target = std::string(req.target());
        head.version = req.version();
        head.content_type = std::string(req[http::field::content_type]);
        head.authorization = std::string(req[http::field::authorization]);
        head.host = std::string(req[http::field::host]);
        head.peer = peer;
        head.tls = tls;
        head.has_body = !parser.is_done();
        bool keep_alive = req.keep_alive();
        // RFC 9110 §10.1.1: answer 100-continue before reading the body. A client
        // that sends the body anyway (libcups after its short wait) is fine too.
        if (head.has_body && beast::iequals(req[http::field::expect], "100-continue")) {
            http::response<http::empty_body> cont{http::status::continue_, 11};
            beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
            auto [wec, wn] = co_await http::async_write(stream, cont, asio::as_tuple(asio::use_awaitable));
            if (wec) co_return;
        }
        ParserBody<Stream> body(stream, buffer, parser, limits.request_timeout);
        HttpReply reply = co_await handler(head, body);
        // Drain what the handler left unread, within reason, to keep the connection.
        bool body_ok = true;
        std::uint64_t drained = 0;
        while (!parser.is_done()) {
            auto chunk = co_await body.next();
            if (!chunk) {
                body_ok = false;
                break;
            }
            if (chunk->empty()) break;
            drained += chunk->size();
            if (drained > limits.drain_limit) {
                body_ok = false;
                break;
            }
        }
        http::response<http::vector_body<std::byte>> res{static_cast<http::status>(reply.status), head.version};
        res.set(http::field::server, "printgate/0.1 IPP/2.0");
        if (!reply.content_type.empty()) res.set(http::field::content_type, reply.content_type);
        for (auto& [k, v] : reply.headers) res.set(k, v);
        res.body() = std::move(reply.body);
        bool close = reply.close || !body_ok || !keep_alive || gw.stopping();
        res.keep_alive(!close);
        res.prepare_payload();
        beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
        auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        if (wec || close) co_return;
    }
}

}  // namespace

asio::awaitable<void> http_session(app::Gateway& gw, tcp::socket socket, std::string proto, HttpHandler handler,
                                   HttpLimits limits) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) co_return;
    const std::string peer = endpoint_string(remote);
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    std::uint64_t reg = gw.register_connection([stream] {
        boost::system::error_code e;
        stream->socket().close(e);
    });
    if (reg == 0) {
        gw.log().warn({.event = "connection_refused", .peer = peer, .proto = proto},
                      "too many connections (limits.max_connections); closing");
        co_return;
    }
    struct Unregister {
        app::Gateway& gw;
        std::uint64_t id;
        ~Unregister() { gw.unregister_connection(id); }
    } unregister{gw, reg};
    co_await serve(gw, *stream, peer, proto, false, handler, limits);
    stream->socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> http_accept_loop(app::Gateway& gw, tcp::acceptor& acceptor, std::string proto,
                                       HttpHandler handler, HttpLimits limits) {
    asio::steady_timer backoff(acceptor.get_executor());
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (gw.stopping() || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor) co_return;
        if (ec) {
            gw.log().warn({.event = "accept_failed", .proto = proto}, "accept failed: {}", ec.message());
            backoff.expires_after(std::chrono::milliseconds(100));
            co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), http_session(gw, std::move(socket), proto, handler, limits),
                       [&gw, proto](std::exception_ptr e) {
                           if (!e) return;
                           try {
                               std::rethrow_exception(e);
                           } catch (const std::exception& x) {
                               gw.log().error({.event = "session_failed", .proto = proto}, "session failed: {}",
                                              x.what());
                           }
                       });
    }
}

}  // namespace pg::net
