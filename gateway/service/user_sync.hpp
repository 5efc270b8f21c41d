// SPDX-License-Identifier: Apache-2.0
// UserSync: pulls this gateway's sync set from the server into the credential cache
// (issue #7, "User sync"; docs/upstream-protocol.md, "Lookup key" and "Sync").
//
// Owns: the schedule (offline_login.sync_interval, backoff with full jitter after a
// failure), the cursor of the last complete sync, lookup-key registration, and the
// user_sync events of the log. Must not: apply part of a sync (a sync is applied only
// once every page arrived, in one transaction, so a failure keeps the last good set),
// or log a tag, verifier or key.
//
// One run: register the lookup key if this process has not yet (idempotent at the
// server); fetch every page (from the kept cursor: a change sync; without: a full
// one); apply them with CredentialCache::apply_sync on the blocking pool. Recoveries,
// each at most once per run: 409 no_lookup_key -> register again and start over;
// 410 cursor_expired -> drop the cursor and do a full sync; a page naming another
// key_id than ours -> register ours and do a full sync. The cursor lives in memory:
// the first sync after a start is a full one.
//
// Threads: construct, call and destroy on the I/O thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "auth/cache/credential_cache.hpp"
#include "conf/offline_login.hpp"
#include "gateway/log/log.hpp"
#include "gateway/upstream/monitor.hpp"

namespace pg::service {

struct SyncOutcome {
    bool ok = false;
    bool full = false;            // a full sync (no cursor), else a change sync
    std::string error;            // when !ok: what failed (sanitised, no secret)
    auth::SyncReport report;      // when ok
    std::size_t pages = 0;
    std::chrono::milliseconds took{0};
};

struct SyncStatus {
    bool enabled = false;  // an upstream is configured
    std::optional<std::chrono::system_clock::time_point> last_ok;
    std::optional<std::chrono::system_clock::time_point> last_attempt;
    std::string last_error;              // of the last attempt, "" when it succeeded
    unsigned consecutive_failures = 0;
    std::optional<std::chrono::steady_clock::time_point> next;  // the scheduled run
};

class UserSync {
public:
    // Upper bound on pages in one run (a server that never says complete is an error).
    static constexpr std::size_t kMaxPages = 200;
    // Backoff after a failure: full jitter over min(cap, base * 2^(n-1)), the cap also
    // bounded by sync_interval (docs/upstream-protocol.md, "Errors").
    static constexpr std::chrono::milliseconds kBackoffBase{1000};
    static constexpr std::chrono::milliseconds kBackoffCap{5 * 60 * 1000};

    UserSync(boost::asio::io_context& io, boost::asio::thread_pool& pool, upstream::Monitor& monitor,
             auth::CredentialCache& cache, log::Logger& log, const conf::OfflineLoginConfig& config);
    ~UserSync();
    UserSync(const UserSync&) = delete;
    UserSync& operator=(const UserSync&) = delete;

    // The schedule: a first run at once, then every sync_interval (none when it is 0
    // or no upstream is configured). Scheduled runs are skipped while the monitor says
    // offline (counted as a failure, retried with backoff).
    void start();
    void stop();
    // The server is reachable again: a scheduled run waiting out a failure's backoff
    // runs now instead.
    void server_back();

    // One run now (printgatectl users sync), whatever the monitor says. A call while
    // a run is in progress waits for that run and returns its outcome.
    boost::asio::awaitable<SyncOutcome> sync_now();

    SyncStatus status() const;
    // Page size asked of the server.
    unsigned page_limit() const;

private:
    boost::asio::awaitable<void> loop();
    boost::asio::awaitable<SyncOutcome> run();
    boost::asio::awaitable<SyncOutcome> run_once(std::string& cursor, bool& retry);
    boost::asio::awaitable<std::optional<std::string>> register_key();
    std::chrono::milliseconds backoff();
    void finish(const SyncOutcome& o);

    boost::asio::io_context& io_;
    boost::asio::thread_pool& pool_;
    upstream::Monitor& monitor_;
    auth::CredentialCache& cache_;
    log::Logger& log_;
    conf::OfflineLoginConfig config_;
    boost::asio::steady_timer timer_;
    std::string cursor_;          // of the last complete sync; "" = next one is full
    bool key_registered_ = false;
    bool running_ = false;        // a run is in progress
    bool looping_ = false;
    bool stopping_ = false;
    std::uint64_t round_ = 0;     // runs finished
    SyncOutcome last_;
    std::vector<boost::asio::steady_timer*> waiters_;
    SyncStatus status_;
    std::minstd_rand jitter_;
};

}  // namespace pg::service
