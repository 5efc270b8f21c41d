// SPDX-License-Identifier: Apache-2.0
// The release web page (issue #7): routes, cookies, CSRF checks and the calls into
// ReleaseService (Place::web). The markup lives in release_page_html.cpp.
//
// Routes (listen.release; release_http.cpp sends every path outside /api/ here):
//   GET  /            login page (sets the pre-session cookie); with a session: 303 /jobs
//   POST /login       ReleaseService::authenticate -> open_session -> 303 /jobs
//   GET  /jobs        held jobs, printer choice, actions
//   POST /release     release the selected jobs (do=selected) or all of them (do=all)
//   POST /delete      delete the selected jobs (also POST /release with do=delete, for
//                     browsers without the formaction attribute)
//   GET  /status      ?job=ID...: where released jobs are now (ReleaseService::job_status)
//   POST /logout      end the session, 303 /
//   GET  /style.css   the stylesheet
//
// Sessions: the token of ReleaseService::open_session in `pg_session` (Secure, HttpOnly,
// SameSite=Strict, no Max-Age: gone with the browser); the service ends it after
// release.session_idle without use. A request that brings a session cookie the service
// no longer knows is sent to /?ended ("your session ended"), whatever it asked for,
// and nothing is done.
//
// CSRF: every form has a hidden `csrf` field. With a session it must equal the
// session's csrf value (ReleaseSession::csrf). The login form has no session yet, so
// it uses a signed double-submit token: GET / puts a random nonce in the `pg_login`
// cookie (Secure, HttpOnly, SameSite=Strict, 10 minutes) and
// ReleaseService::login_form_tag(nonce) (an HMAC under a per-process key) in the form;
// POST /login needs both, matching. A cross-site form can send neither the cookie
// (SameSite=Strict) nor, without our key, a matching field; a cookie planted from a
// sibling host is useless without the field made for it. Every comparison is
// CRYPTO_memcmp over equal lengths. Missing or wrong = 403 and nothing done.
//
// Secrets: the login body and its parsed fields are wiped once the LoginRequest is
// built; LoginService wipes the request. Nothing typed is ever echoed into a page.
#include "gateway/service/release_page.hpp"

#include <algorithm>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include <openssl/crypto.h>

#include "gateway/app/gateway.hpp"
#include "gateway/service/release.hpp"
#include "gateway/service/release_http.hpp"
#include "gateway/service/release_page_html.hpp"
#include "protocols/web/cookie.hpp"
#include "protocols/web/form.hpp"

namespace pg::service {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kHtml = "text/html; charset=utf-8";
constexpr std::string_view kSessionCookie = "pg_session";
constexpr std::string_view kLoginCookie = "pg_login";
constexpr std::string_view kCookieAttrs = "; Path=/; Secure; HttpOnly; SameSite=Strict";
constexpr int kLoginCookieSeconds = 600;

bool same_secret(std::string_view a, std::string_view b) {
    return !a.empty() && a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Overwrites the whole buffer, the part past size() too (a moved-from short string
// keeps its characters in place), then empties the string.
void wipe(std::string& s) {
    s.resize(s.capacity());
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

void wipe(web::Fields& fields) {
    for (auto& f : fields) {
        wipe(f.name);
        wipe(f.value);
    }
}

net::HttpReply html(unsigned status, const std::string& text) { return release_reply(status, std::string(kHtml), text); }

net::HttpReply redirect(std::string_view location) {
    auto r = release_reply(303, std::string(kHtml), "<!DOCTYPE html><title>See other</title>");
    r.headers.emplace_back("Location", std::string(location));
    return r;
}

std::string set_session_cookie(std::string_view token) {
    return std::string(kSessionCookie) + "=" + std::string(token) + std::string(kCookieAttrs);
}
std::string clear_cookie(std::string_view name) {
    return std::string(name) + "=" + std::string(kCookieAttrs) + "; Max-Age=0";
}

struct Target {
    std::string_view path;
    std::string_view query;
};

Target split_target(std::string_view t) {
    const auto q = t.find('?');
    if (q == std::string_view::npos) return {t, {}};
    return {t.substr(0, q), t.substr(q + 1)};
}

std::vector<std::uint64_t> job_ids(const web::Fields& fields) {
    std::vector<std::uint64_t> out;
    for (std::string_view v : web::find_all(fields, "job")) {
        std::uint64_t id = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
        if (ec != std::errc{} || p != v.data() + v.size() || id == 0) continue;
        if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
    }
    return out;
}

// Everything one request needs to know about its session.
struct Visit {
    web::Fields cookies;
    ReleaseSession* session = nullptr;
    bool stale_cookie = false;  // a session cookie the service does not know (ended or bogus)
};

Visit visit_of(app::Gateway& gw, const net::HttpRequestHead& head) {
    Visit v;
    if (auto c = web::parse_cookies(head.cookie)) v.cookies = std::move(*c);
    const std::string* token = web::find_cookie(v.cookies, kSessionCookie);
    if (!token || token->empty()) return v;
    ReleaseSession* s = gw.release().find_session(*token);
    // A terminal's session token is not a web session.
    if (s && s->place.kind == Place::Kind::web) v.session = s;
    else v.stale_cookie = true;
    return v;
}

page::Frame frame_of(app::Gateway& gw, const ReleaseSession* s) {
    page::Frame f;
    f.server_unreachable = gw.monitor().enabled() && !gw.monitor().reachable();
    if (s) {
        f.logged_in = true;
        f.logged_in_offline = s->who.offline;
        f.user = s->who.user.full_name.empty() ? s->who.user.name : s->who.user.full_name;
        f.csrf = s->csrf;
    }
    return f;
}

net::HttpReply session_ended() {
    auto r = redirect("/?ended");
    r.headers.emplace_back("Set-Cookie", clear_cookie(kSessionCookie));
    return r;
}

net::HttpReply refused_csrf(app::Gateway& gw, const net::HttpRequestHead& head, const ReleaseSession* s) {
    gw.log().warn({.event = "release_page_csrf", .peer = head.peer, .source = "web"},
                  "release page: {} {} without a valid CSRF token: refused", head.method,
                  log::escape(split_target(head.target).path, 64));
    return html(403, page::message(frame_of(gw, s), "Refused",
                                   "This form has expired or did not come from this page. Nothing was done.",
                                   s ? "/jobs" : "/", s ? "Back to my jobs" : "Back to log in"));
}

// The login page; reuses the nonce of a pg_login cookie that is still there, so two
// open tabs both work.
net::HttpReply login_page(app::Gateway& gw, const Visit& v, unsigned status, const std::optional<page::Notice>& n) {
    std::string nonce;
    if (const std::string* c = web::find_cookie(v.cookies, kLoginCookie); c && c->size() == 43) nonce = *c;
    if (nonce.empty()) nonce = ReleaseService::new_token();
    const std::string tag = gw.release().login_form_tag(nonce);
    if (tag.empty())
        return html(503, page::message(frame_of(gw, nullptr), "Unavailable",
                                       "Logging in is not possible right now.", "", ""));
    auto r = html(status, page::login(frame_of(gw, nullptr), n, tag));
    r.headers.emplace_back("Set-Cookie", std::string(kLoginCookie) + "=" + nonce + std::string(kCookieAttrs) +
                                             "; Max-Age=" + std::to_string(kLoginCookieSeconds));
    return r;
}

// Reads and parses a form body. nullopt = the reply to send instead.
asio::awaitable<std::optional<web::Fields>> read_form(const net::HttpRequestHead& head, net::BodySource& body,
                                                      net::HttpReply& error, const page::Frame& f) {
    std::string_view type = head.content_type;
    type = type.substr(0, type.find(';'));
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    if (type != "application/x-www-form-urlencoded") {
        error = html(415, page::message(f, "Not a form", "This address takes form posts only.", "/", "Start again"));
        co_return std::nullopt;
    }
    auto text = co_await read_small_body(body);
    if (!text) {
        error = html(413, page::message(f, "Too large", "The form was too large.", "/", "Start again"));
        co_return std::nullopt;
    }
    auto fields = web::parse_form(*text);
    wipe(*text);
    if (!fields) {
        error = html(400, page::message(f, "Bad request", "The form could not be read.", "/", "Start again"));
        co_return std::nullopt;
    }
    co_return std::move(*fields);
}

std::string field(const web::Fields& fields, std::string_view name) {
    const std::string* v = web::find_field(fields, name);
    return v ? *v : std::string();
}

asio::awaitable<net::HttpReply> post_login(app::Gateway& gw, const net::HttpRequestHead& head, net::BodySource& body,
                                           Visit& v) {
    net::HttpReply error;
    const page::Frame anonymous = frame_of(gw, nullptr);
    auto fields = co_await read_form(head, body, error, anonymous);
    if (!fields) co_return error;
    const std::string* nonce = web::find_cookie(v.cookies, kLoginCookie);
    const std::string expected = nonce ? gw.release().login_form_tag(*nonce) : std::string();
    if (!same_secret(field(*fields, "csrf"), expected)) {
        wipe(*fields);
        co_return refused_csrf(gw, head, nullptr);
    }
    LoginRequest req;
    const std::string method = field(*fields, "method");
    auto& s = req.secrets;
    // Copied, not through temporaries, so every copy of a secret is one we wipe.
    if (const std::string* f = web::find_field(*fields, "pin")) s.pin = *f;
    if (const std::string* f = web::find_field(*fields, "card")) s.card = *f;
    if (const std::string* f = web::find_field(*fields, "username")) s.username = *f;
    if (const std::string* f = web::find_field(*fields, "password")) s.password = *f;
    wipe(*fields);
    if (method == "pin") req.method = auth::LoginMethod::pin;
    else if (method == "card") req.method = auth::LoginMethod::card;
    else if (method == "password") req.method = auth::LoginMethod::password;
    // No (known) method: by which fields are filled.
    else if (!s.username.empty() || !s.password.empty()) req.method = auth::LoginMethod::password;
    else if (!s.card.empty()) req.method = s.pin.empty() ? auth::LoginMethod::card : auth::LoginMethod::card_pin;
    else req.method = auth::LoginMethod::pin;

    const Place place = Place::web(head.peer);
    std::optional<ReleaseUser> who;
    // The request is moved into the call before the co_await (GCC 12: no by-value
    // argument built inside the awaiting expression).
    auto login = gw.release().authenticate(std::move(req), place, who);
    LoginResult r = co_await std::move(login);
    wipe(s.pin);
    wipe(s.card);
    wipe(s.username);
    wipe(s.password);
    switch (r.status) {
    case LoginStatus::ok: break;
    case LoginStatus::throttled: {
        const auto secs = std::max<long long>(1, (r.retry_after.count() + 999) / 1000);
        co_return login_page(gw, v, 429,
                             page::Notice{page::Tone::error,
                                          "Too many attempts from here. Try again in " + std::to_string(secs) + " s."});
    }
    case LoginStatus::unavailable:
        co_return login_page(gw, v, 503, page::Notice{page::Tone::error,
                                                      "Logging in is not possible right now. Try again later."});
    case LoginStatus::refused:
        co_return login_page(gw, v, 200, page::Notice{page::Tone::error,
                                                      "Login failed. Check what you typed and try again."});
    }
    if (!who) co_return login_page(gw, v, 503, page::Notice{page::Tone::error, "Logging in is not possible right now."});
    // A fresh session each login; an older one in this browser ends now.
    if (const std::string* old = web::find_cookie(v.cookies, kSessionCookie)) gw.release().close_session(*old);
    const ReleaseSession& session = gw.release().open_session(std::move(*who), place);
    if (session.token.empty()) {
        gw.release().close_session("");
        co_return login_page(gw, v, 503, page::Notice{page::Tone::error, "Logging in is not possible right now."});
    }
    auto reply = redirect("/jobs");
    reply.headers.emplace_back("Set-Cookie", set_session_cookie(session.token));
    reply.headers.emplace_back("Set-Cookie", clear_cookie(kLoginCookie));
    co_return reply;
}

net::HttpReply jobs_page(app::Gateway& gw, const ReleaseSession& s, const std::optional<page::Notice>& n) {
    const auto held = gw.release().list(s.who, s.place);
    const auto printers = gw.release().printers(s.place);
    return html(200, page::jobs(frame_of(gw, &s), held, printers, n));
}

std::vector<page::StatusLine> status_lines(app::Gateway& gw, const ReleaseSession& s,
                                           const std::vector<std::uint64_t>& ids) {
    std::vector<page::StatusLine> out;
    for (const auto id : ids) out.push_back({id, gw.release().job_status(s.who, id)});
    return out;
}

// POST /release and /delete, once the session and the CSRF token are good.
asio::awaitable<net::HttpReply> act(app::Gateway& gw, ReleaseSession& s, const web::Fields& fields, bool deleting) {
    const std::string what = field(fields, "do");
    std::vector<std::uint64_t> ids;
    if (!deleting && what == "all") {
        for (const auto& h : gw.release().list(s.who, s.place)) ids.push_back(h.id);
    } else {
        ids = job_ids(fields);
    }
    if (ids.empty())
        co_return jobs_page(gw, s, page::Notice{page::Tone::error,
                                                deleting ? "Select the jobs to delete first."
                                                         : "Select the jobs to release first, or use Release all."});
    std::vector<page::OutcomeLine> lines;
    for (const auto id : ids) {
        auto rec = gw.release().job_status(s.who, id);
        lines.push_back({id, rec ? (rec->meta.name.empty() ? "(untitled)" : rec->meta.name) : "", {}});
    }
    // Copies: the session may end while we wait (another request, an idle sweep), so
    // `s` is not touched after the first co_await.
    const ReleaseUser who = s.who;
    const Place place = s.place;
    const std::string token = s.token;
    std::vector<ReleaseOutcome> results;
    if (deleting) {
        results = co_await gw.release().remove(who, place, ids);
    } else {
        const std::string printer = field(fields, "printer");
        if (printer.empty())
            co_return jobs_page(gw, s, page::Notice{page::Tone::error, "Choose a printer first."});
        results = co_await gw.release().release(who, place, ids, printer);
    }
    std::vector<std::uint64_t> released;
    for (std::size_t i = 0; i < lines.size() && i < results.size(); ++i) {
        lines[i].outcome = results[i];
        if (results[i].status == ReleaseStatus::released) released.push_back(results[i].id);
    }
    ReleaseSession* again = gw.release().find_session(token);
    page::Frame f = frame_of(gw, again ? again : nullptr);
    std::vector<page::StatusLine> status;
    for (const auto id : released) status.push_back({id, gw.release().job_status(who, id)});
    co_return html(200, page::outcomes(f, deleting, lines, status));
}

}  // namespace

asio::awaitable<net::HttpReply> release_page_handler(app::Gateway& gw, const net::HttpRequestHead& head,
                                                     net::BodySource& body) {
    const Target t = split_target(head.target);
    const bool get = head.method == "GET";
    const bool post = head.method == "POST";
    const std::string_view p = t.path;
    const bool known = p == "/" || p == "/login" || p == "/jobs" || p == "/release" || p == "/delete" ||
                       p == "/status" || p == "/logout" || p == "/style.css";
    if (!known) co_return html(404, page::message(frame_of(gw, nullptr), "Not found", "There is no such page.", "/",
                                                  "Go to the start page"));
    const bool wants_post = p == "/login" || p == "/release" || p == "/delete" || p == "/logout";
    if ((wants_post && !post) || (!wants_post && !get)) {
        auto r = html(405, page::message(frame_of(gw, nullptr), "Not allowed", "This page cannot be used that way.",
                                         "/", "Go to the start page"));
        r.headers.emplace_back("Allow", wants_post ? "POST" : "GET");
        co_return r;
    }
    if (p == "/style.css") co_return release_reply(200, "text/css; charset=utf-8", page::stylesheet());

    Visit v = visit_of(gw, head);
    if (p == "/login") co_return co_await post_login(gw, head, body, v);
    if (p == "/") {
        if (v.session) co_return redirect("/jobs");
        std::optional<page::Notice> n;
        web::Fields query;
        if (auto q = web::parse_form(t.query)) query = std::move(*q);
        if (v.stale_cookie || web::find_field(query, "ended"))
            n = page::Notice{page::Tone::info, "Your session ended. Log in again to see your jobs."};
        else if (web::find_field(query, "bye"))
            n = page::Notice{page::Tone::info, "You are logged out."};
        auto r = login_page(gw, v, 200, n);
        if (v.stale_cookie) r.headers.emplace_back("Set-Cookie", clear_cookie(kSessionCookie));
        co_return r;
    }
    // Everything else needs a session.
    if (!v.session) co_return v.stale_cookie ? session_ended() : redirect("/");
    const ReleaseSession& s = *v.session;
    if (p == "/jobs") co_return jobs_page(gw, s, std::nullopt);
    if (p == "/status") {
        web::Fields query;
        if (auto q = web::parse_form(t.query)) query = std::move(*q);
        co_return html(200, page::status(frame_of(gw, &s), status_lines(gw, s, job_ids(query))));
    }
    // POST /release, /delete, /logout: a form with the session's CSRF token.
    net::HttpReply error;
    const std::string token = s.token;
    const page::Frame before = frame_of(gw, &s);
    auto fields = co_await read_form(head, body, error, before);
    if (!fields) co_return error;
    // The read may have waited: look the session up again (`s` may be gone).
    ReleaseSession* live = gw.release().find_session(token);
    if (!live) co_return session_ended();
    if (!same_secret(field(*fields, "csrf"), live->csrf)) co_return refused_csrf(gw, head, live);
    if (p == "/logout") {
        gw.release().close_session(live->token);
        auto r = redirect("/?bye");
        r.headers.emplace_back("Set-Cookie", clear_cookie(kSessionCookie));
        co_return r;
    }
    const bool deleting = p == "/delete" || field(*fields, "do") == "delete";
    co_return co_await act(gw, *live, *fields, deleting);
}

}  // namespace pg::service
