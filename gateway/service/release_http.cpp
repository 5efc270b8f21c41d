// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/release_http.hpp"

#include <cstring>

#include "gateway/service/release_page.hpp"
#include "gateway/service/terminal_api.hpp"

namespace pg::service {

namespace asio = boost::asio;

asio::awaitable<std::optional<std::string>> read_small_body(net::BodySource& body, std::size_t limit) {
    std::string out;
    for (;;) {
        auto chunk = co_await body.next();
        if (!chunk) co_return std::nullopt;
        if (chunk->empty()) co_return out;
        if (out.size() + chunk->size() > limit) co_return std::nullopt;
        out.append(reinterpret_cast<const char*>(chunk->data()), chunk->size());
    }
}

net::HttpReply release_reply(unsigned status, std::string content_type, std::string_view text) {
    net::HttpReply r;
    r.status = status;
    r.content_type = std::move(content_type);
    r.body.resize(text.size());
    if (!text.empty()) std::memcpy(r.body.data(), text.data(), text.size());
    r.headers = {{"Cache-Control", "no-store"},
                 {"Pragma", "no-cache"},
                 {"X-Content-Type-Options", "nosniff"},
                 {"X-Frame-Options", "DENY"},
                 {"Referrer-Policy", "no-referrer"},
                 {"Content-Security-Policy",
                  "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                  "base-uri 'none'"},
                 {"Strict-Transport-Security", "max-age=31536000"}};
    return r;
}

asio::awaitable<net::HttpReply> release_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                net::BodySource& body) {
    if (head.target.rfind("/api/", 0) == 0 || head.target == "/api")
        co_return co_await terminal_api_handler(gw, head, body);
    co_return co_await release_page_handler(gw, head, body);
}

}  // namespace pg::service
