// SPDX-License-Identifier: Apache-2.0
// LoginService: online verification, the offline cache, lockout and the login log.
// See login.hpp for the design note.
#include "gateway/service/login.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <openssl/crypto.h>

#include "gateway/net/async.hpp"
#include "gateway/spool/job.hpp"

namespace pg::service {

namespace asio = boost::asio;
using Kind = auth::Lockout::Decision::Kind;

namespace {

constexpr std::size_t kMaxSource = 128;

void wipe(std::string& s) noexcept {
    if (s.capacity() > 0) OPENSSL_cleanse(s.data(), s.capacity());
    s.clear();
}

void wipe(auth::LoginSecrets& s) noexcept {
    for (std::string* f : {&s.card, &s.pin, &s.username, &s.password}) wipe(*f);
}

// The server could not decide (docs/upstream-protocol.md, "Errors"): the cache may.
bool server_cannot_decide(upstream::errc e) {
    return e == upstream::errc::unavailable || e == upstream::errc::unauthorized ||
           e == upstream::errc::bad_response || e == upstream::errc::not_configured;
}

std::string_view reason_name(auth::VerifyReason r) {
    switch (r) {
    case auth::VerifyReason::ok: return "ok";
    case auth::VerifyReason::no_match: return "no_match";
    case auth::VerifyReason::expired: return "expired";
    case auth::VerifyReason::too_old: return "too_old";
    case auth::VerifyReason::ambiguous: return "ambiguous";
    case auth::VerifyReason::revoked: return "revoked";
    case auth::VerifyReason::bad_input: return "bad_input";
    case auth::VerifyReason::unavailable: return "unavailable";
    }
    return "unknown";
}

std::string_view online_reason(upstream::errc e) {
    if (e == upstream::errc::invalid_credentials) return "invalid_credentials";
    if (e == upstream::errc::user_disabled) return "user_disabled";
    return "rejected";
}

// The user id of a lockout key "u:ID"; "" for "n:NAME" (a typed name may be a
// mistyped password: it never reaches the log) and for "".
std::string_view id_of(std::string_view lockout_key) {
    return lockout_key.rfind("u:", 0) == 0 ? lockout_key.substr(2) : std::string_view();
}

}  // namespace

std::string_view to_string(LoginStatus s) {
    switch (s) {
    case LoginStatus::ok: return "ok";
    case LoginStatus::refused: return "refused";
    case LoginStatus::throttled: return "throttled";
    case LoginStatus::unavailable: return "unavailable";
    }
    return "unknown";
}

std::string_view method_name(auth::LoginMethod m) {
    switch (m) {
    case auth::LoginMethod::card: return "card";
    case auth::LoginMethod::pin: return "pin";
    case auth::LoginMethod::password: return "password";
    case auth::LoginMethod::card_pin: return "card_pin";
    case auth::LoginMethod::card_password: return "card_password";
    }
    return "unknown";
}

auth::CachedUser cached_user_of(const upstream::UserInfo& u) {
    auth::CachedUser c;
    c.id = u.id;
    c.name = u.name;
    c.full_name = u.full_name;
    c.email = u.email;
    c.aliases = u.aliases;
    for (const auto& a : u.accounts) c.accounts.push_back({a.id, a.name});
    return c;
}

// Gives the gate slot back when a hashing step ends, however it ends.
class LoginService::GateSlot {
public:
    explicit GateSlot(LoginService& s) : s_(s) {}
    ~GateSlot() { s_.release_gate(); }
    GateSlot(const GateSlot&) = delete;
    GateSlot& operator=(const GateSlot&) = delete;

private:
    LoginService& s_;
};

LoginService::LoginService(asio::thread_pool& pool, upstream::Monitor& monitor, auth::CredentialCache& cache,
                           auth::Lockout& lockout, log::Logger& log, std::size_t hash_concurrency, Clocks clocks)
    : pool_(pool),
      monitor_(monitor),
      cache_(cache),
      lockout_(lockout),
      log_(log),
      clocks_(std::move(clocks)),
      gate_limit_(hash_concurrency == 0 ? 1 : hash_concurrency) {
    if (!clocks_.wall)
        clocks_.wall = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
    if (!clocks_.steady) clocks_.steady = [] { return std::chrono::steady_clock::now(); };
}

namespace {

constexpr std::string_view kLockoutState = "lockout";

std::int64_t wall_ms(auth::UnixTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

bool LoginService::restore_lockout() {
    auto stored = cache_.get_state(kLockoutState);
    if (!stored) {
        log_.error({.event = "login_lockout"}, "the kept login failures cannot be read ({}); lockouts start empty",
                   stored.error().message());
        return false;
    }
    if (!*stored) return true;
    // {"v":1,"users":[{"k":KEY,"f":[UNIX_MS...]}...]}: sealed, so written by us.
    boost::system::error_code ec;
    const auto text = std::string_view(reinterpret_cast<const char*>((*stored)->data()), (*stored)->size());
    const boost::json::value v = boost::json::parse(text, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* users = o ? o->if_contains("users") : nullptr;
    if (users == nullptr || !users->is_array()) {
        log_.error({.event = "login_lockout"}, "the kept login failures are not readable; lockouts start empty");
        return false;
    }
    const auto steady_now = clocks_.steady();
    const std::int64_t now_ms = wall_ms(clocks_.wall());
    std::vector<auth::Lockout::UserFailures> back;
    for (const auto& u : users->as_array()) {
        const auto* uo = u.if_object();
        const auto* k = uo ? uo->if_contains("k") : nullptr;
        const auto* f = uo ? uo->if_contains("f") : nullptr;
        if (k == nullptr || !k->is_string() || f == nullptr || !f->is_array()) continue;
        auth::Lockout::UserFailures uf{std::string(k->as_string()), {}};
        for (const auto& t : f->as_array()) {
            if (!t.is_int64()) continue;
            // A time after now (the clock was set back) counts as now: never shortens a lock.
            const std::int64_t ago = std::max<std::int64_t>(0, now_ms - t.as_int64());
            uf.at.push_back(steady_now - std::chrono::milliseconds(ago));
        }
        back.push_back(std::move(uf));
    }
    lockout_.restore(back, steady_now);
    if (!back.empty())
        log_.info({.event = "login_lockout"}, "kept login failures restored: {} user(s), {} locked out",
                  lockout_.user_failures(steady_now).size(), lockout_.locked_users(steady_now).size());
    return true;
}

asio::awaitable<void> LoginService::save_lockout() {
    auto saved = co_await net::run_blocking(pool_, [this]() -> auth::Result<void> {
        std::lock_guard lock(save_mutex_);
        const auto steady_now = clocks_.steady();
        const std::int64_t now_ms = wall_ms(clocks_.wall());
        boost::json::array users;
        for (const auto& u : lockout_.user_failures(steady_now)) {
            boost::json::array f;
            for (const auto t : u.at)
                f.emplace_back(now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(steady_now - t).count());
            users.emplace_back(boost::json::object{{"k", u.key}, {"f", std::move(f)}});
        }
        const std::string text = boost::json::serialize(boost::json::object{{"v", 1}, {"users", std::move(users)}});
        return cache_.put_state(kLockoutState, std::as_bytes(std::span(text.data(), text.size())));
    });
    if (!saved)
        log_.error({.event = "login_lockout"},
                   "the login failures could not be kept in the credential cache ({}); they hold until a restart",
                   saved.error().message());
}

LoginService::~LoginService() {
    for (auto* t : gate_waiters_) t->cancel();
}

asio::awaitable<void> LoginService::acquire_gate() {
    const auto ex = co_await asio::this_coro::executor;
    while (gate_in_use_ >= gate_limit_) {
        asio::steady_timer wait(ex, asio::steady_timer::time_point::max());
        gate_waiters_.push_back(&wait);
        struct Unlist {
            std::deque<asio::steady_timer*>& list;
            asio::steady_timer* item;
            ~Unlist() { std::erase(list, item); }
        } unlist{gate_waiters_, &wait};
        co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    ++gate_in_use_;
}

void LoginService::release_gate() {
    --gate_in_use_;
    if (gate_waiters_.empty()) return;
    asio::steady_timer* next = gate_waiters_.front();
    gate_waiters_.pop_front();
    next->cancel();
}

template <class F>
asio::awaitable<std::invoke_result_t<F>> LoginService::hash_work(F f) {
    co_await acquire_gate();
    const GateSlot slot(*this);
    co_return co_await net::run_blocking(pool_, std::move(f));
}

asio::awaitable<LoginResult> LoginService::authenticate(LoginRequest request) {
    struct WipeOnExit {
        auth::LoginSecrets& s;
        ~WipeOnExit() { wipe(s); }
    } wipe_on_exit{request.secrets};
    const std::string source = request.source.empty() ? std::string("unknown") : request.source.substr(0, kMaxSource);

    // Throttling per source comes first: it does not depend on the secret.
    const auto gate = lockout_.check("", source, clocks_.steady());
    if (gate.kind == Kind::wait) {
        ++counters_.throttled;
        log_.warn({.event = "login_refused", .reason = "throttled", .method = method_name(request.method), .source = source},
                  "login from {} refused without checking: too many failures there, next attempt in {} ms",
                  log::escape(source), gate.wait.count());
        LoginResult r;
        r.status = LoginStatus::throttled;
        r.retry_after = gate.wait;
        co_return r;
    }
    if (monitor_.enabled() && monitor_.reachable()) {
        std::optional<LoginResult> online = co_await try_online(request, source);
        if (online) co_return std::move(*online);
    }
    co_return co_await offline(request, source);
}

asio::awaitable<std::optional<LoginResult>> LoginService::try_online(const LoginRequest& req,
                                                                     const std::string& source) {
    upstream::LoginInfo info;
    info.type = static_cast<upstream::LoginType>(req.method);
    info.card = req.secrets.card;
    info.pin = req.secrets.pin;
    info.username = req.secrets.username;
    info.password = req.secrets.password;
    info.timeout = online_timeout_;
    upstream::Result<upstream::UserInfo> verified = co_await monitor_.upstream()->verify_user(std::move(info));
    // The adapter wiped its copy; short strings moved out leave their bytes behind.
    for (std::string* s : {&info.card, &info.pin, &info.username, &info.password}) wipe(*s);
    const std::string_view method = method_name(req.method);

    if (verified) {
        auth::CachedUser user = cached_user_of(*verified);
        const auth::UnixTime wall = clocks_.wall();
        auto recorded = co_await hash_work([this, &user, &req, wall] {
            return cache_.record_online_login(user, req.method, req.secrets, wall);
        });
        if (!recorded)
            log_.warn({.event = "login_cache_failed", .method = method, .source = source, .user = user.name},
                      "the online login of {} was not cached for offline use: {}", log::escape(user.name),
                      recorded.error().message());
        // Earlier failures of this user, kept on disk, go too.
        if (lockout_.record_success("u:" + user.id, source, clocks_.steady())) co_await save_lockout();
        ++counters_.online_ok;
        log_.info({.event = "login_ok", .method = method, .source = source, .user = user.name},
                  "{} logged in at {} with {} (verified by the server)", log::escape(user.name), log::escape(source),
                  method);
        LoginResult r;
        r.status = LoginStatus::ok;
        r.user = std::move(user);
        co_return r;
    }
    const upstream::Failure& f = verified.error();
    // A server that cannot be reached in time counts as a failed probe, as a failed
    // forward does: the next login does not wait for the monitor's next probe to know.
    if (f.code == upstream::errc::unavailable) monitor_.call_failed("login: " + f.message);
    if (server_cannot_decide(f.code)) {
        log_.info({.event = "login_fallback", .reason = f.message, .method = method, .source = source},
                  "the server could not verify a login ({}); trying the offline cache", log::escape(f.message, 512));
        co_return std::nullopt;
    }
    lockout_.record_failure("", source, clocks_.steady());
    if (f.code == upstream::errc::user_disabled) {
        // Disabled centrally: the cache must not let the user in while the server is away.
        auto forgot = co_await net::run_blocking(pool_, [this, &req] { return cache_.forget_login(req.method, req.secrets); });
        if (!forgot)
            log_.error({.event = "login_purge_failed", .method = method, .source = source},
                       "the cached entry of a user the server says is disabled could not be removed: {}",
                       forgot.error().message());
        else if (*forgot > 0)
            log_.info({.event = "user_purged", .reason = "user_disabled", .method = method, .source = source},
                      "{} cached user(s) removed: the server says the user is disabled", *forgot);
    }
    co_return refuse(req, source, online_reason(f.code), false);
}

asio::awaitable<LoginResult> LoginService::offline(const LoginRequest& req, const std::string& source) {
    const auth::UnixTime wall = clocks_.wall();
    auth::VerifyResult v =
        co_await hash_work([this, &req, wall] { return cache_.verify_offline(req.method, req.secrets, wall); });
    const std::string_view method = method_name(req.method);
    if (v.clock_suspect) {
        const auto last_ms = std::chrono::duration_cast<std::chrono::milliseconds>(v.last_seen.time_since_epoch());
        log_.warn({.event = "clock_suspect", .method = method, .source = source},
                  "the wall clock is behind the last time the credential cache saw ({}): expiry is counted from that "
                  "time, nothing is extended",
                  spool::rfc3339(last_ms.count()));
    }
    const auto now = clocks_.steady();
    const std::string_view id = id_of(v.lockout_key);
    if (lockout_.check(v.lockout_key, source, now).kind == Kind::locked) {
        // Refused even with the right secret; the attempt still counts.
        lockout_.record_failure(v.lockout_key, source, now);
        co_await save_lockout();
        ++counters_.lockouts;
        log_.warn({.event = "login_lockout", .reason = "locked", .method = method, .source = source},
                  "offline login at {} refused: the account{}{} is locked out", log::escape(source),
                  id.empty() ? "" : " of user id ", log::escape(id));
        co_return refuse(req, source, "locked", true);
    }
    if (v.ok()) {
        if (lockout_.record_success(v.lockout_key, source, now)) co_await save_lockout();
        ++counters_.offline_ok;
        const std::string name = v.user->name;
        log_.info({.event = "login_ok", .reason = "offline", .method = method, .source = source, .user = name},
                  "{} logged in at {} with {} (offline, from the {} credentials)", log::escape(name),
                  log::escape(source), method,
                  v.source == auth::CredentialSource::synced ? "synced" : "cached");
        LoginResult r;
        r.status = LoginStatus::ok;
        r.offline = true;
        r.user = std::move(v.user);
        co_return r;
    }
    if (v.status == auth::VerifyStatus::unavailable) {
        log_.error({.event = "login_unavailable", .method = method, .source = source},
                   "an offline login at {} could not be checked: the credential cache failed", log::escape(source));
        LoginResult r;
        r.status = LoginStatus::unavailable;
        co_return r;
    }
    const bool locked_now = lockout_.record_failure(v.lockout_key, source, now).kind == Kind::locked;
    if (!v.lockout_key.empty()) co_await save_lockout();
    if (locked_now) {
        ++counters_.lockouts;
        log_.warn({.event = "login_lockout", .reason = "max_failures", .method = method, .source = source},
                  "{} is locked out after too many failed offline logins (the last from {})",
                  id.empty() ? std::string("a login name") : "user id " + log::escape(id), log::escape(source));
    }
    co_return refuse(req, source, reason_name(v.reason), true);
}

LoginResult LoginService::refuse(const LoginRequest& req, const std::string& source, std::string_view reason,
                                 bool offline) {
    ++counters_.refused;
    log_.warn({.event = "login_refused", .reason = reason, .method = method_name(req.method), .source = source},
              "{} login at {} refused ({})", offline ? "offline" : "online", log::escape(source), reason);
    return LoginResult{};
}

}  // namespace pg::service
