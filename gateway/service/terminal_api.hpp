// SPDX-License-Identifier: Apache-2.0
// The terminal API (issue #7, docs/terminal-api.md): JSON over HTTPS for card readers
// and embedded MFD terminals, on listen.release under /api/v1/.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/net/http_session.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

boost::asio::awaitable<net::HttpReply> terminal_api_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                            net::BodySource& body);

}  // namespace pg::service
