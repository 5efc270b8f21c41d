// SPDX-License-Identifier: Apache-2.0
// Login lockout and per-source throttling (issue #7, "Credential cache"): pure logic over
// times the caller passes in.
//
// Owns: the failure windows of users and the delays of sources. Must not: read a clock,
// sleep, log or do I/O; the caller delays or refuses and writes EVENT=login_lockout.
// Thread-safe: one mutex guards the tables (each call is a few map operations).
//
// Rules
// - A user (VerifyResult::lockout_key, "u:<id>" or "n:<folded name>") is locked while it
//   has max_failures failures within `window` (sliding: 10 in any 15 minutes), until the
//   oldest of those leaves the window. A success while not locked clears the user's
//   failures. While locked, even the right secret is refused (check before trusting a
//   verify), and failures still count, so a guesser keeps the lock closed.
// - A source (terminal id, or peer address) gets a growing delay after `free_failures`
//   consecutive failures: 0, 0, 0, then base_delay doubling (1 s, 2 s, 4 s ...) up to
//   max_delay (30 s), measured from its last failure. All failures count, including those
//   that name no user (a wrong PIN or card), which lock no one out: so one person's typos
//   slow down that terminal only, never everyone at a printer. A success from the source,
//   or source_reset without a failure, resets it.
// - Memory: at most max_users and max_sources entries; when full, entries with nothing
//   left in their window are dropped first, then the one idle longest.
//
// Use per attempt:  d = check(key_or_empty, source, now); if (!d.allowed()) refuse or wait;
//   r = cache.verify_offline(...); d = check(r.lockout_key, source, now) (a PIN or card
//   login learns the user only now); if locked: refuse (record_failure); else if r.ok():
//   record_success; else record_failure(r.lockout_key, source, now).
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pg::auth {

struct LockoutOptions {
    std::size_t max_failures = 10;                 // offline_login.max_failures
    std::chrono::seconds window{15 * 60};
    std::size_t free_failures = 3;                 // per source before any delay
    std::chrono::milliseconds base_delay{1000};
    std::chrono::milliseconds max_delay{30000};
    std::chrono::seconds source_reset{15 * 60};    // a quiet source starts again from 0
    std::size_t max_users = 4096;
    std::size_t max_sources = 4096;
};

class Lockout {
public:
    using TimePoint = std::chrono::steady_clock::time_point;

    struct Decision {
        enum class Kind { allowed, wait, locked };
        Kind kind = Kind::allowed;
        std::chrono::milliseconds wait{0};  // Kind::wait: try again after this long
        TimePoint locked_until{};            // Kind::locked: the user is refused until then
        bool allowed() const { return kind == Kind::allowed; }
    };

    struct LockedUser {
        std::string key;
        TimePoint locked_until;
        std::size_t failures = 0;  // within the window
    };

    explicit Lockout(LockoutOptions options = {});

    // What may happen now. A locked user wins over a waiting source. Either argument may
    // be empty (no user known yet; no source).
    Decision check(std::string_view user_key, std::string_view source, TimePoint now) const;
    // Counts a failed attempt (user_key empty: it named no user) and returns check() after it.
    Decision record_failure(std::string_view user_key, std::string_view source, TimePoint now);
    // Clears the source's delay and, unless locked, the user's failures. True when the user
    // had failures that are now gone (the caller saves the kept state then).
    bool record_success(std::string_view user_key, std::string_view source, TimePoint now);
    // An administrator's unlock (printgatectl). False when the key was not tracked.
    bool unlock(std::string_view user_key);
    // Users locked at `now`, for printgatectl and the status page.
    std::vector<LockedUser> locked_users(TimePoint now) const;

    std::size_t tracked_users() const;
    std::size_t tracked_sources() const;

    // A user's failures within the window, for keeping them across a restart (the
    // caller converts the times to wall-clock time and stores them sealed: a key may
    // name a user). Source delays are not kept: they are short.
    struct UserFailures {
        std::string key;
        std::vector<TimePoint> at;  // ascending
        friend bool operator==(const UserFailures&, const UserFailures&) = default;
    };
    std::vector<UserFailures> user_failures(TimePoint now) const;
    // Puts back what user_failures() gave (times converted back), replacing what is
    // tracked for those keys. Failures outside the window at `now` are dropped; at most
    // max_failures per user and max_users users are kept.
    void restore(const std::vector<UserFailures>& users, TimePoint now);

private:
    struct UserState {
        std::vector<TimePoint> failures;  // ascending, at most max_failures, within the window
        TimePoint last{};
    };
    struct SourceState {
        std::size_t failures = 0;  // consecutive
        TimePoint last{};
    };

    void prune_locked(UserState& u, TimePoint now) const;
    Decision user_decision_locked(std::string_view key, TimePoint now) const;
    Decision source_decision_locked(std::string_view source, TimePoint now) const;
    std::chrono::milliseconds delay_after(std::size_t failures) const;
    void make_room_users_locked(TimePoint now);
    void make_room_sources_locked(TimePoint now);

    LockoutOptions options_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, UserState> users_;
    std::unordered_map<std::string, SourceState> sources_;
};

}  // namespace pg::auth
