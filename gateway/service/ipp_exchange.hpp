// SPDX-License-Identifier: Apache-2.0
// Internal to the IPP service (ipp_service.cpp, ipp_job_ops.cpp): one request's
// exchange and the small helpers both files use. Not for other modules.
//
// Threads: the gateway's I/O thread, like IppService.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "gateway/net/http_session.hpp"
#include "gateway/service/ipp_service.hpp"
#include "gateway/service/release.hpp"
#include "protocols/ipp/message.hpp"
#include "protocols/ipp/request.hpp"
#include "protocols/ipp/response.hpp"

namespace pg::service {

namespace ipp_detail {

using ipp::Status;

inline net::HttpReply ipp_reply(const ipp::Response& r, bool close = false) {
    net::HttpReply reply;
    reply.content_type = "application/ipp";
    reply.body = r.bytes();
    reply.close = close;
    return reply;
}

inline net::HttpReply plain(unsigned status, std::string text) {
    net::HttpReply r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    for (char c : text) r.body.push_back(static_cast<std::byte>(c));
    return r;
}

// The path of a URI ("ipp://host:631/ipp/print/q" -> "/ipp/print/q"), or the
// string itself when it is already a path.
inline std::string uri_path(std::string_view uri) {
    auto scheme = uri.find("://");
    if (scheme == std::string_view::npos) return std::string(uri);
    auto slash = uri.find('/', scheme + 3);
    if (slash == std::string_view::npos) return "/";
    auto path = uri.substr(slash);
    if (auto q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
    return std::string(path);
}

// The job a job operation names: job-id, or the last path segment of job-uri.
inline std::optional<std::uint64_t> target_job(const ipp::Request& rq) {
    if (rq.job_id) return static_cast<std::uint64_t>(*rq.job_id);
    if (rq.job_uri) {
        auto p = uri_path(*rq.job_uri);
        auto slash = p.rfind('/');
        if (slash != std::string::npos) {
            try {
                std::size_t pos = 0;
                auto id = std::stoull(p.substr(slash + 1), &pos);
                if (pos == p.size() - slash - 1 && id > 0) return id;
            } catch (...) {
            }
        }
    }
    return std::nullopt;
}

}  // namespace ipp_detail

struct IppService::Exchange {
    const net::HttpRequestHead& head;
    net::BodySource& body;
    ipp::Message message;
    ipp::Request request;
    std::vector<std::byte> leftover;  // document bytes that came with the section
    std::string queue;
    std::string printer_uri;
    std::string host;
    std::string user;
    ipp::Response response{ipp::Status::successful_ok, 1};
    bool close = false;
    bool authenticated = false;  // `user` was verified (HTTP Basic on an auth: basic queue)
    // Set with `authenticated`: who logged in, as every release point sees them
    // (ReleaseService: name, aliases, release.admins); the rules of whose jobs they may
    // act on are ReleaseService::visible's.
    std::optional<ReleaseUser> who;

    Exchange(const net::HttpRequestHead& h, net::BodySource& b) : head(h), body(b) {}

    void fail(ipp::Status s, std::string_view msg) {
        response.set_status(s);
        response.set_status_message(msg);
    }
    // ipp(s)://HOST/ipp/print/QUEUE, or its http(s):// twin for printer-more-info.
    std::string queue_uri(std::string_view q, bool http = false) const {
        const char* scheme = http ? (head.tls ? "https" : "http") : (head.tls ? "ipps" : "ipp");
        return fmt::format("{}://{}/ipp/print/{}", scheme, host, q);
    }
    std::string job_uri(std::uint64_t id) const {
        return fmt::format("{}://{}/jobs/{}", head.tls ? "ipps" : "ipp", host, id);
    }
};

}  // namespace pg::service
