// SPDX-License-Identifier: Apache-2.0
// HTTP/1.1 server sessions over Boost.Beast, for IPP (and later the release page).
//
// Owns: reading request heads with limits, `Expect: 100-continue`, streaming the
// request body to a handler chunk by chunk (never whole in memory), writing the
// reply, keep-alive, deadlines. Must not: know IPP; the handler does.
// After a handler returns, whatever it left of the body is drained (bounded) so a
// second request on the connection works after any earlier error.
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

namespace pg::app { class Gateway; }

namespace pg::net {

struct HttpRequestHead {
    std::string method;
    std::string target;
    unsigned version = 11;
    std::string content_type;
    std::string authorization;
    std::string host;
    std::string peer;  // "ADDR:PORT"
    bool tls = false;
    bool has_body = false;
};

struct HttpReply {
    unsigned status = 200;
    std::string content_type;
    std::vector<std::byte> body;
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
    virtual std::uint64_t bytes_read() const = 0;
};

using HttpHandler = std::function<boost::asio::awaitable<HttpReply>(const HttpRequestHead&, BodySource&)>;

struct HttpLimits {
    std::uint32_t header_limit = 16 * 1024;
    std::chrono::milliseconds request_timeout{std::chrono::seconds(60)};  // per read of head or body chunk
    std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};     // between requests
    std::uint64_t drain_limit = 1u << 20;  // unread body we skip to keep the connection; more -> close
};

// Serves one plain-TCP connection until the peer closes, an error, or shutdown.
boost::asio::awaitable<void> http_session(app::Gateway& gw, boost::asio::ip::tcp::socket socket,
                                          std::string proto, HttpHandler handler, HttpLimits limits);

boost::asio::awaitable<void> http_accept_loop(app::Gateway& gw, boost::asio::ip::tcp::acceptor& acceptor,
                                              std::string proto, HttpHandler handler, HttpLimits limits);

}  // namespace pg::net
