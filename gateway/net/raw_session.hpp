// SPDX-License-Identifier: Apache-2.0
// Raw TCP (AppSocket / JetDirect, "port 9100") intake: one connection = one job.
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace pg::app { class Gateway; }

namespace pg::net {

// Accepts connections on `acceptor` until it is closed; each becomes a raw job in
// `queue`. Runs on the gateway's I/O thread.
boost::asio::awaitable<void> raw_accept_loop(app::Gateway& gw, boost::asio::ip::tcp::acceptor& acceptor,
                                             std::string queue);

// One raw connection. The document is everything the client sends until it
// half-closes (EOF). The gateway then commits the job durably and only then
// closes its side, so a client that waits for the server's close (CUPS's socket
// backend, `nc -N`) knows the job is safe. A peer that drops or goes idle without
// half-closing still leaves a job when it sent anything (AppSocket semantics);
// a refused job (size, quota, disk) ends with a reset, so the client sees an error.
boost::asio::awaitable<void> raw_session(app::Gateway& gw, boost::asio::ip::tcp::socket socket, std::string queue);

// "ADDR:PORT" ("[v6]:PORT") of an endpoint.
std::string endpoint_string(const boost::asio::ip::tcp::endpoint& ep);

}  // namespace pg::net
