// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/release_page.hpp"

#include "gateway/service/release_http.hpp"

namespace pg::service {

boost::asio::awaitable<net::HttpReply> release_page_handler(app::Gateway&, const net::HttpRequestHead&,
                                                            net::BodySource&) {
    co_return release_reply(404, "text/plain; charset=utf-8", "not found\n");
}

}  // namespace pg::service
