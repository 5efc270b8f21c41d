// SPDX-License-Identifier: Apache-2.0
// The reachability state machine. See reachability.hpp and docs/failover.md.
#include "gateway/upstream/reachability.hpp"

#include <fmt/format.h>

namespace pg::upstream {

std::string_view to_string(State s) {
    switch (s) {
        case State::online: return "online";
        case State::degraded: return "degraded";
        case State::offline: return "offline";
    }
    return "offline";
}

Reachability::Reachability(ReachabilityOptions o, Clock::time_point now) : o_(o), since_(now) {}

std::optional<StateChange> Reachability::move(State to, Clock::time_point now, std::string reason) {
    if (to == state_) return std::nullopt;
    StateChange c;
    c.from = state_;
    c.to = to;
    c.reason = std::move(reason);
    if (state_ == State::offline)
        c.outage = std::chrono::duration_cast<std::chrono::milliseconds>(now - since_);
    state_ = to;
    since_ = now;
    ++transitions_;
    return c;
}

std::optional<StateChange> Reachability::maybe_recover(Clock::time_point now, State to) {
    if (forced_until_ && now < *forced_until_) return std::nullopt;
    if (successes_ < o_.recover_threshold) return std::nullopt;
    if (now - streak_start_ < o_.hold_down) return std::nullopt;
    forced_until_.reset();
    return move(to, now,
                fmt::format("{} consecutive probes answered over {} ms", successes_,
                            std::chrono::duration_cast<std::chrono::milliseconds>(now - streak_start_).count()));
}

std::optional<StateChange> Reachability::success(Clock::time_point now, std::chrono::milliseconds latency,
                                                 bool partial) {
    failures_ = 0;
    if (successes_ == 0) streak_start_ = now;
    ++successes_;
    const bool slow = latency > o_.degraded_latency;
    const bool full = !slow && !partial;
    fast_ = full ? fast_ + 1 : 0;
    const State healthy = full ? State::online : State::degraded;
    switch (state_) {
        case State::offline: return maybe_recover(now, healthy);
        case State::online:
            if (!full)
                return move(State::degraded, now,
                            partial ? std::string("the server answers but is rate limiting or says it is degraded")
                                    : fmt::format("probe took {} ms (degraded_latency {} ms)", latency.count(),
                                                  o_.degraded_latency.count()));
            return std::nullopt;
        case State::degraded:
            if (fast_ >= o_.recover_threshold)
                return move(State::online, now, fmt::format("{} consecutive fast probes", fast_));
            return std::nullopt;
    }
    return std::nullopt;
}

std::optional<StateChange> Reachability::failure(Clock::time_point now, std::string reason) {
    successes_ = 0;
    fast_ = 0;
    ++failures_;
    last_error_ = reason;
    if (state_ != State::offline && failures_ >= o_.fail_threshold)
        return move(State::offline, now, fmt::format("{} consecutive failures, last: {}", failures_, reason));
    return std::nullopt;
}

std::optional<StateChange> Reachability::force_offline(Clock::time_point now, Clock::time_point until,
                                                       std::string reason) {
    forced_until_ = until;
    if (successes_ == 0) streak_start_ = now;
    return move(State::offline, now, std::move(reason));
}

std::optional<StateChange> Reachability::tick(Clock::time_point now) {
    if (!forced_until_ || now < *forced_until_) return std::nullopt;
    if (state_ != State::offline) {
        forced_until_.reset();
        return std::nullopt;
    }
    auto c = maybe_recover(now, fast_ > 0 ? State::online : State::degraded);
    if (!c && failures_ > 0) forced_until_.reset();  // the server is really down: normal rules from now
    return c;
}

}  // namespace pg::upstream
