// SPDX-License-Identifier: Apache-2.0
// Unit tests for the upstream reachability state machine (gateway/upstream/
// reachability.hpp) with made-up times: thresholds, hysteresis, flapping,
// degraded, drills.
#include <catch2/catch.hpp>

#include "gateway/upstream/reachability.hpp"

using namespace pg::upstream;
using namespace std::chrono_literals;
using T = Reachability::Clock::time_point;

namespace {

ReachabilityOptions defaults() { return {3, 3, 10000ms, 500ms}; }

}  // namespace

TEST_CASE("starts online and goes offline after fail_threshold failures", "[upstream][reachability]") {
    T t0{};
    Reachability r(defaults(), t0);
    CHECK(r.state() == State::online);
    CHECK_FALSE(r.failure(t0 + 1s, "refused"));
    CHECK_FALSE(r.failure(t0 + 2s, "refused"));
    auto c = r.failure(t0 + 3s, "connection refused");
    REQUIRE(c);
    CHECK(c->from == State::online);
    CHECK(c->to == State::offline);
    CHECK(c->reason.find("3 consecutive failures, last: connection refused") != std::string::npos);
    CHECK(r.last_error() == "connection refused");
    CHECK_FALSE(r.reachable());
}

TEST_CASE("a success between failures resets the count", "[upstream][reachability]") {
    T t0{};
    Reachability r(defaults(), t0);
    r.failure(t0 + 1s, "x");
    r.failure(t0 + 2s, "x");
    r.success(t0 + 3s, 10ms);
    CHECK_FALSE(r.failure(t0 + 4s, "x"));
    CHECK_FALSE(r.failure(t0 + 5s, "x"));
    CHECK(r.failure(t0 + 6s, "x"));
}

TEST_CASE("back online needs recover_threshold successes over hold_down", "[upstream][reachability]") {
    T t0{};
    Reachability r(defaults(), t0);
    for (int i = 1; i <= 3; ++i) r.failure(t0 + std::chrono::seconds(i), "down");
    REQUIRE(r.state() == State::offline);
    // Three quick successes are not enough: the streak must span hold_down.
    for (int i = 10; i <= 19; ++i) CHECK_FALSE(r.success(t0 + std::chrono::seconds(i), 20ms));
    auto c = r.success(t0 + 20s, 20ms);
    REQUIRE(c);
    CHECK(c->to == State::online);
    CHECK(c->outage == 17s);  // offline at 3 s, back at 20 s
}

TEST_CASE("a server flapping faster than hold_down keeps the gateway offline", "[upstream][reachability]") {
    // Up 2 s / down 2 s for 60 s with a probe every second: one transition (to
    // offline), never back: docs/failover.md's arithmetic.
    T t0{};
    auto flap = [&](Reachability& r) {
        for (int s = 0; s < 60; ++s) {
            const T now = t0 + std::chrono::seconds(s);
            if ((s / 2) % 2 == 0) r.success(now, 20ms);
            else r.failure(now, "flap");
        }
    };
    Reachability r(defaults(), t0);
    flap(r);
    // Two failures in a row never reach fail_threshold 3: still online, no flapping.
    CHECK(r.transitions() == 0);
    // With fail_threshold 2 the gateway goes offline once and stays there.
    Reachability r2({2, 3, 10000ms, 500ms}, t0);
    flap(r2);
    CHECK(r2.transitions() == 1);
    CHECK(r2.state() == State::offline);
}

TEST_CASE("slow or rate-limited answers are degraded, not offline", "[upstream][reachability]") {
    T t0{};
    Reachability r(defaults(), t0);
    auto c = r.success(t0 + 1s, 800ms);
    REQUIRE(c);
    CHECK(c->to == State::degraded);
    CHECK(r.reachable());
    CHECK_FALSE(r.success(t0 + 2s, 10ms));
    CHECK_FALSE(r.success(t0 + 3s, 10ms));
    c = r.success(t0 + 4s, 10ms);
    REQUIRE(c);
    CHECK(c->to == State::online);
    c = r.success(t0 + 5s, 0ms, true);
    REQUIRE(c);
    CHECK(c->to == State::degraded);
    // Failures from degraded count as from online.
    r.failure(t0 + 6s, "x");
    r.failure(t0 + 7s, "x");
    c = r.failure(t0 + 8s, "x");
    REQUIRE(c);
    CHECK(c->from == State::degraded);
    CHECK(c->to == State::offline);
}

TEST_CASE("a drill forces offline until its end, then the probes decide", "[upstream][reachability]") {
    T t0{};
    Reachability r(defaults(), t0);
    auto c = r.force_offline(t0, t0 + 30s, "drill");
    REQUIRE(c);
    CHECK(c->to == State::offline);
    CHECK(r.forced());
    for (int s = 1; s < 30; ++s) CHECK_FALSE(r.success(t0 + std::chrono::seconds(s), 10ms));
    CHECK_FALSE(r.tick(t0 + 29s));
    c = r.tick(t0 + 30s);
    REQUIRE(c);
    CHECK(c->to == State::online);
    CHECK(c->outage == 30s);
    CHECK_FALSE(r.forced());
}

TEST_CASE("a drill while the server is down ends in normal offline", "[upstream][reachability]") {
    T t0{};
    Reachability r(defaults(), t0);
    r.force_offline(t0, t0 + 5s, "drill");
    for (int s = 1; s <= 6; ++s) r.failure(t0 + std::chrono::seconds(s), "down");
    CHECK_FALSE(r.tick(t0 + 6s));
    CHECK_FALSE(r.forced());
    CHECK(r.state() == State::offline);
    for (int s = 7; s <= 16; ++s) CHECK_FALSE(r.success(t0 + std::chrono::seconds(s), 10ms));
    CHECK(r.success(t0 + 17s, 10ms));
}
