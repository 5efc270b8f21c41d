// SPDX-License-Identifier: Apache-2.0
// Unit tests for auth/cache/lockout: user lockout over a sliding window, per-source
// throttling, bounded memory. Times are injected; nothing sleeps.
#include "auth/cache/lockout.hpp"

#include <catch2/catch.hpp>

#include <string>

namespace auth = pg::auth;
using namespace std::chrono_literals;
using Kind = auth::Lockout::Decision::Kind;

namespace {
const auth::Lockout::TimePoint t0 = auth::Lockout::TimePoint{} + 1000h;
}

TEST_CASE("10 failures in 15 minutes lock the user; the 11th attempt, right or wrong, is refused", "[lockout]") {
    auth::Lockout l;
    // Ten wrong passwords from ten terminals (so no source throttling gets in the way).
    for (int i = 0; i < 9; ++i) {
        const auto d = l.record_failure("u:alice", "term-" + std::to_string(i), t0 + i * 1min);
        CHECK(d.kind == Kind::allowed);
    }
    const auto tenth = l.record_failure("u:alice", "term-9", t0 + 9min);
    REQUIRE(tenth.kind == Kind::locked);
    CHECK(tenth.locked_until == t0 + 15min);  // the first failure leaves the window then

    // The 11th attempt, with the right password: the caller checks before trusting verify.
    const auto d = l.check("u:alice", "term-10", t0 + 10min);
    CHECK(d.kind == Kind::locked);
    CHECK_FALSE(l.record_success("u:alice", "term-10", t0 + 10min));  // must not unlock a locked user
    CHECK(l.check("u:alice", "term-10", t0 + 10min).kind == Kind::locked);
    // Other users are unaffected.
    CHECK(l.check("u:bob", "term-10", t0 + 10min).allowed());
    auto locked = l.locked_users(t0 + 10min);
    REQUIRE(locked.size() == 1);
    CHECK(locked[0].key == "u:alice");
    CHECK(locked[0].failures == 10);

    // Sliding window: at +15 min the first failure is out, 9 remain: allowed again.
    CHECK(l.check("u:alice", "", t0 + 15min).allowed());
    // One more failure locks again until the second failure (at +1 min) leaves the window.
    const auto again = l.record_failure("u:alice", "", t0 + 15min);
    CHECK(again.kind == Kind::locked);
    CHECK(again.locked_until == t0 + 16min);
    CHECK(l.unlock("u:alice"));
    CHECK(l.check("u:alice", "", t0 + 15min).allowed());
}

TEST_CASE("failures spread wider than the window never lock", "[lockout]") {
    auth::Lockout l;
    for (int i = 0; i < 30; ++i) CHECK(l.record_failure("u:alice", "", t0 + i * 2min).allowed());
    // A success clears the count.
    for (int i = 0; i < 9; ++i) l.record_failure("u:bob", "", t0 + i * 1s);
    CHECK(l.record_success("u:bob", "", t0 + 10s));  // true: bob had failures, now cleared
    CHECK_FALSE(l.record_success("u:bob", "", t0 + 10s));
    CHECK_FALSE(l.record_success("u:carol", "", t0 + 10s));  // never failed
    CHECK(l.record_failure("u:bob", "", t0 + 11s).allowed());
}

TEST_CASE("a burst from one source is throttled there, not elsewhere, and locks no one", "[lockout]") {
    auth::Lockout l;
    // Wrong PINs name no user: source only.
    CHECK(l.record_failure("", "term-A", t0).allowed());
    CHECK(l.record_failure("", "term-A", t0).allowed());
    CHECK(l.record_failure("", "term-A", t0).allowed());
    auto d = l.record_failure("", "term-A", t0);  // 4th: 1 s
    REQUIRE(d.kind == Kind::wait);
    CHECK(d.wait == 1000ms);
    CHECK(l.check("", "term-A", t0 + 400ms).wait == 600ms);
    CHECK(l.check("", "term-A", t0 + 1s).allowed());
    CHECK(l.record_failure("", "term-A", t0 + 1s).wait == 2000ms);   // 5th
    CHECK(l.record_failure("", "term-A", t0 + 3s).wait == 4000ms);   // 6th
    CHECK(l.record_failure("", "term-A", t0 + 7s).wait == 8000ms);   // 7th
    CHECK(l.record_failure("", "term-A", t0 + 15s).wait == 16000ms); // 8th
    CHECK(l.record_failure("", "term-A", t0 + 31s).wait == 30000ms); // 9th: capped
    for (int i = 0; i < 20; ++i) CHECK(l.record_failure("", "term-A", t0 + 61s + i * 30s).wait == 30000ms);

    // Another terminal logs in at once; nobody is locked.
    CHECK(l.check("u:alice", "term-B", t0 + 61s).allowed());
    CHECK(l.locked_users(t0 + 61s).empty());
    CHECK(l.tracked_users() == 0);

    // A success from term-A resets its delay.
    CHECK_FALSE(l.record_success("u:alice", "term-A", t0 + 700s));  // alice had no failure of her own
    CHECK(l.check("", "term-A", t0 + 700s).allowed());
    CHECK(l.record_failure("", "term-A", t0 + 700s).allowed());

    // A quiet source starts again from zero.
    auth::Lockout q;
    for (int i = 0; i < 6; ++i) q.record_failure("", "term-C", t0);
    CHECK(q.check("", "term-C", t0 + 1s).kind == Kind::wait);
    CHECK(q.record_failure("", "term-C", t0 + 16min).allowed());
}

TEST_CASE("lockout memory is bounded", "[lockout]") {
    auth::LockoutOptions o;
    o.max_users = 100;
    o.max_sources = 50;
    auth::Lockout l(o);
    for (int i = 0; i < 1000; ++i)
        l.record_failure("n:guess" + std::to_string(i), "src-" + std::to_string(i), t0 + i * 1ms);
    CHECK(l.tracked_users() <= 100);
    CHECK(l.tracked_sources() <= 50);
    // The newest entries are kept.
    for (int i = 0; i < 9; ++i) l.record_failure("n:guess999", "", t0 + 2s);
    CHECK(l.check("n:guess999", "", t0 + 2s).kind == Kind::locked);
}

TEST_CASE("user failures survive a round trip through user_failures and restore", "[lockout]") {
    auth::Lockout before;
    for (int i = 0; i < 10; ++i) before.record_failure("n:alice", "term-" + std::to_string(i), t0 + i * 1min);
    before.record_failure("u:bob", "", t0 + 5min);
    before.record_failure("u:old", "", t0 - 20min);  // outside the window at t0 + 9 min: not kept
    const auto kept = before.user_failures(t0 + 9min);
    REQUIRE(kept.size() == 2);
    CHECK(kept[0].key == "n:alice");
    CHECK(kept[0].at.size() == 10);
    CHECK(kept[1].key == "u:bob");

    // A new process (its own steady clock): the same failures, shifted, lock alice again.
    const auto shift = 500h;
    std::vector<auth::Lockout::UserFailures> moved = kept;
    for (auto& u : moved)
        for (auto& t : u.at) t += shift;
    auth::Lockout after;
    after.restore(moved, t0 + 9min + shift);
    const auto d = after.check("n:alice", "elsewhere", t0 + 9min + shift);
    REQUIRE(d.kind == Kind::locked);
    CHECK(d.locked_until == t0 + 15min + shift);
    CHECK(after.check("u:bob", "", t0 + 9min + shift).allowed());
    CHECK(after.user_failures(t0 + 9min + shift) == moved);
    // Source delays are not carried over.
    CHECK(after.tracked_sources() == 0);
    // Restoring never keeps more than max_failures per user, nor failures outside the window.
    auth::Lockout small({.max_failures = 3});
    small.restore({{"u:x", {t0 - 16min, t0 - 5min, t0 - 4min, t0 - 3min, t0 - 2min}}}, t0);
    const auto x = small.user_failures(t0);
    REQUIRE(x.size() == 1);
    CHECK(x[0].at == std::vector<auth::Lockout::TimePoint>{t0 - 4min, t0 - 3min, t0 - 2min});
}
