// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/service/login (LoginService) and gateway/service/user_sync
// (UserSync) over a fake Upstream, the real Monitor, a real CredentialCache in a
// temporary directory (cheap argon2id: m=8 KiB, t=1) and the real Lockout, with fake
// clocks. Every test runs one io_context on the test thread with a 20 s guard; the
// log (fd 2) is captured to check what it says and that no secret reaches it.
#include "gateway/service/login.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/co_spawn.hpp>

#include "auth/passwd/password_hash.hpp"
#include "gateway/service/user_sync.hpp"

namespace asio = boost::asio;
namespace auth = pg::auth;
namespace up = pg::upstream;
using namespace std::chrono_literals;
using pg::service::LoginRequest;
using pg::service::LoginResult;
using pg::service::LoginStatus;

namespace {

// Distinctive secrets, so a grep of the log cannot hit them by chance.
constexpr const char* kPin = "73918264";
constexpr const char* kCard = "04A1B2C3D4";
constexpr const char* kPassword = "Tr0ub4dor&3-xyz";
constexpr const char* kWrong = "55501234";

const auth::Argon2Params kCheap{8, 1, 1};

class FakeUpstream final : public up::Upstream {
public:
    // verify_user's answer for each call (by login type and secrets).
    std::function<up::Result<up::UserInfo>(const up::LoginInfo&)> verify;
    std::deque<up::Result<up::SyncPage>> sync_answers;
    std::vector<up::SyncRequest> sync_requests;
    int verify_calls = 0;
    int register_calls = 0;
    std::string registered_id;

    asio::awaitable<up::Result<up::ProbeResult>> probe() override { co_return up::Failure{}; }
    asio::awaitable<up::Result<up::UserInfo>> verify_user(up::LoginInfo login) override {
        ++verify_calls;
        co_return verify(login);
    }
    asio::awaitable<up::Result<void>> register_lookup_key(std::string key_id, std::vector<std::byte> key) override {
        ++register_calls;
        registered_id = key_id;
        CHECK(key.size() == 32);
        co_return up::Result<void>();
    }
    asio::awaitable<up::Result<up::SyncPage>> sync(up::SyncRequest request) override {
        sync_requests.push_back(request);
        REQUIRE(!sync_answers.empty());
        auto answer = std::move(sync_answers.front());
        sync_answers.pop_front();
        co_return answer;
    }
    asio::awaitable<up::Result<up::BatchAck>> upload_accounting(std::string, std::vector<up::AccountingRecord>) override {
        co_return up::Failure{};
    }
    void close() override {}
};

up::UserInfo alice() {
    return up::UserInfo{"u-1001", "alice", "Alice Example", "alice@example.com", {"EXAMPLE\\alice"}, {{"a-1", "Sales"}}};
}

up::Failure failure(up::errc code, int status = 0, std::string error = {}) {
    return up::Failure{code, "scripted failure", {}, status, std::move(error)};
}

// Captures fd 2 (the logger's text sink) into a file for the test's lifetime.
class StderrCapture {
public:
    StderrCapture() {
        char tmpl[] = "/tmp/pg-login-log-XXXXXX";
        fd_ = ::mkstemp(tmpl);
        REQUIRE(fd_ >= 0);
        path_ = tmpl;
        std::fflush(stderr);
        saved_ = ::dup(2);
        ::dup2(fd_, 2);
    }
    ~StderrCapture() {
        std::fflush(stderr);
        ::dup2(saved_, 2);
        ::close(saved_);
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    std::string text() const {
        std::fflush(stderr);
        std::ifstream in(path_);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }

private:
    int fd_ = -1;
    int saved_ = -1;
    std::string path_;
};

struct World {
    StderrCapture capture;
    std::filesystem::path dir;
    asio::io_context io;
    asio::thread_pool pool{2};
    pg::log::Logger log{pg::log::Target::stderr_text, pg::conf::LogLevel::debug};
    FakeUpstream* fake = nullptr;
    std::unique_ptr<pg::upstream::Monitor> monitor;
    std::unique_ptr<auth::CredentialCache> cache;
    auth::Lockout lockout;
    auth::UnixTime wall{std::chrono::seconds(1'738'000'000)};
    std::chrono::steady_clock::time_point steady = std::chrono::steady_clock::now();
    pg::conf::OfflineLoginConfig config;
    std::unique_ptr<pg::service::LoginService> login;
    std::unique_ptr<pg::service::UserSync> user_sync;

    World() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "pg-login-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        dir = tmpl;
        pg::conf::UpstreamConfig uc;
        uc.url = "https://myq.invalid";
        uc.gateway_id = "gw-test";
        auto f = std::make_unique<FakeUpstream>();
        fake = f.get();
        monitor = std::make_unique<pg::upstream::Monitor>(io, uc, std::move(f));
        auth::CacheOptions co;
        co.argon2 = kCheap;
        auto opened = auth::CredentialCache::open((dir / "credentials.db").string(), master(), co, wall);
        REQUIRE(opened.has_value());
        cache = std::move(*opened);
        config.argon2_memory_kib = 8;
        config.argon2_iterations = 1;
        pg::service::LoginService::Clocks clocks{[this] { return wall; }, [this] { return steady; }};
        login = std::make_unique<pg::service::LoginService>(pool, *monitor, *cache, lockout, log, 2, clocks);
        user_sync = std::make_unique<pg::service::UserSync>(io, pool, *monitor, *cache, log, config);
    }
    ~World() {
        user_sync.reset();
        login.reset();
        pool.join();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    static pg::crypto::Key master() {
        std::array<std::byte, 32> b{};
        for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(i * 7 + 1);
        return pg::crypto::Key(b);
    }

    template <class T>
    T run(asio::awaitable<T> a) {
        std::optional<T> out;
        std::exception_ptr failure;
        bool done = false;
        io.restart();
        asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
            failure = e;
            if (!e) out = std::move(v);
            done = true;
            io.stop();
        });
        io.run_for(20s);
        REQUIRE(done);
        if (failure) std::rethrow_exception(failure);
        return std::move(*out);
    }

    LoginResult attempt(auth::LoginMethod m, std::string secret, std::string source = "terminal:t1",
                        std::string username = {}) {
        LoginRequest r;
        r.method = m;
        r.source = std::move(source);
        if (m == auth::LoginMethod::pin) r.secrets.pin = std::move(secret);
        else if (m == auth::LoginMethod::card) r.secrets.card = std::move(secret);
        else {
            r.secrets.username = std::move(username);
            r.secrets.password = std::move(secret);
        }
        return run(login->authenticate(std::move(r)));
    }

    void go_offline() { monitor->drill(std::chrono::hours(1)); }

    // alice logs in online with her password, then, offline, `n` wrong passwords come
    // for her from as many terminals (so no terminal is throttled).
    void alice_fails_offline(int n) {
        server_knows_alice();
        REQUIRE(attempt(auth::LoginMethod::password, kPassword, "terminal:t0", "alice").ok());
        go_offline();
        for (int i = 0; i < n; ++i)
            CHECK(attempt(auth::LoginMethod::password, "wrong-" + std::to_string(i), "terminal:x" + std::to_string(i),
                          "alice")
                      .status == LoginStatus::refused);
    }

    // The server accepts alice's PIN, card and password; nothing else.
    void server_knows_alice() {
        fake->verify = [](const up::LoginInfo& l) -> up::Result<up::UserInfo> {
            const bool right = (l.type == up::LoginType::pin && l.pin == kPin) ||
                               (l.type == up::LoginType::card && l.card == kCard) ||
                               (l.type == up::LoginType::password && l.username == "alice" && l.password == kPassword);
            if (right) return alice();
            return failure(up::errc::invalid_credentials, 401, "invalid_grant");
        };
    }

    std::vector<auth::UserSummary> users() {
        auto u = cache->list_users(wall);
        REQUIRE(u.has_value());
        return *u;
    }

    // Each of `needles` is in the log (and no secret is).
    void expect_log(std::initializer_list<std::string_view> needles) {
        const std::string t = log_text();
        for (auto n : needles) {
            INFO("expected in the log: " << n << "\nlog:\n" << t);
            CHECK(t.find(n) != std::string::npos);
        }
    }

    // The log so far; fails the test if a secret is in it.
    std::string log_text() {
        log.flush();
        std::string t = capture.text();
        for (const char* secret : {kPin, kCard, kPassword, kWrong}) {
            INFO("secret " << secret);
            CHECK(t.find(secret) == std::string::npos);
        }
        return t;
    }
};

std::string phc(std::string_view secret) {
    auto h = auth::hash_password(secret, kCheap);
    REQUIRE(h.has_value());
    return auth::format_phc(*h);
}

up::SyncedUser synced(const World& w, std::string id, std::string name, std::string pin) {
    up::SyncedUser s;
    s.user.id = std::move(id);
    s.user.name = std::move(name);
    s.pins.push_back({w.cache->tag_of(auth::LoginMethod::pin, pin), phc(pin)});
    return s;
}

up::SyncPage page(const World& w, std::vector<up::SyncedUser> users, bool complete = true, std::string cursor = "c1") {
    up::SyncPage p;
    p.users = std::move(users);
    p.complete = complete;
    p.cursor = std::move(cursor);
    p.key_id = w.cache->lookup_key().key_id;
    return p;
}

}  // namespace

TEST_CASE("login: online, the server decides and the cache is renewed", "[login]") {
    World w;
    w.server_knows_alice();
    const LoginResult ok = w.attempt(auth::LoginMethod::pin, kPin);
    REQUIRE(ok.status == LoginStatus::ok);
    CHECK_FALSE(ok.offline);
    REQUIRE(ok.user.has_value());
    CHECK(ok.user->id == "u-1001");
    CHECK(ok.user->email == "alice@example.com");
    CHECK(ok.user->aliases == std::vector<std::string>{"EXAMPLE\\alice"});
    REQUIRE(ok.user->accounts.size() == 1);
    CHECK(ok.user->accounts[0].name == "Sales");
    CHECK(w.fake->verify_calls == 1);
    // The PIN is now cached (as a hash) for offline use.
    const auto users = w.users();
    REQUIRE(users.size() == 1);
    CHECK(users[0].cached);
    REQUIRE(users[0].methods.size() == 1);
    CHECK(users[0].methods[0].method == auth::LoginMethod::pin);

    // A wrong PIN and an unknown one are the same refusal; the cache is not consulted.
    const LoginResult wrong = w.attempt(auth::LoginMethod::pin, kWrong);
    CHECK(wrong.status == LoginStatus::refused);
    CHECK_FALSE(wrong.user.has_value());
    // Revoked centrally: the server now refuses alice's PIN, the cached copy does not help.
    w.fake->verify = [](const up::LoginInfo&) -> up::Result<up::UserInfo> {
        return failure(up::errc::invalid_credentials, 401, "invalid_grant");
    };
    const LoginResult revoked = w.attempt(auth::LoginMethod::pin, kPin, "terminal:t2");
    CHECK(revoked.status == LoginStatus::refused);
    CHECK(w.fake->verify_calls == 3);
    w.fake->verify = [](const up::LoginInfo&) -> up::Result<up::UserInfo> {
        return failure(up::errc::user_disabled, 403, "user_disabled");
    };
    CHECK(w.attempt(auth::LoginMethod::pin, kPin, "terminal:t3").status == LoginStatus::refused);

    w.expect_log({"EVENT=login_ok METHOD=pin SOURCE=terminal:t1 USER=alice", "EVENT=login_refused REASON=invalid_credentials METHOD=pin SOURCE=terminal:t1", "REASON=user_disabled"});
}

TEST_CASE("login: a user the server says is disabled is purged from the cache", "[login][disabled]") {
    World w;
    w.server_knows_alice();
    REQUIRE(w.attempt(auth::LoginMethod::pin, kPin).ok());
    REQUIRE(w.attempt(auth::LoginMethod::password, kPassword, "terminal:t1", "alice").ok());
    REQUIRE(w.users().size() == 1);
    // Disabled centrally: the next online login (by name) is refused and the whole
    // entry goes, the PIN method cached at the other login too.
    w.fake->verify = [](const up::LoginInfo&) -> up::Result<up::UserInfo> {
        return failure(up::errc::user_disabled, 403, "user_disabled");
    };
    CHECK(w.attempt(auth::LoginMethod::password, kPassword, "terminal:t2", "ALICE").status == LoginStatus::refused);
    CHECK(w.users().empty());
    // So the server going away does not let alice back in.
    w.go_offline();
    CHECK(w.attempt(auth::LoginMethod::pin, kPin, "terminal:t3").status == LoginStatus::refused);
    CHECK(w.attempt(auth::LoginMethod::password, kPassword, "terminal:t4", "alice").status == LoginStatus::refused);
    w.expect_log({"EVENT=user_purged REASON=user_disabled METHOD=password SOURCE=terminal:t2",
                  "1 cached user(s) removed"});
}

TEST_CASE("login: a disabled PIN or card purges the user it identifies, nobody else", "[login][disabled]") {
    World w;
    w.server_knows_alice();
    REQUIRE(w.attempt(auth::LoginMethod::card, kCard).ok());
    // bob logs in with his PIN and stays cached.
    w.fake->verify = [](const up::LoginInfo& l) -> up::Result<up::UserInfo> {
        if (l.type == up::LoginType::pin && l.pin == "2468") {
            up::UserInfo bob;
            bob.id = "u-1002";
            bob.name = "bob";
            return bob;
        }
        return failure(up::errc::user_disabled, 403, "user_disabled");
    };
    REQUIRE(w.attempt(auth::LoginMethod::pin, "2468").ok());
    REQUIRE(w.users().size() == 2);
    CHECK(w.attempt(auth::LoginMethod::card, "04 A1 B2 C3 D4", "terminal:t2").status == LoginStatus::refused);
    const auto left = w.users();
    REQUIRE(left.size() == 1);
    CHECK(left[0].name == "bob");
    // A disabled answer for a PIN nobody here has removes nothing.
    CHECK(w.attempt(auth::LoginMethod::pin, kWrong, "terminal:t3").status == LoginStatus::refused);
    CHECK(w.users().size() == 1);
}

TEST_CASE("login: the online verification gets online_timeout; a timeout counts against the server", "[login][timeout]") {
    World w;
    std::vector<std::chrono::milliseconds> timeouts;
    w.fake->verify = [&timeouts](const up::LoginInfo& l) -> up::Result<up::UserInfo> {
        timeouts.push_back(l.timeout);
        if (l.type == up::LoginType::pin && l.pin == kPin && timeouts.size() == 1) return alice();
        return failure(up::errc::unavailable);
    };
    REQUIRE(w.attempt(auth::LoginMethod::pin, kPin).ok());
    w.login->set_online_timeout(750ms);
    REQUIRE(w.monitor->reachable());
    // The server does not answer in time (the adapter's deadline): the cache decides, and
    // each such failure counts as a failed probe, so the monitor goes offline after
    // fail_threshold of them (3) without waiting for a probe.
    for (int i = 0; i < 3; ++i) {
        const LoginResult r = w.attempt(auth::LoginMethod::pin, kPin, "terminal:t" + std::to_string(i + 2));
        CHECK(r.ok());
        CHECK(r.offline);
    }
    CHECK(timeouts == std::vector<std::chrono::milliseconds>{3000ms, 750ms, 750ms, 750ms});
    CHECK_FALSE(w.monitor->reachable());
    CHECK(w.monitor->snapshot().forward_failures == 0);
    // Offline now: the server is not asked.
    CHECK(w.attempt(auth::LoginMethod::pin, kPin, "terminal:t9").ok());
    CHECK(timeouts.size() == 4);
}

TEST_CASE("login: a transport failure or an offline monitor falls back to the cache", "[login]") {
    World w;
    w.server_knows_alice();
    REQUIRE(w.attempt(auth::LoginMethod::card, kCard).ok());
    REQUIRE(w.attempt(auth::LoginMethod::password, kPassword, "terminal:t1", "alice").ok());

    // The monitor still says online, but this call cannot reach the server.
    w.fake->verify = [](const up::LoginInfo&) -> up::Result<up::UserInfo> { return failure(up::errc::unavailable); };
    const LoginResult fallback = w.attempt(auth::LoginMethod::card, "04 a1 b2 c3 d4");
    REQUIRE(fallback.status == LoginStatus::ok);
    CHECK(fallback.offline);
    CHECK(fallback.user->name == "alice");

    // Offline: the server is not asked at all.
    w.go_offline();
    const int calls = w.fake->verify_calls;
    const LoginResult pw = w.attempt(auth::LoginMethod::password, kPassword, "terminal:t1", "ALICE");
    CHECK(pw.status == LoginStatus::ok);
    CHECK(pw.offline);
    // A method alice never used here, an unknown PIN, a wrong password: one refusal.
    CHECK(w.attempt(auth::LoginMethod::pin, kPin, "terminal:t2").status == LoginStatus::refused);
    CHECK(w.attempt(auth::LoginMethod::pin, kWrong, "terminal:t3").status == LoginStatus::refused);
    CHECK(w.attempt(auth::LoginMethod::password, "nope", "terminal:t4", "alice").status == LoginStatus::refused);
    CHECK(w.attempt(auth::LoginMethod::password, "nope", "terminal:t5", "nobody").status == LoginStatus::refused);
    CHECK(w.fake->verify_calls == calls);
    CHECK(w.login->counters().offline_ok == 2);

    // Past validity_hours (168 h by default) the cached card is refused.
    w.wall += std::chrono::hours(169);
    CHECK(w.attempt(auth::LoginMethod::card, kCard, "terminal:t6").status == LoginStatus::refused);

    const std::string log = w.log_text();
    // A typed user name naming no one never reaches the log (it may be a mistyped password).
    CHECK(log.find("nobody") == std::string::npos);
    w.expect_log({"EVENT=login_fallback", "EVENT=login_ok REASON=offline METHOD=password SOURCE=terminal:t1 USER=alice", "REASON=no_match METHOD=pin SOURCE=terminal:t2", "REASON=expired METHOD=card SOURCE=terminal:t6"});
}

TEST_CASE("login: a user locks out after max_failures; the right secret is refused then", "[login]") {
    World w;
    w.alice_fails_offline(10);
    const LoginResult locked = w.attempt(auth::LoginMethod::password, kPassword, "terminal:y", "alice");
    CHECK(locked.status == LoginStatus::refused);
    CHECK(w.login->counters().lockouts >= 1);
    CHECK(w.lockout.locked_users(w.steady).size() == 1);
    // 15 minutes later the oldest failures left the window.
    w.steady += 16min;
    CHECK(w.attempt(auth::LoginMethod::password, kPassword, "terminal:z", "alice").ok());
    w.expect_log({"EVENT=login_lockout REASON=max_failures", "EVENT=login_lockout REASON=locked METHOD=password SOURCE=terminal:y", "user id u-1001"});
}

TEST_CASE("login: kept failures survive a restart; an unreadable kept state starts empty, said in the log", "[login]") {
    World w;
    w.alice_fails_offline(10);
    REQUIRE(w.lockout.locked_users(w.steady).size() == 1);
    pg::service::LoginService::Clocks clocks{[&w] { return w.wall; }, [&w] { return w.steady; }};

    // A restart: a new lockout and login service over the same cache get the lock back.
    auth::Lockout again;
    pg::service::LoginService restarted(w.pool, *w.monitor, *w.cache, again, w.log, 2, clocks);
    CHECK(restarted.restore_lockout());
    CHECK(again.locked_users(w.steady).size() == 1);
    w.expect_log({"kept login failures restored: 1 user(s), 1 locked out"});

    SECTION("sealed, but not what the login service writes") {
        const std::string junk = R"({"v":1,"users":"not a list"})";
        REQUIRE(w.cache->put_state("lockout", std::as_bytes(std::span(junk.data(), junk.size()))).has_value());
        auth::Lockout fresh;
        pg::service::LoginService s(w.pool, *w.monitor, *w.cache, fresh, w.log, 2, clocks);
        CHECK_FALSE(s.restore_lockout());
        CHECK(fresh.locked_users(w.steady).empty());
        w.expect_log({"the kept login failures are not readable; lockouts start empty"});
    }
    SECTION("tampered with at rest: the seal does not open") {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2((w.dir / "credentials.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
        sqlite3_busy_timeout(db, 5000);
        char* err = nullptr;
        const int rc = sqlite3_exec(db, "UPDATE meta SET value = zeroblob(64) WHERE name = 'state:lockout'", nullptr,
                                    nullptr, &err);
        CHECK(rc == SQLITE_OK);
        CHECK(sqlite3_changes(db) == 1);
        sqlite3_free(err);
        sqlite3_close_v2(db);
        auth::Lockout fresh;
        pg::service::LoginService s(w.pool, *w.monitor, *w.cache, fresh, w.log, 2, clocks);
        CHECK_FALSE(s.restore_lockout());
        CHECK(fresh.locked_users(w.steady).empty());
        w.expect_log({"the kept login failures cannot be read"});
    }
}

TEST_CASE("login: wrong PINs from one terminal slow that terminal only", "[login]") {
    World w;
    w.server_knows_alice();
    REQUIRE(w.attempt(auth::LoginMethod::pin, kPin, "terminal:b").ok());
    w.go_offline();
    // Three free failures, then a delay at that terminal.
    for (int i = 0; i < 4; ++i) CHECK(w.attempt(auth::LoginMethod::pin, kWrong, "terminal:a").status == LoginStatus::refused);
    const LoginResult slowed = w.attempt(auth::LoginMethod::pin, kPin, "terminal:a");
    CHECK(slowed.status == LoginStatus::throttled);
    CHECK(slowed.retry_after > 0ms);
    // Another terminal logs in at once.
    CHECK(w.attempt(auth::LoginMethod::pin, kPin, "terminal:b").ok());
    // After the delay, terminal a may try again.
    w.steady += slowed.retry_after;
    CHECK(w.attempt(auth::LoginMethod::pin, kPin, "terminal:a").ok());
    w.expect_log({"EVENT=login_refused REASON=throttled METHOD=pin SOURCE=terminal:a"});
}

TEST_CASE("login: a clock set back is logged and extends nothing", "[login]") {
    World w;
    w.server_knows_alice();
    REQUIRE(w.attempt(auth::LoginMethod::pin, kPin).ok());
    w.go_offline();
    w.wall += std::chrono::hours(100);
    REQUIRE(w.attempt(auth::LoginMethod::pin, kPin).ok());
    CHECK(w.log_text().find("EVENT=clock_suspect") == std::string::npos);
    // Past the 168 h validity the entry is refused ...
    w.wall += std::chrono::hours(69);
    CHECK(w.attempt(auth::LoginMethod::pin, kPin).status == LoginStatus::refused);
    // ... and setting the clock back does not revive it: the cache counts from the
    // latest time it saw, and the setback is logged.
    w.wall -= std::chrono::hours(160);
    CHECK(w.attempt(auth::LoginMethod::pin, kPin, "terminal:t2").status == LoginStatus::refused);
    w.expect_log({"EVENT=clock_suspect METHOD=pin SOURCE=terminal:t2", "REASON=expired METHOD=pin SOURCE=terminal:t2"});
}

TEST_CASE("login: hashing of a burst runs on the pool, at most hash_concurrency at once", "[login]") {
    World w;
    w.server_knows_alice();
    REQUIRE(w.attempt(auth::LoginMethod::pin, kPin).ok());
    w.go_offline();
    std::vector<LoginResult> results(12);
    int done = 0;
    const auto io_thread = std::this_thread::get_id();
    for (int i = 0; i < 12; ++i) {
        LoginRequest r;
        r.method = auth::LoginMethod::pin;
        r.secrets.pin = kPin;
        r.source = "terminal:burst" + std::to_string(i);
        asio::co_spawn(w.io, w.login->authenticate(std::move(r)), [&, i](std::exception_ptr e, LoginResult v) {
            REQUIRE(!e);
            CHECK(std::this_thread::get_id() == io_thread);
            results[static_cast<std::size_t>(i)] = std::move(v);
            if (++done == 12) w.io.stop();
        });
    }
    w.io.restart();
    w.io.run_for(20s);
    REQUIRE(done == 12);
    for (const auto& r : results) CHECK(r.ok());
    CHECK(w.cache->hash_limiter().peak() <= 2);
}

TEST_CASE("user sync: a full sync registers the lookup key and applies the set", "[login][sync]") {
    World w;
    w.fake->sync_answers.push_back(page(w, {synced(w, "u-1", "ann", "1111"), synced(w, "u-2", "ben", "2222")}));
    const auto out = w.run(w.user_sync->sync_now());
    REQUIRE(out.ok);
    CHECK(out.full);
    CHECK(out.pages == 1);
    CHECK(out.report.synced_users == 2);
    CHECK(w.fake->register_calls == 1);
    CHECK(w.fake->registered_id == w.cache->lookup_key().key_id);
    REQUIRE(w.fake->sync_requests.size() == 1);
    CHECK(w.fake->sync_requests[0].cursor.empty());
    CHECK(w.fake->sync_requests[0].argon2_m_kib == 8);
    CHECK(w.fake->sync_requests[0].argon2_t == 1);
    CHECK(w.users().size() == 2);
    // Synced users log in offline without having logged in here.
    w.go_offline();
    const LoginResult ben = w.attempt(auth::LoginMethod::pin, "2222");
    REQUIRE(ben.ok());
    CHECK(ben.user->name == "ben");
    // The next sync is a change sync from the kept cursor; the key is not registered again.
    up::SyncPage changes = page(w, {}, true, "c2");
    changes.tombstone_users = {"u-1"};
    w.fake->sync_answers.push_back(changes);
    const auto second = w.run(w.user_sync->sync_now());
    REQUIRE(second.ok);
    CHECK_FALSE(second.full);
    CHECK(w.fake->sync_requests.back().cursor == "c1");
    CHECK(w.fake->register_calls == 1);
    CHECK(w.users().size() == 1);
    w.expect_log({"EVENT=user_sync"});
}

TEST_CASE("user sync: 409 no_lookup_key registers again, 410 cursor_expired does a full sync", "[login][sync]") {
    World w;
    w.fake->sync_answers.push_back(failure(up::errc::rejected, 409, "no_lookup_key"));
    w.fake->sync_answers.push_back(page(w, {synced(w, "u-1", "ann", "1111")}));
    REQUIRE(w.run(w.user_sync->sync_now()).ok);
    CHECK(w.fake->register_calls == 2);

    w.fake->sync_answers.push_back(failure(up::errc::rejected, 410, "cursor_expired"));
    w.fake->sync_answers.push_back(page(w, {synced(w, "u-2", "ben", "2222")}, true, "c9"));
    const auto out = w.run(w.user_sync->sync_now());
    REQUIRE(out.ok);
    CHECK(out.full);
    REQUIRE(w.fake->sync_requests.size() == 4);
    CHECK(w.fake->sync_requests[2].cursor == "c1");
    CHECK(w.fake->sync_requests[3].cursor.empty());
    // The full sync replaced the set.
    const auto users = w.users();
    REQUIRE(users.size() == 1);
    CHECK(users[0].name == "ben");

    // Tags under another key: register ours and start over with a full sync.
    up::SyncPage foreign = page(w, {});
    foreign.key_id = "someone-elses";
    w.fake->sync_answers.push_back(foreign);
    w.fake->sync_answers.push_back(page(w, {synced(w, "u-2", "ben", "2222")}, true, "c10"));
    REQUIRE(w.run(w.user_sync->sync_now()).ok);
    CHECK(w.fake->register_calls == 3);
    CHECK(w.fake->sync_requests.back().cursor.empty());
}

TEST_CASE("user sync: a failure part-way keeps the last good set", "[login][sync]") {
    World w;
    w.fake->sync_answers.push_back(page(w, {synced(w, "u-1", "ann", "1111"), synced(w, "u-2", "ben", "2222")}));
    REQUIRE(w.run(w.user_sync->sync_now()).ok);
    // A full sync (after the cursor expired) whose second page fails.
    w.fake->sync_answers.push_back(failure(up::errc::rejected, 410, "cursor_expired"));
    w.fake->sync_answers.push_back(page(w, {synced(w, "u-3", "cat", "3333")}, false, "p2"));
    w.fake->sync_answers.push_back(failure(up::errc::unavailable, 503, "unavailable"));
    const auto out = w.run(w.user_sync->sync_now());
    CHECK_FALSE(out.ok);
    CHECK(out.error == "scripted failure");
    CHECK(w.fake->sync_requests.back().cursor == "p2");
    const auto users = w.users();
    REQUIRE(users.size() == 2);
    CHECK(users[0].name == "ann");
    CHECK(users[1].name == "ben");
    CHECK(w.user_sync->status().consecutive_failures == 1);
    w.expect_log({"EVENT=user_sync_failed"});
}

TEST_CASE("user sync: 101 users keep the first 100 and say so", "[login][sync]") {
    World w;
    std::vector<up::SyncedUser> users;
    for (int i = 0; i < 101; ++i) {
        up::SyncedUser s;
        s.user.id = "u-" + std::to_string(2000 + i);
        s.user.name = "user" + std::to_string(2000 + i);
        users.push_back(std::move(s));
    }
    std::vector<up::SyncedUser> first(users.begin(), users.begin() + 60);
    std::vector<up::SyncedUser> rest(users.begin() + 60, users.end());
    w.fake->sync_answers.push_back(page(w, std::move(first), false, "p2"));
    w.fake->sync_answers.push_back(page(w, std::move(rest), true, "c1"));
    const auto out = w.run(w.user_sync->sync_now());
    REQUIRE(out.ok);
    CHECK(out.pages == 2);
    CHECK(out.report.synced_users == 100);
    CHECK(out.report.dropped_over_limit == 1);
    const auto kept = w.users();
    CHECK(kept.size() == 100);
    CHECK(std::none_of(kept.begin(), kept.end(), [](const auto& u) { return u.name == "user2100"; }));
    w.expect_log({"EVENT=user_sync_over_limit"});
}
