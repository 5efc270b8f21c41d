// SPDX-License-Identifier: Apache-2.0
// The upstream's reachability state machine, without I/O: probe and forward
// outcomes in, state transitions out. The Monitor (monitor.hpp) drives it with
// real probes and a real clock; unit tests drive it with made-up times.
//
// States (docs/failover.md):
//   online    the server answers; server queues forward.
//   degraded  the server answers, but slowly (a probe over degraded_latency) or
//             partly (429, or a forward failed while probes pass); jobs still
//             forward. Shown and logged only.
//   offline   fail_threshold consecutive failures; server queues hold jobs here.
// Back from offline only after recover_threshold consecutive successes whose
// streak spans at least hold_down (hysteresis: a server that flaps faster than
// hold_down keeps the gateway offline instead of making it flap).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pg::upstream {

enum class State { online, degraded, offline };
std::string_view to_string(State s);

struct ReachabilityOptions {
    unsigned fail_threshold = 3;
    unsigned recover_threshold = 3;
    std::chrono::milliseconds hold_down{10000};
    std::chrono::milliseconds degraded_latency{500};
};

struct StateChange {
    State from = State::online;
    State to = State::online;
    std::string reason;                    // the failure or success that decided it
    std::chrono::milliseconds outage{0};   // offline -> online: how long the outage lasted
};

class Reachability {
public:
    using Clock = std::chrono::steady_clock;

    // Starts online: a gateway that just started assumes the server is there and
    // lets the first probes decide (a failed first forward counts at once), so
    // jobs are not held for the first seconds after every restart.
    explicit Reachability(ReachabilityOptions o, Clock::time_point now);

    // A probe answered (latency of the status call). `partial` marks an answer that
    // is not a full success (429, or the server's own status "degraded"): it counts
    // as degraded, not as a failure.
    std::optional<StateChange> success(Clock::time_point now, std::chrono::milliseconds latency,
                                       bool partial = false);
    // A probe, a token request or a forward failed as "unavailable".
    std::optional<StateChange> failure(Clock::time_point now, std::string reason);
    // Forced offline until `until` (printgatectl drill): offline at once, probes keep
    // running but cannot bring it back before `until`; then the normal rule applies
    // with the hold-down counted from the drill's start.
    std::optional<StateChange> force_offline(Clock::time_point now, Clock::time_point until, std::string reason);
    // The forced period ended: if the probes since then allow, back online.
    std::optional<StateChange> tick(Clock::time_point now);

    State state() const { return state_; }
    bool reachable() const { return state_ != State::offline; }
    Clock::time_point since() const { return since_; }
    const std::string& last_error() const { return last_error_; }
    unsigned consecutive_failures() const { return failures_; }
    unsigned consecutive_successes() const { return successes_; }
    std::uint64_t transitions() const { return transitions_; }
    bool forced() const { return forced_until_.has_value(); }
    void set_options(const ReachabilityOptions& o) { o_ = o; }

private:
    std::optional<StateChange> move(State to, Clock::time_point now, std::string reason);
    std::optional<StateChange> maybe_recover(Clock::time_point now, State to);

    ReachabilityOptions o_;
    State state_ = State::online;
    Clock::time_point since_;
    Clock::time_point streak_start_{};
    unsigned failures_ = 0;
    unsigned successes_ = 0;
    unsigned fast_ = 0;  // consecutive full, fast successes (degraded -> online)
    std::uint64_t transitions_ = 0;
    std::string last_error_;
    std::optional<Clock::time_point> forced_until_;
};

}  // namespace pg::upstream
