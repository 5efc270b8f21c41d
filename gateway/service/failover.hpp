// SPDX-License-Identifier: Apache-2.0
// Failover: what happens to the jobs of `mode: server` queues as the upstream
// comes and goes (docs/failover.md, docs/job-states.md "Server queues").
//
// Owns: the commit-time route of direct and server queues (routing is part of
// the commit), the duplicate check right after a switch, holding the server
// queues' unsent jobs when the upstream goes offline, and forwarding the jobs
// held by the outage when it comes back (queues with on_recovery: forward).
// Must not: send anything (the forwarder does) or write the index other than
// through Spool::transition.
//
// Threads: I/O thread. Spool transitions run on the blocking pool.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "gateway/spool/spool.hpp"
#include "gateway/upstream/reachability.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

// The forwarder route of a server queue's jobs: "server:QUEUE" (queue names have
// no ':', printer names neither, and URIs have "://": no clash).
std::string server_route(std::string_view queue);
bool is_server_route(std::string_view route);
std::string_view queue_of_server_route(std::string_view route);

// job-state-message of jobs held because the central server is unreachable.
inline constexpr std::string_view kOutageMessage = "central server unreachable, held for release here";

struct FailoverCounters {
    std::uint64_t held_at_commit = 0;    // committed held because the upstream was offline
    std::uint64_t held_on_outage = 0;    // routed jobs taken back to held when it went offline
    std::uint64_t forwarded_on_recovery = 0;
    std::uint64_t duplicates_held = 0;
};

class Failover {
public:
    explicit Failover(app::Gateway& gw);

    // Before the commit of a finished writer: a direct queue's job is routed to its
    // printer; a server queue's job to the server while the upstream is reachable,
    // else held (outage), or held as a likely duplicate right after a switch.
    // Jobs whose client asked for a hold (job-hold-until) stay held.
    void route_at_commit(spool::JobWriter& writer);

    // The monitor's transition handler.
    void on_change(const upstream::StateChange& change);

    // Takes one pending, never-sent (not in doubt) server job back to held because
    // the upstream is offline. Returns whether it did. Blocking pool work inside.
    boost::asio::awaitable<bool> hold_for_outage(std::uint64_t id);

    const FailoverCounters& counters() const { return counters_; }

private:
    boost::asio::awaitable<void> hold_all();
    boost::asio::awaitable<void> forward_held();

    app::Gateway& gw_;
    FailoverCounters counters_;
};

}  // namespace pg::service
