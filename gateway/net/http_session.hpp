// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 server sessions over Boost.Beast, for IPP (and later the release page).
//
// Owns: reading request heads with limits, `Expect: 100-continue`, streaming the
// request body to a handler chunk by chunk (never whole in memory), writing the
// reply, keep-alive, deadlines. Must not: know IPP; the handler does.
// After a handler returns, whatever it left of the body is drained (bounded) so a
// second request on the connection works after any earlier error.
//
// TLS: https_session speaks TLS from the first byte (IPPS, RFC 8010 §8.2); the
// plain session can switch to TLS in place when a client asks with `Connection:
// Upgrade` + `Upgrade: TLS/1.x` (RFC 2817 §3, what `ipptool -E` and libcups'
// HTTP_ENCRYPTION_REQUIRED send). The handler sees head.encrypted on both, and
// head.tls (ipps:// URIs) only on IPPS: an upgraded connection's URIs stay ipp://
// on the plain port, where a TLS-first client would fail.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/result.hpp>

namespace boost::asio::ssl { class context; }
namespace pg::app { class Gateway; }

namespace pg::net {

struct HttpRequestHead {
    std::string method;
    std::string target;
    unsigned version = 11;
    std::string content_type;
    std::string authorization;
    std::string session;  // X-Session: the terminal API's session token (docs/terminal-api.md)
    std::string host;
    std::string cookie;  // the Cookie header as sent (release page sessions); "" = none
    std::string peer;  // "ADDR:PORT"
    bool tls = false;        // came in on an IPPS listener (TLS from the first byte): URIs are ipps://
    bool encrypted = false;  // TLS-protected: IPPS, or a plain listener after an RFC 2817 upgrade
    bool has_body = false;
};

struct HttpReply {
    unsigned status = 200;
    std::string content_type;
    std::vector<std::byte> body;
    // Extra headers; each replaces a header of that name, except Set-Cookie, which may
    // appear more than once (RFC 6265 §3: one cookie per header).
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false;  // close the connection after this reply
};

// The request body, pulled by the handler.
class BodySource {
public:
    virtual ~BodySource() = default;
    // The next chunk; an empty span at the end of the body. Errors: the peer
    // vanished, timed out, or sent a malformed body (bad chunking, short body).
    virtual boost::asio::awaitable<boost::system::result<std::span<const std::byte>>> next() = 0;
};

using HttpHandler = std::function<boost::asio::awaitable<HttpReply>(const HttpRequestHead&, BodySource&)>;

struct HttpLimits {
    std::uint32_t header_limit = 16 * 1024;
    std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};  // per read of head or body chunk
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};     // between requests
    std::uint64_t drain_limit = 1u << 20;  // unread body we skip to keep the connection; more -> close
    std::chrono::milliseconds handshake_timeout{std::chrono::seconds(30)};  // the whole TLS handshake
    std::chrono::milliseconds tls_shutdown_timeout{std::chrono::seconds(2)};  // waiting for close_notify
};

// Serves one plain-TCP connection until the peer closes, an error, or shutdown.
// With `upgrade_tls` (which must outlive the session), a bodiless request asking
// for `Upgrade: TLS/1.x` gets 101 Switching Protocols, a server handshake on the
// same socket, its answer over TLS, and the connection continues as TLS.
// Without it, Upgrade headers are ignored (RFC 2817 §3.2 lets a server do so).
boost::asio::awaitable<void> http_session(app::Gateway& gw, boost::asio::ip::tcp::socket socket,
                                          std::string proto, HttpHandler handler, HttpLimits limits,
                                          boost::asio::ssl::context* upgrade_tls = nullptr);

boost::asio::awaitable<void> http_accept_loop(app::Gateway& gw, boost::asio::ip::tcp::acceptor& acceptor,
                                              std::string proto, HttpHandler handler, HttpLimits limits,
                                              boost::asio::ssl::context* upgrade_tls = nullptr);

// Serves one TLS connection: the server handshake within limits.handshake_timeout
// (a failure is logged as a warning, EVENT=tls_handshake_failed, and closes the
// connection; a plain HTTP request gets a plain-text 400 first), then HTTP as
// http_session with head.tls set, then close_notify within tls_shutdown_timeout.
// `tls` is shared by every connection and must outlive them (the Gateway owns it).
boost::asio::awaitable<void> https_session(app::Gateway& gw, boost::asio::ip::tcp::socket socket,
                                           boost::asio::ssl::context& tls, std::string proto, HttpHandler handler,
                                           HttpLimits limits);

boost::asio::awaitable<void> https_accept_loop(app::Gateway& gw, boost::asio::ip::tcp::acceptor& acceptor,
                                               boost::asio::ssl::context& tls, std::string proto,
                                               HttpHandler handler, HttpLimits limits);

}  // namespace pg::net
