// SPDX-License-Identifier: Apache-2.0
// The reachability monitor: probes the upstream every probe_interval, feeds
// probe and forward outcomes into Reachability, and tells the gateway about each
// transition (docs/failover.md).
//
// Owns: the probe loop (a coroutine on the I/O thread), the Upstream adapter, the
// counters behind `printgatectl status`, /healthz and /metrics, and drills.
// Must not: touch the spool or decide what happens to jobs (the gateway's
// transition handler, service/failover.cpp, does), or log a secret.
//
// Threads: I/O thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "conf/config.hpp"
#include "gateway/upstream/reachability.hpp"
#include "gateway/upstream/upstream.hpp"

namespace pg::upstream {

// What `printgatectl status`, /healthz and /metrics show.
struct MonitorSnapshot {
    bool enabled = false;
    State state = State::online;
    std::chrono::system_clock::time_point since;  // of the current state
    std::string last_error;                       // sanitised
    std::chrono::milliseconds last_latency{-1};   // last successful probe; -1 = none yet
    std::uint64_t probes_ok = 0;
    std::uint64_t probes_failed = 0;
    std::uint64_t forward_failures = 0;
    std::uint64_t transitions = 0;
    std::chrono::milliseconds outage_total{0};    // finished outages, plus the current one
    bool drill = false;                           // a drill forces offline now
};

class Monitor {
public:
    using ChangeHandler = std::function<void(const StateChange&)>;

    // `upstream` null = no upstream configured: the monitor stays online and idle.
    Monitor(boost::asio::io_context& io, const conf::UpstreamConfig& config, std::unique_ptr<Upstream> upstream);
    ~Monitor();

    void on_change(ChangeHandler h) { handler_ = std::move(h); }
    void start();
    void stop();
    // New probe interval and thresholds (SIGHUP). The adapter keeps its URL.
    void reconfigure(const conf::UpstreamConfig& config);

    bool enabled() const { return upstream_ != nullptr; }
    State state() const { return reach_.state(); }
    bool reachable() const { return reach_.reachable(); }
    // steady time of the last transition (for duplicate suppression after a switch).
    std::chrono::steady_clock::time_point changed_at() const { return changed_at_; }
    MonitorSnapshot snapshot() const;
    Upstream* upstream() { return upstream_.get(); }

    // A forward to a server queue could not reach the server: counts as a failed
    // probe at once (the first job sees a dead link, not only the next tick).
    void forward_failed(const std::string& reason);
    // Another call to the server (a login's verification) could not reach it: counts
    // as a failed probe, like forward_failed, without counting as a forward.
    void call_failed(const std::string& reason);
    // One probe now, outside the schedule; its outcome counts like any probe.
    boost::asio::awaitable<Result<ProbeResult>> probe_now();
    // Offline for `period` whatever the probes say (printgatectl drill).
    void drill(std::chrono::milliseconds period);

private:
    boost::asio::awaitable<void> loop();
    void record(const Result<ProbeResult>& r, std::chrono::steady_clock::time_point started);
    void apply(std::optional<StateChange> c);

    boost::asio::io_context& io_;
    conf::UpstreamConfig config_;
    std::unique_ptr<Upstream> upstream_;
    Reachability reach_;
    boost::asio::steady_timer timer_;
    boost::asio::steady_timer drill_timer_;
    ChangeHandler handler_;
    std::chrono::system_clock::time_point since_wall_;
    std::chrono::steady_clock::time_point changed_at_{};
    std::chrono::milliseconds last_latency_{-1};
    std::chrono::milliseconds outage_done_{0};
    std::uint64_t probes_ok_ = 0;
    std::uint64_t probes_failed_ = 0;
    std::uint64_t forward_failures_ = 0;
    bool running_ = false;
    bool stopping_ = false;
};

}  // namespace pg::upstream
