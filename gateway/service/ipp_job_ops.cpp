// SPDX-License-Identifier: Apache-2.0
// IPP job operations that need to know who asks (RFC 8011 §4.3): the auth: basic
// guard, Cancel-Job, Hold-Job, Release-Job, Pause-/Resume-Printer. See ipp_service.hpp.
//
// Who may act on a job. auth: none queues trust requesting-user-name, as CUPS does
// without authentication. On auth: basic queues the credentials are checked by
// the users file when no upstream is configured, else by the one login path of
// every release point (ReleaseService::authenticate: the server while it answers,
// the offline cache when it does not); either way the requester becomes a
// ReleaseUser and ReleaseService::visible decides whose jobs they may act on (owner
// normalisation and aliases, release.admins), with the queue's operators as admins
// of that queue. Release-Job on those queues goes through ReleaseService::release.
#include <algorithm>
#include <array>
#include <chrono>

#include <boost/algorithm/string/predicate.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth/cache/owner_match.hpp"
#include "auth/passwd/authenticator.hpp"
#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/failover.hpp"
#include "gateway/service/ipp_exchange.hpp"
#include "gateway/upstream/monitor.hpp"

namespace pg::service {

namespace asio = boost::asio;
using namespace ipp_detail;

namespace {

struct BasicCredentials {
    std::string user;
    std::string password;
    ~BasicCredentials() { OPENSSL_cleanse(password.data(), password.size()); }
};

// "Basic base64(user:password)" (RFC 7617); nullopt when absent or malformed.
std::optional<BasicCredentials> parse_basic(std::string_view header) {
    if (header.size() < 6 || !boost::algorithm::iequals(header.substr(0, 6), "basic ")) return std::nullopt;
    std::string_view b64 = header.substr(6);
    while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
    while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
    if (b64.empty() || b64.size() % 4 != 0 || b64.size() > 8192) return std::nullopt;
    std::string raw(b64.size() / 4 * 3, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(raw.data()),
                                  reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
    if (n < 0) return std::nullopt;
    std::size_t len = static_cast<std::size_t>(n);
    for (std::size_t i = b64.size(); i > 0 && b64[i - 1] == '='; --i) --len;  // EVP counts padding as bytes
    raw.resize(len);
    const auto colon = raw.find(':');
    if (colon == std::string::npos) {
        OPENSSL_cleanse(raw.data(), raw.size());
        return std::nullopt;
    }
    BasicCredentials c;
    c.user = raw.substr(0, colon);
    c.password = raw.substr(colon + 1);
    OPENSSL_cleanse(raw.data(), raw.size());
    return c;
}

net::HttpReply unauthorized() {
    auto r = plain(401, "authentication required\n");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"printgate\", charset=\"UTF-8\"");
    return r;
}

}  // namespace

// Queues with auth: basic guard the operations that create or change jobs; the
// others (printer attributes, job listings) answer anyone, with private values
// hidden. Credentials are taken only over TLS: over cleartext the client is told
// to upgrade (HTTP 426, RFC 2817), so a password never crosses the wire in clear.
asio::awaitable<std::optional<net::HttpReply>> IppService::authenticate(Exchange& ex) {
    using ipp::Operation;
    static constexpr std::array<Operation, 9> guarded{
        Operation::print_job, Operation::validate_job, Operation::create_job,    Operation::send_document,
        Operation::cancel_job, Operation::hold_job,    Operation::release_job,   Operation::pause_printer,
        Operation::resume_printer};
    // Other operations answer anyone; credentials sent with them anyway (an operator
    // listing jobs) are checked too, and count.
    const bool offered = ex.head.encrypted && !ex.head.authorization.empty();
    if (!offered &&
        std::none_of(guarded.begin(), guarded.end(), [&](Operation op) { return ex.request.is(op); }))
        co_return std::nullopt;
    const auto cfg = gw_.config_ptr();
    auto basic_queue = [&](const std::string& queue) {
        auto q = cfg->queues.find(queue);
        return q != cfg->queues.end() && q->second.auth == conf::QueueAuth::basic;
    };
    bool basic = basic_queue(ex.queue);
    if (auto id = target_job(ex.request)) {
        // A job operation is guarded by the job's own queue, whatever URI named it.
        if (auto it = incoming_.find(*id); it != incoming_.end() && it->second.writer)
            basic = basic || basic_queue(it->second.writer->meta().queue);
        else if (auto rec = gw_.spool().find(*id))
            basic = basic || basic_queue(rec->meta.queue);
    }
    if (!basic) co_return std::nullopt;
    if (!ex.head.encrypted) {
        gw_.log().warn({.event = "auth_refused", .queue = ex.queue, .peer = ex.head.peer, .proto = "ipp"},
                       "authentication over cleartext refused; the client is asked to upgrade to TLS");
        auto r = plain(426, "this queue needs TLS: use ipps:// or upgrade the connection\n");
        r.headers.emplace_back("Upgrade", "TLS/1.2,TLS/1.3,HTTP/1.1");
        r.headers.emplace_back("Connection", "Upgrade");
        co_return r;
    }
    auto creds = parse_basic(ex.head.authorization);
    if (!creds) co_return unauthorized();
    if (gw_.monitor().enabled()) co_return co_await authenticate_upstream(ex, creds->user, creds->password);
    auto authn = gw_.authenticator();
    if (!authn) co_return unauthorized();
    auto verdict = co_await net::run_blocking(gw_.pool(), [&authn, &creds] {
        return authn->verify(creds->user, creds->password);
    });
    if (verdict.status == auth::Verdict::Status::unavailable) {
        auto r = plain(503, "authentication is unavailable; try again\n");
        r.headers.emplace_back("Retry-After", "5");
        co_return r;
    }
    if (!verdict.ok()) {
        gw_.log().warn({.event = "auth_failed", .queue = ex.queue, .peer = ex.head.peer, .proto = "ipp"},
                       "authentication failed for user {}", log::escape(creds->user, 64));
        co_return unauthorized();
    }
    ex.user = verdict.user;
    ex.authenticated = true;
    auth::CachedUser local;
    local.name = verdict.user;
    ex.who = gw_.release().identify(std::move(local), false);
    co_return std::nullopt;
}

// With an upstream, Basic credentials are a password login at a release point
// (Place::ipp): the server decides while it answers, the offline cache when it does
// not, with the login service's throttling and lockout. The typed name is never
// logged here (it may be a mistyped password); the login service logs the outcome.
asio::awaitable<std::optional<net::HttpReply>> IppService::authenticate_upstream(Exchange& ex, const std::string& user,
                                                                                 const std::string& password) {
    LoginRequest request;
    request.method = auth::LoginMethod::password;
    request.secrets.username = user;
    request.secrets.password = password;
    std::optional<ReleaseUser> who;
    const Place place = Place::ipp(ex.head.peer);
    const LoginResult r = co_await gw_.release().authenticate(std::move(request), place, who);
    switch (r.status) {
    case LoginStatus::ok:
        ex.user = who->user.name;
        ex.authenticated = true;
        ex.who = std::move(who);
        co_return std::nullopt;
    case LoginStatus::throttled: {
        // RFC 8011 has no "too many requests": server-error-busy (§4.1.6.3 of its
        // status codes: "try again later") with the wait, and Retry-After for HTTP.
        const auto seconds = std::max<std::int64_t>(
            1, std::chrono::ceil<std::chrono::seconds>(r.retry_after).count());
        ex.fail(Status::server_error_busy,
                fmt::format("too many failed logins from this address; try again in {} s", seconds));
        auto reply = ipp_reply(ex.response, true);
        reply.headers.emplace_back("Retry-After", std::to_string(seconds));
        co_return reply;
    }
    case LoginStatus::unavailable: {
        auto reply = plain(503, "authentication is unavailable; try again\n");
        reply.headers.emplace_back("Retry-After", "5");
        co_return reply;
    }
    case LoginStatus::refused: break;
    }
    gw_.log().warn({.event = "auth_failed", .queue = ex.queue, .peer = ex.head.peer, .proto = "ipp"},
                   "authentication failed (checked by the login service)");
    co_return unauthorized();
}

// An operator of `queue`: named in its `operators` and authenticated.
bool IppService::is_operator(const Exchange& ex, const std::string& queue) const {
    if (!ex.authenticated) return false;
    const auto cfg = gw_.config_ptr();
    auto q = cfg->queues.find(queue);
    if (q == cfg->queues.end()) return false;
    const auto& ops = q->second.operators;
    return std::find(ops.begin(), ops.end(), ex.user) != ops.end();
}

// Pause-Printer / Resume-Printer (RFC 8011 §4.2.8-9): operators only. A paused
// queue keeps accepting jobs; it stops sending them to its printer.
void IppService::pause_printer(Exchange& ex, bool pause) {
    if (!is_operator(ex, ex.queue)) {
        ex.fail(Status::client_error_not_authorized,
                "pausing a queue needs one of its operators, authenticated (auth: basic)");
        return;
    }
    if (pause) gw_.forwarder().pause(ex.queue);
    else gw_.forwarder().resume(ex.queue);
    gw_.log().info({.event = pause ? "queue_paused" : "queue_resumed", .queue = ex.queue, .peer = ex.head.peer,
                    .proto = "ipp"},
                   "queue {} by {}", pause ? "paused" : "resumed", log::escape(ex.user, 64));
}

// `ex.who` as the release rules see them for a job of `queue`: the queue's
// operators act as admins there.
ReleaseUser IppService::acting_user(const Exchange& ex, const std::string& queue) const {
    ReleaseUser who = *ex.who;
    if (is_operator(ex, queue)) who.admin = true;
    return who;
}

// The job a job operation names, when the requester may act on it; nullopt (reply
// set) otherwise. auth: none queues trust requesting-user-name, as CUPS does
// without authentication; an authenticated requester is checked by
// ReleaseService::visible (owner, aliases, release.admins, or an operator).
std::optional<spool::JobRecord> IppService::owned_job(Exchange& ex, std::string_view action) {
    auto id = target_job(ex.request);
    if (!id) {
        ex.fail(Status::client_error_bad_request, "job-id or job-uri required");
        return std::nullopt;
    }
    auto rec = gw_.spool().find(*id);
    if (!rec) {
        ex.fail(Status::client_error_not_found, "no such job");
        return std::nullopt;
    }
    const bool allowed = ex.who ? ReleaseService::visible(acting_user(ex, rec->meta.queue), *rec)
                                : rec->meta.user == ex.user || is_operator(ex, rec->meta.queue);
    if (!allowed) {
        ex.fail(Status::client_error_not_authorized, fmt::format("only the job's owner may {} it", action));
        return std::nullopt;
    }
    return rec;
}

// Applies `t` on the pool; on failure sets the reply (`not_possible` says why a
// state refusal happened).
asio::awaitable<std::optional<spool::JobRecord>> IppService::apply(Exchange& ex, std::uint64_t id,
                                                                  const spool::Transition& t,
                                                                  std::string_view not_possible) {
    auto r = co_await net::run_blocking(gw_.pool(), [this, id, &t] { return gw_.spool().transition(id, t); });
    if (r) co_return *r;
    const bool state = r.error() == spool::errc::bad_state;
    ex.fail(state ? Status::client_error_not_possible : Status::server_error_internal_error,
            state ? std::string(not_possible) : r.error().message());
    co_return std::nullopt;
}

asio::awaitable<void> IppService::cancel_job(Exchange& ex) {
    if (auto id = target_job(ex.request)) {
        if (auto it = incoming_.find(*id); it != incoming_.end() && it->second.writer) {
            const auto& m = it->second.writer->meta();
            if (m.user != ex.user && !is_operator(ex, m.queue)) {
                ex.fail(Status::client_error_not_authorized, "only the job's owner may cancel it");
                co_return;
            }
            incoming_.erase(it);
            co_return;
        }
    }
    auto rec = owned_job(ex, "cancel");
    if (!rec) co_return;
    // An admin or operator canceling someone else's job: RFC 8011 §5.3.8 has a keyword for it.
    const bool owner = ex.who ? auth::owner_matches(rec->meta.user, ex.who->user.name, ex.who->user.aliases)
                              : rec->meta.user == ex.user;
    spool::Transition t;
    t.to = spool::JobState::canceled;
    t.reason = owner ? "job-canceled-by-user" : "job-canceled-by-operator";
    t.message = owner ? "canceled by its owner" : "canceled by an operator";
    if (!co_await apply(ex, rec->id, t, "job is already finished")) co_return;
    gw_.log().info({.event = "job_canceled", .job_id = rec->id, .queue = rec->meta.queue, .peer = ex.head.peer,
                    .proto = "ipp", .user = ex.authenticated ? std::string_view(ex.user) : std::string_view()},
                   "job {}", t.message.value_or(""));
}

// Hold-Job (RFC 8011 §4.3.5): a job waiting for its printer goes back to held.
// Only while no byte of it can have reached the printer (pending, not processing).
asio::awaitable<void> IppService::hold_job(Exchange& ex) {
    auto rec = owned_job(ex, "hold");
    if (!rec || rec->state == spool::JobState::held) co_return;
    spool::Transition t;
    t.from = {spool::JobState::pending};
    t.to = spool::JobState::held;
    t.route = "";
    t.reason = spool::kHeldReason;
    t.message = "held by its owner";
    t.event = "job_held";
    co_await apply(ex, rec->id, t, "the job is already being printed or is finished");
}

// Release-Job (RFC 8011 §4.3.6): a held job goes to its queue's printer, or to the
// central server when its server queue has no printer and the server answers.
asio::awaitable<void> IppService::release_job(Exchange& ex) {
    auto rec = owned_job(ex, "release");
    if (!rec) co_return;
    const auto cfg = gw_.config_ptr();
    auto q = cfg->queues.find(rec->meta.queue);
    // A server queue without a local printer releases to the server, while it answers.
    const bool to_server = q != cfg->queues.end() && q->second.printer.empty() &&
                           q->second.mode == conf::QueueMode::server && gw_.monitor().reachable();
    if (q == cfg->queues.end() || (q->second.printer.empty() && !to_server)) {
        ex.fail(Status::client_error_not_possible,
                q != cfg->queues.end() && q->second.mode == conf::QueueMode::server
                    ? "the central server is unreachable and the job's queue has no local printer to release it to"
                    : "the job's queue has no printer to release it to");
        co_return;
    }
    const std::string route = to_server ? server_route(q->second.name) : q->second.printer;
    // The release point's one path (fencing, the printer check, log, place rule). An
    // authenticated requester is who the credentials say; on an auth: none queue
    // owned_job has already trusted requesting-user-name (as CUPS does), so the
    // service is told not to check ownership again.
    ReleaseUser who;
    if (ex.who) {
        who = acting_user(ex, rec->meta.queue);
    } else {
        who.user.name = ex.user;
        who.admin = true;
    }
    const std::array<std::uint64_t, 1> ids{rec->id};
    const Place place = Place::ipp(ex.head.peer);
    auto outcomes = co_await gw_.release().release(who, place, ids, route);
    const ReleaseOutcome& o = outcomes.front();
    switch (o.status) {
    case ReleaseStatus::released:
    case ReleaseStatus::deleted: break;
    case ReleaseStatus::not_found: ex.fail(Status::client_error_not_found, o.message); break;
    case ReleaseStatus::not_held:
    case ReleaseStatus::printer_refused: ex.fail(Status::client_error_not_possible, o.message); break;
    case ReleaseStatus::failed: ex.fail(Status::server_error_internal_error, o.message); break;
    }
}

}  // namespace pg::service
