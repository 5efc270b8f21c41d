// SPDX-License-Identifier: Apache-2.0
// pg-login-check: the gateway's login path in one process, for the integration tests
// (tests/integration/test_login.py) until the terminal API and the release page call it.
// Not installed, not an administrator's tool: the daemon has no login command.
//
// Builds what printgated builds for logins (MyqUpstream, the running reachability
// Monitor, a CredentialCache, Lockout, LoginService, UserSync) from a printgate
// configuration, with the cache at --cache under a fresh random master key, and answers
// one JSON command per stdin line with one JSON line on stdout:
//   {"cmd":"login","method":"pin","pin":"...","source":"t1"}   (card, username, password too)
//       -> {"status":"ok","offline":false,"user":{...}} | {"status":"refused"} | ...
//   {"cmd":"wait","state":"offline","timeout_ms":30000}  -> {"state":"offline"}
//   {"cmd":"sync"}                                        -> {"ok":true,"synced_users":3}
// The log goes to stderr (text), so a test can check that no secret is in it.
#include <chrono>
#include <cstdio>
#include <future>
#include <memory>
#include <optional>
#include <iostream>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include "auth/cache/credential_cache.hpp"
#include "auth/cache/lockout.hpp"
#include "gateway/app/config_file.hpp"
#include "gateway/service/login.hpp"
#include "gateway/service/user_sync.hpp"
#include "gateway/upstream/credentials.hpp"
#include "gateway/upstream/myq_upstream.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string field(const json::object& o, const char* key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::optional<pg::auth::LoginMethod> method_of(const std::string& m) {
    for (int i = 1; i <= 5; ++i) {
        const auto method = static_cast<pg::auth::LoginMethod>(i);
        if (pg::service::method_name(method) == m) return method;
    }
    return std::nullopt;
}

struct Rig {
    asio::io_context io;
    asio::thread_pool pool{2};
    pg::log::Logger log{pg::log::Target::stderr_text, pg::conf::LogLevel::debug};
    std::unique_ptr<pg::upstream::Monitor> monitor;
    std::unique_ptr<pg::auth::CredentialCache> cache;
    std::unique_ptr<pg::auth::Lockout> lockout;
    std::unique_ptr<pg::service::LoginService> login;
    std::unique_ptr<pg::service::UserSync> user_sync;
};

asio::awaitable<json::object> handle(Rig& rig, const json::object& req) {
    json::object out;
    const std::string cmd = field(req, "cmd");
    if (cmd == "login") {
        const auto method = method_of(field(req, "method"));
        if (!method) {
            out["error"] = "unknown method";
            co_return out;
        }
        pg::service::LoginRequest r;
        r.method = *method;
        r.source = field(req, "source");
        r.secrets.card = field(req, "card");
        r.secrets.pin = field(req, "pin");
        r.secrets.username = field(req, "username");
        r.secrets.password = field(req, "password");
        const auto started = std::chrono::steady_clock::now();
        pg::service::LoginResult result = co_await rig.login->authenticate(std::move(r));
        out["ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
        out["status"] = std::string(pg::service::to_string(result.status));
        out["offline"] = result.offline;
        if (result.status == pg::service::LoginStatus::throttled) out["retry_after_ms"] = result.retry_after.count();
        if (result.user) {
            json::object u;
            u["id"] = result.user->id;
            u["name"] = result.user->name;
            u["email"] = result.user->email;
            json::array aliases;
            for (const auto& a : result.user->aliases) aliases.push_back(json::value(a));
            u["aliases"] = std::move(aliases);
            json::array accounts;
            for (const auto& a : result.user->accounts) accounts.push_back(json::value(a.name));
            u["accounts"] = std::move(accounts);
            out["user"] = std::move(u);
        }
    } else if (cmd == "wait") {
        const std::string want = field(req, "state");
        std::int64_t ms = 30000;
        if (const auto* t = req.if_contains("timeout_ms"); t != nullptr && t->is_int64()) ms = t->as_int64();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        asio::steady_timer tick(rig.io);
        while (pg::upstream::to_string(rig.monitor->state()) != want && std::chrono::steady_clock::now() < deadline) {
            tick.expires_after(20ms);
            co_await tick.async_wait(asio::use_awaitable);
        }
        out["state"] = std::string(pg::upstream::to_string(rig.monitor->state()));
    } else if (cmd == "sync") {
        const pg::service::SyncOutcome s = co_await rig.user_sync->sync_now();
        out["ok"] = s.ok;
        out["synced_users"] = s.report.synced_users;
        if (!s.ok) out["error"] = s.error;
    } else {
        out["error"] = "unknown command";
    }
    co_return out;
}

}  // namespace

int main(int argc, char** argv) try {
    std::string config_path, cache_path;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--config") config_path = argv[i + 1];
        else if (a == "--cache") cache_path = argv[i + 1];
    }
    if (config_path.empty() || cache_path.empty()) {
        std::fprintf(stderr, "usage: pg-login-check --config FILE --cache PATH < commands\n");
        return 2;
    }
    auto loaded = pg::app::load_config(config_path, {});
    if (!loaded.result.ok()) {
        for (const auto& d : loaded.result.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        return pg::app::kExitConfig;
    }
    const pg::conf::Config& c = loaded.result.config;
    Rig rig;
    auto creds = pg::upstream::load_credentials(c.upstream.credentials_file);
    if (!creds) {
        std::fprintf(stderr, "pg-login-check: %s\n", creds.error().message.c_str());
        return 1;
    }
    rig.monitor = std::make_unique<pg::upstream::Monitor>(
        rig.io, c.upstream, std::make_unique<pg::upstream::MyqUpstream>(rig.io.get_executor(), c.upstream, *creds));
    auto master = pg::crypto::random_key();
    const pg::conf::OfflineLoginConfig& ol = c.offline_login;
    pg::auth::CacheOptions co;
    co.argon2 = {ol.argon2_memory_kib, ol.argon2_iterations, ol.argon2_lanes};
    co.validity = ol.validity;
    co.max_concurrent_hashes = ol.hash_concurrency;
    auto cache = pg::auth::CredentialCache::open(cache_path, *master, co,
                                                 std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
    if (!cache) {
        std::fprintf(stderr, "pg-login-check: cannot open the cache: %s\n", cache.error().message().c_str());
        return 1;
    }
    rig.cache = std::move(*cache);
    pg::auth::LockoutOptions lo;
    lo.max_failures = ol.max_failures;
    rig.lockout = std::make_unique<pg::auth::Lockout>(lo);
    rig.login = std::make_unique<pg::service::LoginService>(rig.pool, *rig.monitor, *rig.cache, *rig.lockout, rig.log,
                                                            ol.hash_concurrency);
    rig.login->set_online_timeout(ol.online_timeout);
    rig.user_sync = std::make_unique<pg::service::UserSync>(rig.io, rig.pool, *rig.monitor, *rig.cache, rig.log, ol);
    rig.monitor->start();
    auto work = asio::make_work_guard(rig.io);
    std::thread io_thread([&rig] { rig.io.run(); });

    std::string line;
    while (std::getline(std::cin, line)) {
        boost::system::error_code ec;
        json::value v = json::parse(line, ec);
        json::object out;
        if (ec || !v.is_object()) {
            out["error"] = "not a JSON object";
        } else {
            std::future<json::object> f = asio::co_spawn(rig.io, handle(rig, v.as_object()), asio::use_future);
            out = f.get();
        }
        std::printf("%s\n", json::serialize(out).c_str());
        std::fflush(stdout);
    }
    asio::post(rig.io, [&rig] {
        rig.user_sync->stop();
        rig.monitor->stop();
    });
    work.reset();
    io_thread.join();
    rig.pool.join();
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "pg-login-check: fatal: %s\n", e.what());
    return 1;
}
