// SPDX-License-Identifier: Apache-2.0
// UserSync: schedule, pages, recoveries and the atomic apply. See user_sync.hpp.
#include "gateway/service/user_sync.hpp"

#include <algorithm>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/net/async.hpp"
#include "gateway/service/login.hpp"

namespace pg::service {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

namespace {

std::vector<auth::SyncSecretIn> secrets_of(const std::vector<upstream::SyncedSecret>& in) {
    std::vector<auth::SyncSecretIn> out;
    out.reserve(in.size());
    for (const auto& s : in) out.push_back({s.tag, s.verifier});
    return out;
}

// Appends one page to the batch, in answer order.
void add_page(auth::SyncBatch& batch, upstream::SyncPage& page) {
    for (auto& u : page.users) {
        auth::SyncUserIn in;
        in.user = cached_user_of(u.user);
        in.disabled = u.disabled;
        in.pins = secrets_of(u.pins);
        in.cards = secrets_of(u.cards);
        in.password_verifier = std::move(u.password_verifier);
        batch.users.push_back(std::move(in));
    }
    auto append = [](std::vector<std::string>& to, std::vector<std::string>& from) {
        to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    };
    append(batch.tombstone_users, page.tombstone_users);
    append(batch.tombstone_pins, page.tombstone_pins);
    append(batch.tombstone_cards, page.tombstone_cards);
}

}  // namespace

UserSync::UserSync(asio::io_context& io, asio::thread_pool& pool, upstream::Monitor& monitor,
                   auth::CredentialCache& cache, log::Logger& log, const conf::OfflineLoginConfig& config)
    : io_(io),
      pool_(pool),
      monitor_(monitor),
      cache_(cache),
      log_(log),
      config_(config),
      timer_(io),
      jitter_(std::random_device{}()) {
    status_.enabled = monitor_.enabled();
}

UserSync::~UserSync() {
    for (auto* t : waiters_) t->cancel();
}

unsigned UserSync::page_limit() const { return 50; }

void UserSync::start() {
    if (!monitor_.enabled() || config_.sync_interval.count() == 0 || looping_) return;
    looping_ = true;
    asio::co_spawn(io_, loop(), asio::detached);
}

void UserSync::stop() {
    stopping_ = true;
    timer_.cancel();
    for (auto* t : waiters_) t->cancel();
}

void UserSync::server_back() {
    if (looping_ && !running_ && status_.consecutive_failures > 0) timer_.cancel();
}

SyncStatus UserSync::status() const { return status_; }

std::chrono::milliseconds UserSync::backoff() {
    const unsigned n = std::min(status_.consecutive_failures, 20u);
    std::chrono::milliseconds ceiling = kBackoffBase * (std::int64_t{1} << (n == 0 ? 0 : n - 1));
    ceiling = std::min({ceiling, kBackoffCap, config_.sync_interval});
    std::uniform_int_distribution<std::int64_t> pick(100, std::max<std::int64_t>(100, ceiling.count()));
    return std::chrono::milliseconds(pick(jitter_));
}

asio::awaitable<void> UserSync::loop() {
    while (!stopping_) {
        if (monitor_.reachable()) {
            co_await sync_now();
        } else {
            // Not tried while the monitor says offline; counted, so backoff grows.
            ++status_.consecutive_failures;
            status_.last_error = "the central server is offline";
            log_.debug({.event = "user_sync_skipped"}, "scheduled user sync skipped: the central server is offline");
        }
        if (stopping_) break;
        const auto delay = status_.consecutive_failures == 0 ? config_.sync_interval : backoff();
        if (status_.consecutive_failures > 0)
            log_.info({.event = "user_sync_retry"}, "next user sync attempt in {} ms (failure {} in a row)",
                      delay.count(), status_.consecutive_failures);
        status_.next = SteadyClock::now() + delay;
        timer_.expires_after(delay);
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    status_.next.reset();
    looping_ = false;
}

asio::awaitable<SyncOutcome> UserSync::sync_now() {
    if (running_) {
        const std::uint64_t round = round_;
        asio::steady_timer wait(io_, asio::steady_timer::time_point::max());
        waiters_.push_back(&wait);
        co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
        std::erase(waiters_, &wait);
        if (round_ != round) co_return last_;
        SyncOutcome stopped;
        stopped.error = "printgated is stopping";
        co_return stopped;
    }
    running_ = true;
    SyncOutcome o = co_await run();
    running_ = false;
    ++round_;
    last_ = o;
    finish(o);
    for (auto* t : waiters_) t->cancel();
    co_return o;
}

asio::awaitable<SyncOutcome> UserSync::run() {
    const auto started = SteadyClock::now();
    SyncOutcome o;
    if (!monitor_.enabled() || monitor_.upstream() == nullptr) {
        o.error = "no upstream.url in the configuration: nothing to sync from";
        co_return o;
    }
    std::string cursor = cursor_;
    // At most one start-over for each recovery (no_lookup_key, cursor_expired, key_id).
    for (int attempt = 0; attempt < 3; ++attempt) {
        bool retry = false;
        o = co_await run_once(cursor, retry);
        if (!retry || stopping_) break;
    }
    o.took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    co_return o;
}

asio::awaitable<std::optional<std::string>> UserSync::register_key() {
    auth::LookupKey key = cache_.lookup_key();
    const auto bytes = key.key.bytes();
    std::vector<std::byte> raw(bytes.begin(), bytes.end());
    std::string key_id = key.key_id;
    auto r = co_await monitor_.upstream()->register_lookup_key(std::move(key_id), std::move(raw));
    if (!r) co_return "registering the lookup key failed: " + r.error().message;
    key_registered_ = true;
    log_.info({.event = "lookup_key_registered"}, "lookup key {} registered with the central server", key.key_id);
    co_return std::nullopt;
}

asio::awaitable<SyncOutcome> UserSync::run_once(std::string& cursor, bool& retry) {
    SyncOutcome o;
    if (!key_registered_) {
        std::optional<std::string> failed = co_await register_key();
        if (failed) {
            o.error = std::move(*failed);
            co_return o;
        }
    }
    const std::string key_id = cache_.lookup_key().key_id;
    o.full = cursor.empty();
    upstream::SyncRequest req;
    req.cursor = cursor;
    req.limit = page_limit();
    req.argon2_m_kib = config_.argon2_memory_kib;
    req.argon2_t = config_.argon2_iterations;
    req.argon2_p = config_.argon2_lanes;
    auth::SyncBatch batch;
    batch.full = o.full;
    std::string next_cursor;
    for (;;) {
        if (o.pages == kMaxPages) {
            o.error = "the server sent " + std::to_string(kMaxPages) + " sync pages without completing the set";
            co_return o;
        }
        upstream::Result<upstream::SyncPage> page = co_await monitor_.upstream()->sync(req);
        if (stopping_) {
            o.error = "printgated is stopping";
            co_return o;
        }
        if (!page) {
            const upstream::Failure& f = page.error();
            o.error = f.message;
            if (f.error == "no_lookup_key") {
                key_registered_ = false;  // the server lost it: register again, start over
                retry = true;
            } else if (f.error == "cursor_expired" && !cursor.empty()) {
                cursor.clear();  // a full sync instead
                retry = true;
            }
            co_return o;
        }
        ++o.pages;
        if (!page->key_id.empty() && page->key_id != key_id) {
            o.error = "the server computed the sync set's tags under lookup key " + log::escape(page->key_id, 64) +
                      ", not ours (" + key_id + ")";
            key_registered_ = false;
            cursor.clear();
            retry = true;
            co_return o;
        }
        add_page(batch, *page);
        if (page->complete) {
            next_cursor = std::move(page->cursor);
            break;
        }
        if (page->cursor.empty()) {
            o.error = "the server sent an incomplete sync page without a cursor";
            co_return o;
        }
        req.cursor = page->cursor;
    }
    auto applied = co_await net::run_blocking(pool_, [this, &batch] {
        return cache_.apply_sync(batch, std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    });
    if (!applied) {
        o.error = "the sync could not be stored: " + applied.error().message();
        co_return o;
    }
    o.ok = true;
    o.report = *applied;
    cursor_ = std::move(next_cursor);
    co_return o;
}

void UserSync::finish(const SyncOutcome& o) {
    const auto now = std::chrono::system_clock::now();
    status_.last_attempt = now;
    if (!o.ok) {
        ++status_.consecutive_failures;
        status_.last_error = o.error;
        log_.warn({.event = "user_sync_failed", .reason = o.error},
                  "user sync failed after {} page(s): {}; the last good set stays", o.pages, log::escape(o.error, 512));
        return;
    }
    status_.consecutive_failures = 0;
    status_.last_error.clear();
    status_.last_ok = now;
    const auth::SyncReport& r = o.report;
    log_.info({.event = "user_sync"},
              "user sync ({}) applied: {} page(s) in {} ms, {} user record(s) written, {} removed, {} secret(s) "
              "revoked; {} synced user(s) now",
              o.full ? "full" : "changes", o.pages, o.took.count(), r.upserted, r.removed, r.secrets_revoked,
              r.synced_users);
    if (r.dropped_over_limit > 0)
        log_.warn({.event = "user_sync_over_limit"},
                  "the server's sync set lists more users than offline_login.sync_limit ({}): the first {} kept, {} "
                  "not kept",
                  config_.sync_limit, r.synced_users, r.dropped_over_limit);
    if (r.rejected_users > 0 || r.rejected_verifiers > 0)
        log_.warn({.event = "user_sync_rejected"},
                  "user sync: {} user record(s) and {} verifier(s) or tag(s) from the server were malformed and skipped",
                  r.rejected_users, r.rejected_verifiers);
}

}  // namespace pg::service
