// SPDX-License-Identifier: Apache-2.0
// The accept loop and connection registration every listener shares (raw, IPP,
// IPPS, control socket).
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/app/gateway.hpp"

namespace pg::net {

// Unregisters a connection from Gateway::register_connection when the session ends.
struct Registration {
    app::Gateway& gw;
    std::uint64_t id;
    Registration(app::Gateway& g, std::uint64_t i) : gw(g), id(i) {}
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    ~Registration() { gw.unregister_connection(id); }
};

// Accepts until the acceptor closes or the gateway stops; `session(socket)` makes
// each connection's coroutine. Accept errors (EMFILE, ENFILE) back off briefly
// instead of spinning; a session that throws is logged and closed.
template <class Acceptor, class MakeSession>
boost::asio::awaitable<void> accept_loop(app::Gateway& gw, Acceptor& acceptor, std::string proto,
                                         MakeSession session) {
    namespace asio = boost::asio;
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
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), [&gw, proto](std::exception_ptr e) {
            if (!e) return;
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                gw.log().error({.event = "session_failed", .proto = proto}, "session failed: {}", x.what());
            }
        });
    }
}

}  // namespace pg::net
