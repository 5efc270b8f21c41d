// SPDX-License-Identifier: Apache-2.0
// One forwarding worker's state (forwarder.cpp, forwarder_lpd.cpp): internal to
// gateway/output, included by nothing else.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/output/forwarder.hpp"

namespace pg::output {

struct Forwarder::Worker {
    std::string route;
    boost::asio::steady_timer wake;
    DestinationStatus status;
    IppClient* client = nullptr;  // the connection in use, for stop()
    bool running = false;
    bool poked = false;           // wake() arrived while a job was in hand
    std::chrono::milliseconds backoff{0};
    // Since when the destination has failed every send (steady clock); unset while it
    // works or the worker idles. A released job's route is taken back to held once
    // this is older than release.printer_wait (Forwarder::waits).
    std::optional<std::chrono::steady_clock::time_point> failing_since;
    bool failed = false;     // the delivery in hand went through waits() unreachable
    bool only_busy = false;  // set just before waits(): the printer answered, busy

    Worker(boost::asio::io_context& io, std::string r) : route(std::move(r)), wake(io) {
        status.route = route;
        status.reasons = {"none"};
        wake.expires_at(boost::asio::steady_timer::time_point::max());
    }
};

}  // namespace pg::output
