// SPDX-License-Identifier: Apache-2.0
#include "gateway/net/http_session.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway/app/gateway.hpp"
#include "gateway/net/accept.hpp"
#include "gateway/net/raw_session.hpp"

namespace pg::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr std::size_t kChunk = 256 * 1024;  // as the raw path: fewer hops to the pool per MiB

template <class Stream>
class ParserBody final : public BodySource {
public:
    // `chunk` is the connection's body buffer (kChunk bytes), reused by every request.
    ParserBody(Stream& stream, beast::flat_buffer& buffer, http::request_parser<http::buffer_body>& parser,
               std::chrono::milliseconds timeout, std::span<std::byte> chunk)
        : stream_(stream), buffer_(buffer), parser_(parser), timeout_(timeout), chunk_(chunk) {}

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
            if (got > 0) co_return std::span<const std::byte>(chunk_.data(), got);
            if (parser_.is_done()) co_return std::span<const std::byte>{};
        }
    }

private:
    Stream& stream_;
    beast::flat_buffer& buffer_;
    http::request_parser<http::buffer_body>& parser_;
    std::chrono::milliseconds timeout_;
    std::span<std::byte> chunk_;
    boost::system::error_code failed_;
};

class EmptyBody final : public BodySource {
public:
    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        co_return std::span<const std::byte>{};
    }
};

// A request the session answers after switching to TLS (RFC 2817 §3.3: "the server
// MUST continue with the response to the original request").
struct PendingRequest {
    HttpRequestHead head;
    bool keep_alive = true;
};

// RFC 9110 §9.3.7: `OPTIONS *` asks about the server, not a resource; HTTP answers it.
bool is_server_options(const HttpRequestHead& head) { return head.method == "OPTIONS" && head.target == "*"; }

HttpReply server_options_reply() {
    HttpReply r;
    r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS, POST");
    return r;
}

// RFC 2817 §3.1: `Connection: Upgrade` and a `TLS/1.x` token in `Upgrade`. Returns
// the token to echo in the 101 answer, or "" when TLS is not asked for.
std::string tls_upgrade_token(const http::request<http::buffer_body>& req) {
    bool connection_upgrade = false;
    for (const auto& t : http::token_list{req[http::field::connection]})
        if (beast::iequals(t, "upgrade")) connection_upgrade = true;
    if (!connection_upgrade) return {};
    std::string_view offered = req[http::field::upgrade];
    while (!offered.empty()) {
        const std::size_t comma = offered.find(',');
        std::string_view token = offered.substr(0, comma);
        offered = comma == std::string_view::npos ? std::string_view{} : offered.substr(comma + 1);
        while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
        while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
        if (token.size() > 6 && token.size() < 16 && beast::iequals(token.substr(0, 6), "TLS/1."))
            return std::string(token);
    }
    return {};
}

// Coroutines here take class-type arguments by reference: GCC 12 may destroy a
// by-value argument built inside a co_await expression twice (the temporaries of
// the awaiting full-expression), and the same goes for `co_await c ? x : co_await y`.

// Writes one reply (its body is moved out). Returns whether the connection stays
// open for another request.
template <class Stream>
asio::awaitable<bool> write_reply(app::Gateway& gw, Stream& stream, unsigned version, HttpReply& reply, bool close,
                                  const HttpLimits& limits) {
    http::response<http::vector_body<std::byte>> res{static_cast<http::status>(reply.status), version};
    res.set(http::field::server, "printgate/0.1 IPP/2.0");
    if (!reply.content_type.empty()) res.set(http::field::content_type, reply.content_type);
    for (auto& [k, v] : reply.headers) {
        if (beast::iequals(k, "Set-Cookie")) res.insert(k, v);
        else res.set(k, v);
    }
    res.body() = std::move(reply.body);
    close = close || reply.close || gw.stopping();
    res.keep_alive(!close);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    co_return !wec && !close;
}

// Serves requests until the peer closes, an error, or shutdown. Returns a request
// to answer over TLS when `may_upgrade` and the client asked to switch (101 sent).
template <class Stream>
asio::awaitable<std::optional<PendingRequest>> serve(app::Gateway& gw, Stream& stream, const std::string& peer,
                                                     const std::string& proto, bool tls, bool encrypted,
                                                     bool may_upgrade,
                                                     const HttpHandler& handler, const HttpLimits& limits,
                                                     PendingRequest* pending = nullptr) {
    if (pending) {
        pending->head.tls = tls;
        pending->head.encrypted = encrypted;
        EmptyBody empty;
        HttpReply reply;
        if (is_server_options(pending->head)) reply = server_options_reply();
        else reply = co_await handler(pending->head, empty);
        if (!co_await write_reply(gw, stream, pending->head.version, reply, !pending->keep_alive, limits))
            co_return std::nullopt;
    }
    // The constructor only caps the size; reserve it too, or Beast reads 512 bytes at a
    // time and every 512-byte body chunk costs a hop to the pool (24 MB/s, not 640).
    beast::flat_buffer buffer(limits.header_limit + kChunk);
    buffer.reserve(limits.header_limit + kChunk);
    // Uninitialised on purpose: zero-filling it per request costs more than small jobs do.
    std::unique_ptr<std::byte[]> chunk(new std::byte[kChunk]);
    bool first = pending == nullptr;
    for (;;) {
        http::request_parser<http::buffer_body> parser;
        parser.header_limit(limits.header_limit);
        parser.body_limit(boost::none);  // the spool enforces job sizes while streaming
        beast::get_lowest_layer(stream).expires_after(first ? limits.request_timeout : limits.idle_timeout);
        first = false;
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::eof &&
                ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                ec != asio::ssl::error::stream_truncated) {
                gw.log().warn({.event = "http_bad_request", .peer = peer, .proto = proto}, "bad HTTP request: {}",
                              ec.message());
                http::response<http::string_body> bad{http::status::bad_request, 11};
                bad.set(http::field::connection, "close");
                bad.body() = "bad request\n";
                bad.prepare_payload();
                beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
                co_await http::async_write(stream, bad, asio::as_tuple(asio::use_awaitable));
            }
            co_return std::nullopt;
        }
        auto& req = parser.get();
        HttpRequestHead head;
        head.method = std::string(req.method_string());
        head.target = std::string(req.target());
        head.version = req.version();
        head.content_type = std::string(req[http::field::content_type]);
        head.authorization = std::string(req[http::field::authorization]);
        head.host = std::string(req[http::field::host]);
        head.session = std::string(req["X-Session"]);
        head.cookie = std::string(req[http::field::cookie]);
        head.peer = peer;
        head.tls = tls;
        head.encrypted = encrypted;
        head.has_body = !parser.is_done();
        bool keep_alive = req.keep_alive();
        // RFC 2817 §3.2: switch before answering. Only a bodiless request, and only
        // when nothing else is buffered (the client waits for 101 before its hello).
        if (may_upgrade && !head.has_body && buffer.size() == 0 && head.version == 11) {
            if (std::string token = tls_upgrade_token(req); !token.empty()) {
                http::response<http::empty_body> sw{http::status::switching_protocols, 11};
                sw.set(http::field::connection, "Upgrade");
                sw.set(http::field::upgrade, token);
                beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
                auto [wec, wn] = co_await http::async_write(stream, sw, asio::as_tuple(asio::use_awaitable));
                if (wec) co_return std::nullopt;
                gw.log().debug({.event = "tls_upgrade", .peer = peer, .proto = proto}, "switching to TLS ({})",
                               log::escape(token, 32));
                co_return PendingRequest{std::move(head), keep_alive};
            }
        }
        // RFC 9110 §10.1.1: answer 100-continue before reading the body. A client
        // that sends the body anyway (libcups after its short wait) is fine too.
        if (head.has_body && beast::iequals(req[http::field::expect], "100-continue")) {
            http::response<http::empty_body> cont{http::status::continue_, 11};
            beast::get_lowest_layer(stream).expires_after(limits.request_timeout);
            auto [wec, wn] = co_await http::async_write(stream, cont, asio::as_tuple(asio::use_awaitable));
            if (wec) co_return std::nullopt;
        }
        ParserBody<Stream> body(stream, buffer, parser, limits.request_timeout,
                                std::span<std::byte>(chunk.get(), kChunk));
        HttpReply reply;
        if (is_server_options(head)) reply = server_options_reply();
        else reply = co_await handler(head, body);
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
        if (!co_await write_reply(gw, stream, head.version, reply, !body_ok || !keep_alive, limits))
            co_return std::nullopt;
    }
}

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// The handshake failed on a plain HTTP request (OpenSSL recognises "GET ", "POST "...):
// tell the client in its own language before closing, as nginx does.
bool is_plain_http(const boost::system::error_code& ec) {
    return ec.category() == asio::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST;
}

// Handshake, serve, close_notify. The caller registered the connection.
asio::awaitable<void> serve_tls(app::Gateway& gw, TlsStream& stream, const std::string& peer,
                                const std::string& proto, bool ipps, const HttpHandler& handler,
                                const HttpLimits& limits, PendingRequest* pending) {
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(limits.handshake_timeout);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (ec) {
        if (ec == asio::error::operation_aborted && gw.stopping()) co_return;
        gw.log().warn({.event = "tls_handshake_failed", .peer = peer, .proto = proto}, "TLS handshake failed: {}",
                      ec == beast::error::timeout ? std::string("timed out") : ec.message());
        boost::system::error_code e;
        if (!pending && is_plain_http(ec)) {
            static constexpr std::string_view text = "This port speaks TLS only (ipps://, https://).\n";
            const std::string reply = fmt::format(
                "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\n"
                "Content-Length: {}\r\n\r\n{}",
                text.size(), text);
            lowest.expires_after(limits.tls_shutdown_timeout);
            auto [wec, wn] =
                co_await asio::async_write(lowest, asio::buffer(reply), asio::as_tuple(asio::use_awaitable));
            // Closing with the rest of the request unread would reset the connection and
            // could drop the reply: half-close, then skip what comes until EOF (bounded).
            lowest.socket().shutdown(tcp::socket::shutdown_send, e);
            std::array<char, 4096> sink{};
            std::size_t skipped = 0;
            while (!wec && skipped < 64 * 1024) {
                auto [rec, rn] =
                    co_await lowest.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
                if (rec) break;
                skipped += rn;
            }
        }
        lowest.socket().shutdown(tcp::socket::shutdown_both, e);
        lowest.socket().close(e);
        co_return;
    }
    co_await serve(gw, stream, peer, proto, ipps, true, false, handler, limits, pending);
    // RFC 8446 §6.1: send close_notify; wait briefly for the peer's, then close.
    if (lowest.socket().is_open()) {
        lowest.expires_after(limits.tls_shutdown_timeout);
        co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    }
    boost::system::error_code e;
    lowest.socket().close(e);
}

}  // namespace

asio::awaitable<void> http_session(app::Gateway& gw, tcp::socket socket, std::string proto, HttpHandler handler,
                                   HttpLimits limits, asio::ssl::context* upgrade_tls) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) co_return;
    const std::string peer = endpoint_string(remote);
    beast::tcp_stream plain(std::move(socket));
    std::optional<TlsStream> secure;  // after an RFC 2817 upgrade; outlives the registration
    // The socket to close on abort: the plain stream's, then the TLS stream's after an upgrade.
    auto current = std::make_shared<tcp::socket*>(&plain.socket());
    std::uint64_t reg = gw.register_connection([current] {
        boost::system::error_code e;
        if (*current != nullptr) (*current)->close(e);
    });
    if (reg == 0) {
        gw.log().warn({.event = "connection_refused", .peer = peer, .proto = proto},
                      "too many connections (limits.max_connections); closing");
        co_return;
    }
    Registration registration{gw, reg};
    auto pending = co_await serve(gw, plain, peer, proto, false, false, upgrade_tls != nullptr, handler, limits);
    if (!pending) {
        plain.socket().shutdown(tcp::socket::shutdown_send, ec);
        co_return;
    }
    secure.emplace(std::move(plain), *upgrade_tls);
    *current = &beast::get_lowest_layer(*secure).socket();
    co_await serve_tls(gw, *secure, peer, proto, false, handler, limits, &*pending);
}

asio::awaitable<void> http_accept_loop(app::Gateway& gw, tcp::acceptor& acceptor, std::string proto,
                                       HttpHandler handler, HttpLimits limits, asio::ssl::context* upgrade_tls) {
    // Not a coroutine itself: accept_loop's frame takes the lambda, no co_await temporary.
    return accept_loop(gw, acceptor, proto, [&gw, proto, handler, limits, upgrade_tls](tcp::socket socket) {
        return http_session(gw, std::move(socket), proto, handler, limits, upgrade_tls);
    });
}

asio::awaitable<void> https_session(app::Gateway& gw, tcp::socket socket, asio::ssl::context& tls, std::string proto,
                                    HttpHandler handler, HttpLimits limits) {
    boost::system::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) co_return;
    const std::string peer = endpoint_string(remote);
    auto stream = std::make_shared<TlsStream>(std::move(socket), tls);
    std::uint64_t reg = gw.register_connection([stream] {
        boost::system::error_code e;
        beast::get_lowest_layer(*stream).socket().close(e);
    });
    if (reg == 0) {
        gw.log().warn({.event = "connection_refused", .peer = peer, .proto = proto},
                      "too many connections (limits.max_connections); closing");
        co_return;
    }
    Registration registration{gw, reg};
    co_await serve_tls(gw, *stream, peer, proto, true, handler, limits, nullptr);
}

asio::awaitable<void> https_accept_loop(app::Gateway& gw, tcp::acceptor& acceptor, asio::ssl::context& tls,
                                        std::string proto, HttpHandler handler, HttpLimits limits) {
    return accept_loop(gw, acceptor, proto, [&gw, &tls, proto, handler, limits](tcp::socket socket) {
        return https_session(gw, std::move(socket), tls, proto, handler, limits);
    });
}

}  // namespace pg::net
