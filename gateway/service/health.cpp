// SPDX-License-Identifier: Apache-2.0
// /healthz and /metrics. See health.hpp.
#include "gateway/service/health.hpp"

#include <map>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/app/gateway.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/failover.hpp"
#include "gateway/upstream/monitor.hpp"

namespace pg::service {

namespace json = boost::json;

namespace {

std::vector<std::byte> bytes(std::string_view s) {
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

std::int64_t ms_since(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now() - t).count();
}

// Jobs waiting for the server: routed to a server queue and not yet acknowledged,
// plus those held by an outage.
std::uint64_t jobs_waiting(app::Gateway& gw) {
    std::uint64_t n = 0;
    gw.spool().for_each([&](const spool::JobRecord& j) {
        if ((j.state == spool::JobState::pending || j.state == spool::JobState::processing) &&
            is_server_route(j.delivery.route) && j.delivery.remote_id.empty())
            ++n;
        else if (j.state == spool::JobState::held && j.delivery.held_by == "outage")
            ++n;
    });
    return n;
}

json::object upstream_object(app::Gateway& gw) {
    const auto s = gw.monitor().snapshot();
    json::object o;
    o["enabled"] = s.enabled;
    o["state"] = std::string(upstream::to_string(s.state));
    o["since"] = spool::rfc3339(
        std::chrono::duration_cast<std::chrono::milliseconds>(s.since.time_since_epoch()).count());
    o["seconds_in_state"] = static_cast<double>(ms_since(s.since)) / 1000.0;
    o["last_error"] = s.last_error;
    if (s.last_latency.count() >= 0) o["last_probe_latency_ms"] = s.last_latency.count();
    else o["last_probe_latency_ms"] = nullptr;
    o["probes_ok"] = s.probes_ok;
    o["probes_failed"] = s.probes_failed;
    o["forward_failures"] = s.forward_failures;
    o["transitions"] = s.transitions;
    o["outage_seconds"] = static_cast<double>(s.outage_total.count()) / 1000.0;
    o["drill"] = s.drill;
    o["jobs_waiting"] = jobs_waiting(gw);
    const auto& c = gw.failover().counters();
    o["held_at_commit"] = c.held_at_commit;
    o["held_on_outage"] = c.held_on_outage;
    o["forwarded_on_recovery"] = c.forwarded_on_recovery;
    o["duplicates_held"] = c.duplicates_held;
    o["forwards"] = gw.forwarder().server_forwards();
    return o;
}

std::string metrics(app::Gateway& gw) {
    std::map<std::string, std::uint64_t> by_state;
    for (const char* s : {"pending-held", "pending", "processing", "completed", "aborted", "canceled"})
        by_state[s] = 0;
    gw.spool().for_each([&](const spool::JobRecord& j) { ++by_state[std::string(spool::ipp_name(j.state))]; });
    const auto s = gw.monitor().snapshot();
    const auto& c = gw.failover().counters();
    std::string out;
    auto add = [&out](std::string_view name, std::string_view type, std::string_view help) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    };
    add("printgate_jobs", "gauge", "Jobs in the spool by IPP job state.");
    for (const auto& [state, n] : by_state) out += fmt::format("printgate_jobs{{state=\"{}\"}} {}\n", state, n);
    add("printgate_upstream_state", "gauge", "1 for the upstream's current state (online, degraded, offline).");
    for (auto st : {upstream::State::online, upstream::State::degraded, upstream::State::offline})
        out += fmt::format("printgate_upstream_state{{state=\"{}\"}} {}\n", upstream::to_string(st),
                           s.state == st ? 1 : 0);
    add("printgate_upstream_transitions_total", "counter", "Upstream state changes since start.");
    out += fmt::format("printgate_upstream_transitions_total {}\n", s.transitions);
    add("printgate_upstream_outage_seconds_total", "counter", "Seconds offline since start, the current outage included.");
    out += fmt::format("printgate_upstream_outage_seconds_total {:.3f}\n", static_cast<double>(s.outage_total.count()) / 1000.0);
    add("printgate_upstream_probes_total", "counter", "Reachability probes by result.");
    out += fmt::format("printgate_upstream_probes_total{{result=\"ok\"}} {}\n", s.probes_ok);
    out += fmt::format("printgate_upstream_probes_total{{result=\"failed\"}} {}\n", s.probes_failed);
    add("printgate_upstream_probe_latency_seconds", "gauge", "Latency of the last successful probe.");
    out += fmt::format("printgate_upstream_probe_latency_seconds {:.3f}\n",
                       s.last_latency.count() < 0 ? 0.0 : static_cast<double>(s.last_latency.count()) / 1000.0);
    add("printgate_forwards_total", "counter", "Jobs the server queue acknowledged.");
    out += fmt::format("printgate_forwards_total {}\n", gw.forwarder().server_forwards());
    add("printgate_forward_failures_total", "counter", "Forwards that could not reach the server.");
    out += fmt::format("printgate_forward_failures_total {}\n", s.forward_failures);
    add("printgate_jobs_held_by_outage_total", "counter", "Server-queue jobs held because the upstream was offline.");
    out += fmt::format("printgate_jobs_held_by_outage_total {}\n", c.held_at_commit + c.held_on_outage);
    add("printgate_duplicates_held_total", "counter", "Jobs held as likely re-submissions after a failover.");
    out += fmt::format("printgate_duplicates_held_total {}\n", c.duplicates_held);
    return out;
}

}  // namespace

std::string upstream_status_json(app::Gateway& gw) { return json::serialize(upstream_object(gw)); }

boost::asio::awaitable<net::HttpReply> health_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                      net::BodySource&) {
    net::HttpReply r;
    r.headers.push_back({"Cache-Control", "no-store"});
    const std::string path = head.target.substr(0, head.target.find('?'));
    if (head.method != "GET" && head.method != "HEAD") {
        r.status = 405;
        r.headers.push_back({"Allow", "GET, HEAD"});
        r.content_type = "text/plain; charset=utf-8";
        r.body = bytes("only GET and HEAD are served here\n");
        co_return r;
    }
    if (path == "/healthz") {
        json::object o;
        o["status"] = gw.stopping() ? "stopping" : "ok";
        o["upstream"] = upstream_object(gw);
        const auto u = gw.spool().usage();
        o["jobs"] = u.jobs;
        r.content_type = "application/json";
        r.body = bytes(json::serialize(o) + "\n");
        co_return r;
    }
    if (path == "/metrics") {
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = bytes(metrics(gw));
        co_return r;
    }
    r.status = 404;
    r.content_type = "text/plain; charset=utf-8";
    r.body = bytes("not found: try /healthz or /metrics\n");
    co_return r;
}

}  // namespace pg::service
