// SPDX-License-Identifier: Apache-2.0
// The listen.release HTTPS listener (issue #7): one handler that sends /api/ to the
// terminal API (terminal_api.hpp, docs/terminal-api.md) and everything else to the
// release web page (release_page.hpp). Both sit on ReleaseService.
//
// Also the small helpers both need: reading a bounded request body whole (forms and
// JSON requests are small), and the replies every page shares (security headers).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "gateway/net/http_session.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

// Largest request body a release point reads (a login form, a JSON request).
inline constexpr std::size_t kMaxReleaseBody = 16 * 1024;

boost::asio::awaitable<net::HttpReply> release_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                       net::BodySource& body);

// The whole body, or nullopt when it is longer than `limit` or the peer broke off.
boost::asio::awaitable<std::optional<std::string>> read_small_body(net::BodySource& body,
                                                                   std::size_t limit = kMaxReleaseBody);

// A reply with `status`, `content_type`, `text` and the headers every release point
// sends: no caching (job lists never stay in a browser), no sniffing, no framing by
// other sites, a strict content security policy.
net::HttpReply release_reply(unsigned status, std::string content_type, std::string_view text);

}  // namespace pg::service
