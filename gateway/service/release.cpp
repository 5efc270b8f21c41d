// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/release.hpp"

#include <algorithm>
#include <array>

#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <fmt/format.h>

#include "auth/cache/lookup_tag.hpp"
#include "auth/cache/owner_match.hpp"
#include "auth/crypto/crypto.hpp"
#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/output/release_plan.hpp"
#include "gateway/service/failover.hpp"

namespace pg::service {

namespace asio = boost::asio;

namespace {

// 32 random bytes as base64url without padding (43 characters).
std::string random_token() {
    std::array<std::byte, 32> raw{};
    if (!crypto::random_bytes(raw)) {
        // Without randomness no session can be safe: make the token unusable.
        return {};
    }
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::byte b : raw) {
        acc = (acc << 8) | static_cast<std::uint8_t>(b);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(alphabet[(acc << (6 - bits)) & 0x3f]);
    OPENSSL_cleanse(raw.data(), raw.size());
    return out;
}

// A job's template attributes (JobMeta::attributes, a JSON object) for display.
void read_ticket(const spool::JobRecord& j, HeldJob& h) {
    boost::system::error_code ec;
    auto v = boost::json::parse(j.meta.attributes, ec);
    if (ec || !v.is_object()) return;
    const auto& o = v.as_object();
    if (const auto* c = o.if_contains("copies"); c && c->is_int64() && c->as_int64() >= 1) h.copies = c->as_int64();
    if (const auto* s = o.if_contains("sides"); s && s->is_string()) h.sides = std::string(s->as_string());
    if (const auto* m = o.if_contains("print-color-mode"); m && m->is_string()) {
        const std::string_view mode = m->as_string();
        if (mode == "monochrome" || mode == "bi-level" || mode == "auto-monochrome" || mode == "process-monochrome")
            h.color = false;
        else if (mode == "color")
            h.color = true;
    }
    if (const auto* p = o.if_contains("job-pages"); p && p->is_int64() && p->as_int64() >= 0) h.pages = p->as_int64();
}

std::string host_of(const std::string& uri) {
    auto start = uri.find("://");
    if (start == std::string::npos) return {};
    start += 3;
    auto end = uri.find_first_of("/?", start);
    std::string host = uri.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);  // never show userinfo
    return host;
}

}  // namespace

std::string Place::label() const {
    switch (kind) {
    case Kind::web: return "web";
    case Kind::terminal: return "terminal:" + terminal;
    case Kind::ipp: return "ipp";
    }
    return "unknown";
}

std::string_view to_string(ReleaseStatus s) {
    switch (s) {
    case ReleaseStatus::released: return "released";
    case ReleaseStatus::deleted: return "deleted";
    case ReleaseStatus::not_found: return "not_found";
    case ReleaseStatus::not_held: return "not_held";
    case ReleaseStatus::printer_refused: return "printer_refused";
    case ReleaseStatus::failed: return "failed";
    }
    return "failed";
}

ReleaseService::ReleaseService(app::Gateway& gw) : gw_(gw) {
    if (auto k = crypto::random_key()) form_key_ = std::move(*k);
}

std::string ReleaseService::login_form_tag(std::string_view nonce) const {
    if (!form_key_ || nonce.empty()) return {};
    return auth::lookup_tag(*form_key_, "release-login-form", nonce);
}

std::string ReleaseService::new_token() { return random_token(); }
ReleaseService::~ReleaseService() {
    for (auto& [token, s] : sessions_) {
        OPENSSL_cleanse(s.csrf.data(), s.csrf.size());
        OPENSSL_cleanse(s.token.data(), s.token.size());
    }
}

asio::awaitable<LoginResult> ReleaseService::authenticate(LoginRequest request, const Place& place,
                                                          std::optional<ReleaseUser>& out) {
    out.reset();
    std::string source = place.label();
    if (!place.peer.empty()) {
        // Throttling is per place: a terminal is one source, the web page and IPP are
        // one per address (docs/terminal-api.md).
        if (place.kind != Place::Kind::terminal) {
            auto colon = place.peer.rfind(':');
            source += ":" + place.peer.substr(0, colon);
        }
    }
    request.source = std::move(source);
    LoginResult r = co_await gw_.login().authenticate(std::move(request));
    if (r.ok() && r.user) out = identify(*r.user, r.offline);
    co_return r;
}

ReleaseUser ReleaseService::identify(auth::CachedUser user, bool offline) const {
    ReleaseUser who;
    who.user = std::move(user);
    who.offline = offline;
    const auto& admins = gw_.config().release.admins;
    who.admin = std::any_of(admins.begin(), admins.end(), [&](const std::string& a) {
        return auth::normalize_owner(a) == auth::normalize_owner(who.user.name);
    });
    return who;
}

// IPP releases a job to what its own queue names: the queue's printer, or the
// central server for a server queue (the caller checks that the server answers).
bool ReleaseService::ipp_target(const spool::JobRecord& job, const std::string& printer) const {
    const auto cfg = gw_.config_ptr();
    auto q = cfg->queues.find(job.meta.queue);
    if (q == cfg->queues.end()) return false;
    if (!q->second.printer.empty() && q->second.printer == printer) return true;
    return q->second.mode == conf::QueueMode::server && printer == server_route(q->second.name);
}

bool ReleaseService::visible(const ReleaseUser& who, const spool::JobRecord& job) {
    if (who.admin) return true;
    return auth::owner_matches(job.meta.user, who.user.name, who.user.aliases);
}

std::vector<PrinterChoice> ReleaseService::printers(const Place& place) const {
    std::vector<PrinterChoice> out;
    const auto cfg = gw_.config_ptr();
    for (const auto& [name, p] : cfg->printers) {
        if (p.name != name) continue;  // printers made from queue URIs are not offered
        bool ok = false;
        if (place.kind == Place::Kind::web) ok = p.release_page;
        else if (place.kind == Place::Kind::terminal)
            ok = std::find(p.terminals.begin(), p.terminals.end(), place.terminal) != p.terminals.end();
        if (ok) out.push_back({name, host_of(p.uri)});
    }
    return out;
}

bool ReleaseService::takes(const std::string& printer, const spool::JobMeta& meta, std::string* why) const {
    const auto cfg = gw_.config_ptr();
    auto it = cfg->printers.find(printer);
    if (it == cfg->printers.end()) {
        if (why) *why = "no such printer";
        return false;
    }
    // The one rule the forwarder applies too (output/release_plan.hpp): as it is,
    // converted, or refused with a reason.
    const auto plan = output::release_plan(it->second, meta);
    if (!plan.ok && why) *why = plan.why;
    return plan.ok;
}

std::vector<HeldJob> ReleaseService::list(const ReleaseUser& who, const Place& place) const {
    std::vector<HeldJob> out;
    const auto choices = printers(place);
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.state != spool::JobState::held || !visible(who, j)) return;
        HeldJob h;
        h.id = j.id;
        h.title = j.meta.name;
        h.owner = j.meta.user;
        h.queue = j.meta.queue;
        h.format = j.meta.document_format;
        h.size = j.size;
        h.submitted_ms = j.created_ms;
        h.held_reason = j.delivery.message;
        read_ticket(j, h);
        // takes() reads only the configuration, so it may run under the spool's lock.
        for (const auto& c : choices)
            if (takes(c.name, j.meta)) h.printers.push_back(c.name);
        out.push_back(std::move(h));
    });
    return out;
}

std::optional<spool::JobRecord> ReleaseService::job_status(const ReleaseUser& who, std::uint64_t id) const {
    auto rec = gw_.spool().find(id);
    if (!rec || !visible(who, *rec)) return std::nullopt;
    return rec;
}

asio::awaitable<std::vector<ReleaseOutcome>> ReleaseService::release(const ReleaseUser& who, const Place& place,
                                                                     std::span<const std::uint64_t> ids,
                                                                     const std::string& printer) {
    std::vector<ReleaseOutcome> out;
    const auto choices = printers(place);
    const bool offered = std::any_of(choices.begin(), choices.end(), [&](const PrinterChoice& c) { return c.name == printer; });
    const bool to_server = is_server_route(printer);
    bool woke = false;
    for (const std::uint64_t id : ids) {
        ReleaseOutcome o{id, ReleaseStatus::not_found, "no such held job"};
        auto rec = gw_.spool().find(id);
        if (!rec || !visible(who, *rec)) {
            out.push_back(std::move(o));
            continue;
        }
        if (rec->state != spool::JobState::held) {
            o.status = ReleaseStatus::not_held;
            o.message = fmt::format("the job is {}, not held", spool::ipp_name(rec->state));
            out.push_back(std::move(o));
            continue;
        }
        std::string why;
        if (place.kind == Place::Kind::ipp ? !ipp_target(*rec, printer) : !offered) {
            o.status = ReleaseStatus::printer_refused;
            o.message = fmt::format("printer {} cannot be used from here", printer);
            out.push_back(std::move(o));
            continue;
        }
        // The server's queue takes what its users print; a printer only its formats.
        if (!to_server && !takes(printer, rec->meta, &why)) {
            o.status = ReleaseStatus::printer_refused;
            o.message = why;
            out.push_back(std::move(o));
            continue;
        }
        spool::Transition t;
        t.from = {spool::JobState::held};
        t.to = spool::JobState::pending;
        t.route = printer;
        t.reason = "job-queued";
        const std::string target = to_server ? std::string("the central server") : printer;
        t.message = "released to " + target + (who.offline ? " (offline login)" : "");
        t.held_by = "";
        t.event = "job_released";
        auto r = co_await net::run_blocking(gw_.pool(), [this, id, &t] { return gw_.spool().transition(id, t); });
        if (!r) {
            o.status = r.error() == spool::errc::bad_state ? ReleaseStatus::not_held : ReleaseStatus::failed;
            o.message = r.error() == spool::errc::bad_state ? "the job is no longer held" : "the job could not be released";
            out.push_back(std::move(o));
            continue;
        }
        gw_.log().info({.event = "job_released", .job_id = id, .queue = rec->meta.queue, .peer = place.peer,
                        .source = place.label(), .user = who.user.name},
                       "job released to {} from {}{}", target, place.label(), who.offline ? " (offline login)" : "");
        o.status = ReleaseStatus::released;
        o.message = "released to " + target;
        out.push_back(std::move(o));
        woke = true;
    }
    if (woke) gw_.forwarder().wake(printer);
    co_return out;
}

asio::awaitable<std::vector<ReleaseOutcome>> ReleaseService::remove(const ReleaseUser& who, const Place& place,
                                                                    std::span<const std::uint64_t> ids) {
    std::vector<ReleaseOutcome> out;
    for (const std::uint64_t id : ids) {
        ReleaseOutcome o{id, ReleaseStatus::not_found, "no such held job"};
        auto rec = gw_.spool().find(id);
        if (!rec || !visible(who, *rec)) {
            out.push_back(std::move(o));
            continue;
        }
        spool::Transition t;
        t.from = {spool::JobState::held};
        t.to = spool::JobState::canceled;
        t.reason = "job-canceled-by-user";
        t.message = "deleted by its owner at a release point";
        t.event = "job_canceled";
        auto r = co_await net::run_blocking(gw_.pool(), [this, id, &t]() -> spool::Result<void> {
            auto done = gw_.spool().transition(id, t);
            if (!done) return done.error();
            return gw_.spool().remove(id);
        });
        if (!r) {
            o.status = r.error() == spool::errc::bad_state ? ReleaseStatus::not_held : ReleaseStatus::failed;
            o.message = r.error() == spool::errc::bad_state ? "only held jobs can be deleted here"
                                                             : "the job could not be deleted";
            out.push_back(std::move(o));
            continue;
        }
        gw_.log().info({.event = "job_deleted", .job_id = id, .queue = rec->meta.queue, .peer = place.peer,
                        .source = place.label(), .user = who.user.name},
                       "held job deleted and shredded at {}", place.label());
        o.status = ReleaseStatus::deleted;
        o.message = "deleted";
        out.push_back(std::move(o));
    }
    co_return out;
}

void ReleaseService::expire_sessions() {
    const auto idle = gw_.config().release.session_idle;
    const auto now = std::chrono::steady_clock::now();
    for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (now - it->second.last_used > idle) it = sessions_.erase(it);
        else ++it;
    }
}

const ReleaseSession& ReleaseService::open_session(ReleaseUser who, Place place) {
    expire_sessions();
    if (sessions_.size() >= kMaxSessions) {
        auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
            return a.second.last_used < b.second.last_used;
        });
        sessions_.erase(oldest);
    }
    ReleaseSession s;
    do {
        s.token = random_token();
    } while (!s.token.empty() && sessions_.count(s.token) != 0);
    s.csrf = random_token();
    s.who = std::move(who);
    s.place = std::move(place);
    s.last_used = std::chrono::steady_clock::now();
    auto token = s.token;
    return sessions_.insert_or_assign(std::move(token), std::move(s)).first->second;
}

ReleaseSession* ReleaseService::find_session(std::string_view token) {
    if (token.empty()) return nullptr;
    auto it = sessions_.find(token);
    if (it == sessions_.end()) return nullptr;
    const auto now = std::chrono::steady_clock::now();
    if (now - it->second.last_used > gw_.config().release.session_idle) {
        sessions_.erase(it);
        return nullptr;
    }
    it->second.last_used = now;
    return &it->second;
}

void ReleaseService::close_session(std::string_view token) {
    if (auto it = sessions_.find(token); it != sessions_.end()) sessions_.erase(it);
}

}  // namespace pg::service
