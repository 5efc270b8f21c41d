// SPDX-License-Identifier: Apache-2.0
// The release web page (issue #7): server-rendered HTML on listen.release.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "gateway/net/http_session.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

boost::asio::awaitable<net::HttpReply> release_page_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                            net::BodySource& body);

}  // namespace pg::service
