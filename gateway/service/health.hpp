// SPDX-License-Identifier: Apache-2.0
// The admin listener's two pages for fleet monitoring (docs/monitoring.md):
// GET /healthz (JSON: the gateway and upstream state) and GET /metrics
// (Prometheus text format 0.0.4). Read-only, no user data, no secrets.
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>

#include "gateway/net/http_session.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

boost::asio::awaitable<net::HttpReply> health_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                      net::BodySource& body);

// The same JSON as /healthz and `printgatectl status --json`'s "upstream" member.
std::string upstream_status_json(app::Gateway& gw);

}  // namespace pg::service
