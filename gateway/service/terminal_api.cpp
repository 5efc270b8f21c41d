// SPDX-License-Identifier: Apache-2.0
// The terminal API (issue #7, docs/terminal-api.md): JSON over HTTPS on listen.release
// under /api/v1/, for card readers and embedded MFD terminals.
//
// Owns: the HTTP side of each endpoint: who is calling (the terminal's API key in
// `Authorization: Bearer`), the session token (`X-Session`, bound to the terminal that
// opened it), reading and parsing the JSON body (protocols/terminal/request.hpp) and
// writing the JSON answer with its status code.
// Must not: decide a login, whose jobs a user sees, which printer a terminal may use
// or how a job is released: ReleaseService does (release.hpp), for every release
// point alike. Never log, echo or keep a secret or a key: a refused key is logged
// with the peer's address only; the body of a login is wiped once parsed.
//
// Design note. Every request is authenticated as a terminal first, before the path
// is looked at, so a caller without a key learns nothing (not even which paths
// exist). A session is found by its token and then checked against the calling
// terminal: another terminal's key with a valid token is the same 401 as an unknown
// token. The session's user is copied before any co_await: a session may end (logout,
// idle expiry, the 1000-session cap) while a release is being written.
#include "gateway/service/terminal_api.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "gateway/app/gateway.hpp"
#include "gateway/service/release.hpp"
#include "gateway/service/release_http.hpp"
#include "gateway/service/terminal_keys.hpp"
#include "protocols/terminal/request.hpp"

namespace pg::service {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

net::HttpReply json_reply(unsigned status, const json::value& v) {
    return release_reply(status, "application/json", json::serialize(v));
}

net::HttpReply error_reply(unsigned status, std::string_view code, std::string_view message,
                           std::string_view field = {}) {
    json::object o;
    o["error"] = code;
    o["message"] = message;
    if (!field.empty()) o["field"] = field;
    return json_reply(status, o);
}

// The token of `Authorization: Bearer TOKEN` (RFC 6750 §2.1; the scheme is
// case-insensitive, RFC 9110 §11.1); nullopt for anything else.
std::optional<std::string_view> bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != scheme[i]) return std::nullopt;
    std::string_view token = authorization.substr(scheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return std::nullopt;
    return token;
}

// application/json, with or without parameters (charset=utf-8).
bool is_json(std::string_view content_type) {
    const auto semi = content_type.find(';');
    std::string_view type = content_type.substr(0, semi);
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    if (type.size() != 16) return false;
    std::string lower(type);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower == "application/json";
}

auth::LoginMethod login_method(terminal::Method m) {
    switch (m) {
    case terminal::Method::card: return auth::LoginMethod::card;
    case terminal::Method::pin: return auth::LoginMethod::pin;
    case terminal::Method::password: return auth::LoginMethod::password;
    case terminal::Method::card_pin: return auth::LoginMethod::card_pin;
    case terminal::Method::card_password: return auth::LoginMethod::card_password;
    }
    return auth::LoginMethod::pin;
}

json::value held_job_json(const HeldJob& h) {
    json::object o;
    o["id"] = h.id;
    o["title"] = h.title;
    o["owner"] = h.owner;
    o["queue"] = h.queue;
    o["format"] = h.format;
    o["size"] = h.size;
    if (h.pages >= 0) o["pages"] = h.pages;
    else o["pages"] = nullptr;
    if (h.color) o["color"] = *h.color;
    else o["color"] = nullptr;
    o["copies"] = h.copies;
    if (h.sides.empty()) o["sides"] = nullptr;
    else o["sides"] = h.sides;
    o["submitted_at"] = spool::rfc3339(h.submitted_ms);
    if (h.held_reason.empty()) o["held_reason"] = nullptr;
    else o["held_reason"] = h.held_reason;
    json::array printers;
    for (const auto& p : h.printers) printers.emplace_back(p);
    o["printers"] = std::move(printers);
    return o;
}

json::value outcomes_json(const std::vector<ReleaseOutcome>& outcomes) {
    json::array results;
    for (const auto& o : outcomes)
        results.emplace_back(json::object{{"id", o.id}, {"status", to_string(o.status)}, {"message", o.message}});
    return results;
}

unsigned status_of(ReleaseStatus s) {
    switch (s) {
    case ReleaseStatus::released:
    case ReleaseStatus::deleted: return 200;
    case ReleaseStatus::not_found: return 404;
    case ReleaseStatus::not_held: return 409;
    case ReleaseStatus::printer_refused: return 409;
    case ReleaseStatus::failed: return 500;
    }
    return 500;
}

// The body of a POST, whole and bounded; an error reply when it cannot be had.
asio::awaitable<std::optional<std::string>> json_body(const net::HttpRequestHead& head, net::BodySource& body,
                                                      std::optional<net::HttpReply>& refusal) {
    if (!is_json(head.content_type)) {
        refusal = error_reply(415, "unsupported_media_type", "the body must be application/json");
        co_return std::nullopt;
    }
    auto text = co_await read_small_body(body, kMaxReleaseBody);
    if (!text) {
        refusal = error_reply(413, "too_large", "the body is longer than 16 KiB or was cut off");
        refusal->close = true;
        co_return std::nullopt;
    }
    co_return text;
}

net::HttpReply parse_refusal(const terminal::ParseError& e) {
    return error_reply(400, "bad_request", e.message, e.field);
}

asio::awaitable<net::HttpReply> login(app::Gateway& gw, const net::HttpRequestHead& head, net::BodySource& body,
                                      const Place& place) {
    std::optional<net::HttpReply> refusal;
    auto text = co_await json_body(head, body, refusal);
    if (!text) co_return std::move(*refusal);
    auto parsed = terminal::parse_login(*text);
    terminal::wipe_string(*text);
    if (!parsed) {
        gw.log().debug({.event = "terminal_bad_request", .peer = head.peer, .source = place.label()},
                       "login request refused: {}", parsed.error().message);
        co_return parse_refusal(parsed.error());
    }
    LoginRequest request;
    request.method = login_method(parsed->method);
    request.secrets.card = parsed->card;
    request.secrets.pin = parsed->pin;
    request.secrets.username = parsed->username;
    request.secrets.password = parsed->password;
    parsed->wipe();
    std::optional<ReleaseUser> who;
    LoginResult r = co_await gw.release().authenticate(std::move(request), place, who);
    switch (r.status) {
    case LoginStatus::ok: break;
    case LoginStatus::refused: co_return error_reply(401, "login_refused", "login refused");
    case LoginStatus::throttled: {
        const auto secs = std::max<long long>(1, (r.retry_after.count() + 999) / 1000);
        auto reply = json_reply(429, json::object{{"error", "throttled"},
                                                  {"message", "too many failed logins here: try again later"},
                                                  {"retry_after", secs}});
        reply.headers.emplace_back("Retry-After", std::to_string(secs));
        co_return reply;
    }
    case LoginStatus::unavailable: {
        auto reply = error_reply(503, "unavailable", "logins cannot be checked right now");
        reply.headers.emplace_back("Retry-After", "5");
        co_return reply;
    }
    }
    if (!who) co_return error_reply(503, "unavailable", "logins cannot be checked right now");
    const ReleaseSession& s = gw.release().open_session(std::move(*who), place);
    if (s.token.empty()) {
        gw.release().close_session(s.token);
        co_return error_reply(503, "unavailable", "no session could be opened");
    }
    const auto idle = std::chrono::duration_cast<std::chrono::seconds>(gw.config().release.session_idle);
    json::object o;
    o["session"] = s.token;
    o["user"] = json::object{{"name", s.who.user.name}, {"full_name", s.who.user.full_name}};
    o["offline"] = s.who.offline;
    o["admin"] = s.who.admin;
    o["expires_in"] = idle.count();
    gw.log().info({.event = "terminal_session_opened", .peer = head.peer, .source = place.label(),
                   .user = s.who.user.name},
                  "terminal session opened{}", s.who.offline ? " (offline login)" : "");
    co_return json_reply(201, o);
}

}  // namespace

asio::awaitable<net::HttpReply> terminal_api_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                     net::BodySource& body) {
    // Who is calling, before anything else.
    std::optional<std::string> terminal;
    if (auto token = bearer_token(head.authorization)) terminal = gw.terminal_keys()->identify(*token);
    if (terminal && gw.config().terminals.count(*terminal) == 0) terminal.reset();
    if (!terminal) {
        gw.log().warn({.event = "terminal_auth_failed", .peer = head.peer},
                      "terminal API request refused: {}", head.authorization.empty() ? "no API key" : "unknown API key");
        auto reply = error_reply(401, "unauthorized", "a valid terminal API key is required");
        reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"printgate terminal API\"");
        co_return reply;
    }
    const Place place = Place::at_terminal(*terminal, head.peer);
    const terminal::Route route = terminal::parse_route(head.method, head.target);
    switch (route.endpoint) {
    case terminal::Endpoint::not_found: co_return error_reply(404, "not_found", "no such endpoint");
    case terminal::Endpoint::bad_method: {
        auto reply = error_reply(405, "method_not_allowed", "method not allowed here");
        reply.headers.emplace_back("Allow", std::string(route.allow));
        co_return reply;
    }
    case terminal::Endpoint::login: co_return co_await login(gw, head, body, place);
    default: break;
    }

    // Everything else needs this terminal's session.
    ReleaseSession* s = gw.release().find_session(head.session);
    if (!s || s->place.kind != Place::Kind::terminal || s->place.terminal != *terminal)
        co_return error_reply(401, "no_session", "log in first: the session is unknown, ended or idle too long");
    const ReleaseUser who = s->who;
    ReleaseService& rs = gw.release();

    switch (route.endpoint) {
    case terminal::Endpoint::logout: {
        rs.close_session(head.session);
        gw.log().info({.event = "terminal_session_closed", .peer = head.peer, .source = place.label(),
                       .user = who.user.name},
                      "terminal session ended by logout");
        co_return json_reply(200, json::object{{"session", "ended"}});
    }
    case terminal::Endpoint::list_jobs: {
        json::array jobs;
        for (const auto& h : rs.list(who, place)) jobs.push_back(held_job_json(h));
        co_return json_reply(200, json::object{{"jobs", std::move(jobs)}});
    }
    case terminal::Endpoint::list_printers: {
        json::array printers;
        for (const auto& p : rs.printers(place))
            printers.emplace_back(json::object{{"name", p.name}, {"description", p.description}});
        co_return json_reply(200, json::object{{"printers", std::move(printers)}});
    }
    case terminal::Endpoint::job_status: {
        auto rec = rs.job_status(who, route.job);
        if (!rec) co_return error_reply(404, "not_found", "no such job");
        json::object o;
        o["id"] = rec->id;
        o["title"] = rec->meta.name;
        o["state"] = spool::ipp_name(rec->state);
        o["final"] = spool::is_final(rec->state);
        o["reason"] = rec->delivery.reason;
        o["message"] = rec->delivery.message;
        if (rec->delivery.route.empty()) o["printer"] = nullptr;
        else o["printer"] = rec->delivery.route;
        o["attempts"] = rec->delivery.attempts;
        o["updated_at"] = spool::rfc3339(rec->updated_ms);
        co_return json_reply(200, o);
    }
    case terminal::Endpoint::delete_job: {
        const std::vector<std::uint64_t> ids{route.job};
        auto outcomes = co_await rs.remove(who, place, ids);
        const ReleaseOutcome& o = outcomes.front();
        co_return json_reply(status_of(o.status),
                             json::object{{"id", o.id}, {"status", to_string(o.status)}, {"message", o.message}});
    }
    case terminal::Endpoint::release_jobs:
    case terminal::Endpoint::delete_jobs: {
        std::optional<net::HttpReply> refusal;
        auto text = co_await json_body(head, body, refusal);
        if (!text) co_return std::move(*refusal);
        const bool release = route.endpoint == terminal::Endpoint::release_jobs;
        auto parsed = release ? terminal::parse_release(*text) : terminal::parse_delete(*text);
        if (!parsed) co_return parse_refusal(parsed.error());
        std::vector<std::uint64_t> ids = parsed->jobs;
        if (parsed->all)
            for (const auto& h : rs.list(who, place)) ids.push_back(h.id);
        std::vector<ReleaseOutcome> outcomes;
        if (release) outcomes = co_await rs.release(who, place, ids, parsed->printer);
        else outcomes = co_await rs.remove(who, place, ids);
        json::object o;
        if (release) o["printer"] = parsed->printer;
        o["results"] = outcomes_json(outcomes);
        co_return json_reply(200, o);
    }
    default: break;
    }
    co_return error_reply(404, "not_found", "no such endpoint");
}

}  // namespace pg::service
