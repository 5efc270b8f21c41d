// SPDX-License-Identifier: Apache-2.0
// printgated's side of `printgatectl users`. See users.hpp.
#include "gateway/ctl/users.hpp"

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include <boost/json.hpp>

#include "auth/cache/credential_cache.hpp"
#include "auth/cache/lockout.hpp"
#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"
#include "gateway/service/login.hpp"
#include "gateway/service/user_sync.hpp"
#include "gateway/spool/job.hpp"

namespace pg::ctl {

namespace asio = boost::asio;
namespace json = boost::json;
using SysClock = std::chrono::system_clock;

namespace {

std::string rfc3339(SysClock::time_point t) {
    return spool::rfc3339(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

auth::UnixTime wall_now() { return std::chrono::floor<std::chrono::seconds>(SysClock::now()); }

std::string_view source_name(auth::CredentialSource s) {
    return s == auth::CredentialSource::synced ? "synced" : "cached";
}

// Locked users by user id, with the wall-clock time their lock ends.
std::unordered_map<std::string, SysClock::time_point> locked_by_id(app::Gateway& gw) {
    std::unordered_map<std::string, SysClock::time_point> out;
    const auto steady = std::chrono::steady_clock::now();
    const auto wall = SysClock::now();
    for (const auto& l : gw.lockout().locked_users(steady)) {
        if (l.key.rfind("u:", 0) != 0) continue;
        out.emplace(l.key.substr(2),
                    wall + std::chrono::duration_cast<SysClock::duration>(l.locked_until - steady));
    }
    return out;
}

json::object user_json(const auth::UserSummary& u,
                       const std::unordered_map<std::string, SysClock::time_point>& locked) {
    json::object o;
    o["name"] = u.name;
    o["full_name"] = u.full_name;
    o["id"] = u.id;
    o["source"] = u.cached && u.synced ? "cached+synced" : u.synced ? "synced" : "cached";
    json::array methods;
    std::optional<auth::UnixTime> expires;
    for (const auto& m : u.methods) {
        json::object mo;
        mo["method"] = std::string(service::method_name(m.method));
        mo["source"] = std::string(source_name(m.source));
        mo["expires"] = rfc3339(m.expires);
        methods.push_back(std::move(mo));
        if (!expires || m.expires > *expires) expires = m.expires;
    }
    o["methods"] = std::move(methods);
    if (u.last_login) o["last_login"] = rfc3339(*u.last_login);
    else o["last_login"] = nullptr;
    o["last_login_offline"] = u.last_login_offline;
    if (expires) o["expires"] = rfc3339(*expires);
    else o["expires"] = nullptr;
    const auto lock = locked.find(u.id);
    o["locked_out"] = lock != locked.end();
    if (lock != locked.end()) o["locked_until"] = rfc3339(lock->second);
    return o;
}

json::object sync_json(const service::SyncOutcome& s) {
    json::object o;
    o["ok"] = s.ok;
    o["full"] = s.full;
    o["pages"] = s.pages;
    o["took_ms"] = s.took.count();
    if (!s.ok) {
        o["error"] = s.error;
        return o;
    }
    o["upserted"] = s.report.upserted;
    o["removed"] = s.report.removed;
    o["secrets_revoked"] = s.report.secrets_revoked;
    o["dropped_over_limit"] = s.report.dropped_over_limit;
    o["rejected_users"] = s.report.rejected_users;
    o["rejected_verifiers"] = s.report.rejected_verifiers;
    o["synced_users"] = s.report.synced_users;
    return o;
}

}  // namespace

asio::awaitable<UsersReply> users_command(app::Gateway& gw, const std::string& cmd, const json::object& req) {
    UsersReply reply;
    auth::CredentialCache& cache = gw.credential_cache();
    if (cmd == "users") {
        auto users = co_await net::run_blocking(gw.pool(), [&cache] { return cache.list_users(wall_now()); });
        if (!users) {
            reply.code = "failed";
            reply.error = "cannot read the credential cache: " + users.error().message();
            co_return reply;
        }
        const auto locked = locked_by_id(gw);
        json::array a;
        for (const auto& u : *users) a.push_back(user_json(u, locked));
        reply.body = std::move(a);
    } else if (cmd == "users-rm") {
        std::string name;
        if (auto v = req.if_contains("name"); v && v->is_string()) name = std::string(v->as_string());
        if (name.empty() || name.size() > 1024) {
            reply.code = "bad_request";
            reply.error = "users rm needs a user name";
            co_return reply;
        }
        auto removed = co_await net::run_blocking(gw.pool(), [&cache, &name] { return cache.remove_user(name); });
        if (!removed) {
            const bool missing = removed.error() == auth::cache_errc::not_found;
            reply.code = missing ? "not_found" : "failed";
            reply.error = missing ? "no cached or synced user is named " + log::escape(name, 64)
                                  : "cannot remove the user: " + removed.error().message();
            co_return reply;
        }
        gw.log().info({.event = "user_removed", .proto = "ctl", .user = name},
                      "{} cache entr{} of {} removed by an administrator", *removed, *removed == 1 ? "y" : "ies",
                      log::escape(name));
        json::object o;
        o["removed"] = *removed;
        o["name"] = name;
        reply.body = std::move(o);
    } else {
        const service::SyncOutcome outcome = co_await gw.user_sync().sync_now();
        reply.body = sync_json(outcome);
    }
    co_return reply;
}

asio::awaitable<json::value> offline_login_status(app::Gateway& gw) {
    auth::CredentialCache& cache = gw.credential_cache();
    auto users = co_await net::run_blocking(gw.pool(), [&cache] { return cache.list_users(wall_now()); });
    json::object o;
    if (users) {
        o["users"] = users->size();
        o["synced_users"] = std::count_if(users->begin(), users->end(), [](const auto& u) { return u.synced; });
        o["cached_users"] = std::count_if(users->begin(), users->end(), [](const auto& u) { return u.cached; });
    }
    o["locked_out"] = gw.lockout().locked_users(std::chrono::steady_clock::now()).size();
    const service::SyncStatus s = gw.user_sync().status();
    if (s.last_ok) o["last_sync"] = rfc3339(*s.last_ok);
    else o["last_sync"] = nullptr;
    o["sync_error"] = s.last_error;
    o["sync_failures"] = s.consecutive_failures;
    const service::LoginCounters& c = gw.login().counters();
    o["logins_online"] = c.online_ok;
    o["logins_offline"] = c.offline_ok;
    o["logins_refused"] = c.refused + c.throttled;
    co_return o;
}

}  // namespace pg::ctl
