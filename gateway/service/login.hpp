// SPDX-License-Identifier: Apache-2.0
// LoginService: the one place where a user's login is decided (issue #7). Every release
// point (the release web page, the terminal API, IPP Release-Job on auth: basic queues)
// calls authenticate() and gets a user or one generic refusal.
//
// Owns: the online/offline choice, the lockout and throttling calls, renewing the
// credential cache after an online login, and the login events of the log. Must not:
// keep or log a secret (the request's secrets are wiped before authenticate() returns),
// tell the caller whether a user exists, or hash on the I/O thread.
//
// Design note
// -----------
// Online first: while the monitor says online or degraded, the server verifies every
// login (docs/upstream-protocol.md, login_info grant); the cache is not consulted, so a
// PIN changed or revoked centrally takes effect at once. A success renews the cached
// method (record_online_login: argon2id, on the blocking pool). Only when the server
// cannot answer (the monitor is offline, or this very call failed as unavailable,
// unauthorized, bad_response or not_configured) does the login fall back to the cache.
// An online verification gets offline_login.online_timeout (3 s), far less than the
// adapter's request_timeout: a black-holed server costs a login that long, then the
// cache decides, and the timeout counts as a failed probe (Monitor::call_failed). A
// user_disabled answer removes what the cache holds for the card, PIN or name used
// (CredentialCache::forget_login), so the user cannot log in offline afterwards.
//
// Refusals: unknown user, wrong secret, expired or too old entry, revoked, disabled,
// ambiguous and a locked user are all LoginStatus::refused; only the log says which.
// Throttling is per source (a terminal id or a peer address), independent of the
// secret, so LoginStatus::throttled tells the caller nothing about users: it comes
// before any verification, with the time to wait. A locked user is detected after the
// verification (a PIN or card login learns the user only then), so a locked account
// costs what any other attempt costs.
//
// Hashing: verify_offline and record_online_login run on the blocking pool. At most
// hash_concurrency of them are handed to the pool at once; more wait on the I/O
// thread (not in the pool's queue), so a burst of logins never stands in front of the
// spool's blocking work for longer than one login's hashes.
//
// Threads: construct, call and destroy on the I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "auth/cache/credential_cache.hpp"
#include "auth/cache/lockout.hpp"
#include "auth/cache/types.hpp"
#include "gateway/log/log.hpp"
#include "gateway/upstream/monitor.hpp"
#include "gateway/upstream/upstream.hpp"

namespace pg::service {

// One login attempt. `secrets` holds what was typed or presented (the fields of the
// method only, auth/cache/types.hpp); authenticate() wipes them.
struct LoginRequest {
    auth::LoginMethod method = auth::LoginMethod::pin;
    auth::LoginSecrets secrets;
    // Where the attempt comes from, for throttling and the log: "terminal:hall-1",
    // "ip:192.0.2.7", "ipp:192.0.2.7". At most 128 bytes are used; "" = "unknown".
    std::string source;
};

enum class LoginStatus {
    ok,           // `user` is set
    refused,      // the one generic refusal: wrong or unknown credentials, expired, locked
    throttled,    // this source failed too often just now: try again after retry_after
    unavailable,  // neither the server nor the cache could decide (storage or hash failure)
};
std::string_view to_string(LoginStatus s);

struct LoginResult {
    LoginStatus status = LoginStatus::refused;
    std::optional<auth::CachedUser> user;      // ok: id, name, full name, email, aliases, accounts
    bool offline = false;                      // ok: verified against the local cache
    std::chrono::milliseconds retry_after{0};  // throttled
    bool ok() const { return status == LoginStatus::ok; }
};

struct LoginCounters {
    std::uint64_t online_ok = 0;
    std::uint64_t offline_ok = 0;   // logins from the cache
    std::uint64_t refused = 0;
    std::uint64_t throttled = 0;
    std::uint64_t lockouts = 0;     // attempts refused because the user was locked
};

// "card", "pin", "password", "card_pin", "card_password".
std::string_view method_name(auth::LoginMethod m);
// The cache's form of what the server says about a user.
auth::CachedUser cached_user_of(const upstream::UserInfo& u);

class LoginService {
public:
    struct Clocks {
        std::function<auth::UnixTime()> wall;                                 // default: system clock, seconds
        std::function<std::chrono::steady_clock::time_point()> steady;        // default: steady_clock
    };

    // References must outlive the service. `hash_concurrency` 0 counts as 1.
    LoginService(boost::asio::thread_pool& pool, upstream::Monitor& monitor, auth::CredentialCache& cache,
                 auth::Lockout& lockout, log::Logger& log, std::size_t hash_concurrency, Clocks clocks = {});
    ~LoginService();
    LoginService(const LoginService&) = delete;
    LoginService& operator=(const LoginService&) = delete;

    // Decides one login (design note above). Never throws; never returns before the
    // verification's hashes ran (except `throttled`). I/O thread.
    boost::asio::awaitable<LoginResult> authenticate(LoginRequest request);

    const LoginCounters& counters() const { return counters_; }
    // How long an online verification may take before the login falls back to the
    // cache (offline_login.online_timeout; the adapter's own request_timeout caps it).
    // 0 = the adapter's. I/O thread, before logins start.
    void set_online_timeout(std::chrono::milliseconds t) { online_timeout_ = t; }
    // Puts back the users' failed offline logins kept in the credential cache (sealed,
    // state "lockout"), so a restart neither unlocks a locked user nor forgets the
    // failures of the window. Call once at start, before logins. False (logged) when
    // the stored state cannot be read: the lockout then starts empty.
    bool restore_lockout();

private:
    class GateSlot;
    boost::asio::awaitable<void> acquire_gate();
    void release_gate();
    // Runs `f` on the pool inside the gate.
    template <class F>
    boost::asio::awaitable<std::invoke_result_t<F>> hash_work(F f);

    boost::asio::awaitable<std::optional<LoginResult>> try_online(const LoginRequest& r, const std::string& source);
    boost::asio::awaitable<LoginResult> offline(const LoginRequest& r, const std::string& source);
    LoginResult refuse(const LoginRequest& r, const std::string& source, std::string_view reason, bool offline);
    // Stores the users' failures (Lockout::user_failures, as wall-clock times) in the
    // cache, on the pool; awaited, so a failure counted is durable before the reply.
    boost::asio::awaitable<void> save_lockout();

    boost::asio::thread_pool& pool_;
    upstream::Monitor& monitor_;
    auth::CredentialCache& cache_;
    auth::Lockout& lockout_;
    log::Logger& log_;
    Clocks clocks_;
    std::size_t gate_limit_;
    std::size_t gate_in_use_ = 0;
    std::deque<boost::asio::steady_timer*> gate_waiters_;
    LoginCounters counters_;
    std::chrono::milliseconds online_timeout_{3000};
    std::mutex save_mutex_;  // one snapshot-and-write at a time, so the last written is the newest
};

}  // namespace pg::service
