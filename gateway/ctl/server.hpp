// SPDX-License-Identifier: Apache-2.0
// Control socket server (printgated side). See ctl/protocol.hpp.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>

namespace pg::app { class Gateway; }

namespace pg::ctl {

boost::asio::awaitable<void> control_accept_loop(app::Gateway& gw,
                                                 boost::asio::local::stream_protocol::acceptor& acceptor);

}  // namespace pg::ctl
