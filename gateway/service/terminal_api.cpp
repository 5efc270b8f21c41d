// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/terminal_api.hpp"

#include "gateway/service/release_http.hpp"

namespace pg::service {

boost::asio::awaitable<net::HttpReply> terminal_api_handler(app::Gateway&, const net::HttpRequestHead&,
                                                            net::BodySource&) {
    co_return release_reply(404, "application/json", R"({"error":"not_found"})");
}

}  // namespace pg::service
