// SPDX-License-Identifier: Apache-2.0
// ReleaseService: the one path every release point takes (issue #7, "Release points"):
// authenticate -> list -> release (or delete). The release web page, the terminal API
// and IPP Release-Job/Cancel-Job on auth: basic queues call it, so whose jobs a user
// sees, which printer a place may release to and how a release is fenced are decided
// here and nowhere else.
//
// Owns: the release sessions (in memory only: a restart logs everyone out), the
// visibility rule (owner_matches against the user's name and aliases, or a
// release.admins member), the place rule (a terminal releases only to printers that
// name it; the web page only to printers with release_page: true), and the durable
// held -> pending transition that routes a job to a printer (the fencing of
// docs/job-states.md: a job routed here can no longer be forwarded to the server, and
// one being forwarded can no longer be released).
// Must not: parse HTTP, JSON or forms (the release points do), keep a secret, or send
// a byte to a printer (the forwarder does, after the route is durable).
//
// Threads: construct, call and destroy on the I/O thread; blocking work (spool
// transitions, shredding) runs on the gateway's pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "auth/cache/types.hpp"
#include "auth/crypto/crypto.hpp"
#include "gateway/service/login.hpp"
#include "gateway/spool/job.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

// Where a release happens. The web page is one place; each configured terminal is
// another; IPP releases to the job's queue printer (or, for a server queue without a
// printer, to the central server).
struct Place {
    enum class Kind { web, terminal, ipp } kind = Kind::web;
    std::string terminal;  // Kind::terminal: the key of Config::terminals
    std::string peer;      // "ADDR:PORT", for the log

    static Place web(std::string peer) { return {Kind::web, {}, std::move(peer)}; }
    static Place at_terminal(std::string name, std::string peer) { return {Kind::terminal, std::move(name), std::move(peer)}; }
    static Place ipp(std::string peer) { return {Kind::ipp, {}, std::move(peer)}; }
    // "web", "terminal:NAME", "ipp": the login source prefix and the log's SOURCE=.
    std::string label() const;
};

// Someone who logged in at a release point.
struct ReleaseUser {
    auth::CachedUser user;
    bool offline = false;  // verified against the local cache
    bool admin = false;    // in release.admins: sees and may act on every held job
};

// A printer a place may release to, and whether it takes a given job.
struct PrinterChoice {
    std::string name;         // key of Config::printers
    std::string description;  // the printer's URI host, for people (no credentials)
};

// One held job as a release point shows it. No document bytes.
struct HeldJob {
    std::uint64_t id = 0;
    std::string title;
    std::string owner;
    std::string queue;
    std::string format;            // MIME type
    std::uint64_t size = 0;        // bytes
    std::int64_t pages = -1;       // -1 = unknown
    std::optional<bool> color;     // print-color-mode asked for: true colour, false monochrome; nullopt = printer default
    std::int64_t copies = 1;
    std::string sides;             // "" = printer default
    std::int64_t submitted_ms = 0; // Unix epoch ms
    std::string held_reason;       // job-state-message
    // Printers the place offers that take this job (formats, or conversion).
    std::vector<std::string> printers;
};

enum class ReleaseStatus {
    released,       // routed to the printer; the forwarder sends it
    deleted,        // canceled and shredded
    not_found,      // no such job, not the user's, or not visible (the same answer: no oracle)
    not_held,       // already released, printing, finished
    printer_refused,// the place may not use that printer, or the printer cannot take the job
    failed,         // storage error
};
std::string_view to_string(ReleaseStatus s);

struct ReleaseOutcome {
    std::uint64_t id = 0;
    ReleaseStatus status = ReleaseStatus::failed;
    std::string message;  // for people: sanitised, no secret
};

// A logged-in release session (web page or terminal). The token is the bearer secret:
// 32 random bytes, base64url; it lives in memory only.
struct ReleaseSession {
    std::string token;
    std::string csrf;  // web page forms: a second random value bound to the session
    ReleaseUser who;
    Place place;
    std::chrono::steady_clock::time_point last_used;
};

class ReleaseService {
public:
    explicit ReleaseService(app::Gateway& gw);
    ~ReleaseService();
    ReleaseService(const ReleaseService&) = delete;
    ReleaseService& operator=(const ReleaseService&) = delete;

    // Step 1: the login (LoginService::authenticate, the source being the place).
    // On ok, `out` is the user with the admin flag applied.
    boost::asio::awaitable<LoginResult> authenticate(LoginRequest request, const Place& place,
                                                     std::optional<ReleaseUser>& out);

    // Step 2: the held jobs `who` may see, oldest first, with the printers `place`
    // offers for each.
    std::vector<HeldJob> list(const ReleaseUser& who, const Place& place) const;
    // The printers `place` may release to (web: release_page: true; terminal: those that
    // name it; ipp: none, IPP releases to the queue's printer).
    std::vector<PrinterChoice> printers(const Place& place) const;
    // Whether `printer` takes the job (every document: its formats list, or conversion,
    // output/release_plan.hpp); with a reason for people when not.
    bool takes(const std::string& printer, const spool::JobMeta& meta, std::string* why = nullptr) const;

    // Step 3: routes each job to `printer` (held -> pending, durable before any byte is
    // sent) and wakes the printer's worker. Each id gets its own outcome. Place::ipp:
    // `printer` must be what the job's queue names, its printer or, for a server
    // queue, the server route (failover.hpp's server_route; the format check is the
    // server's then); other places: one of printers(place).
    boost::asio::awaitable<std::vector<ReleaseOutcome>> release(const ReleaseUser& who, const Place& place,
                                                                std::span<const std::uint64_t> ids,
                                                                const std::string& printer);
    // Deletes held jobs: canceled (durable), then crypto-shredded.
    boost::asio::awaitable<std::vector<ReleaseOutcome>> remove(const ReleaseUser& who, const Place& place,
                                                               std::span<const std::uint64_t> ids);
    // What happened to a job this user released (its state and message), for the
    // release points to show the outcome; nullopt when the user may not see it.
    std::optional<spool::JobRecord> job_status(const ReleaseUser& who, std::uint64_t id) const;

    // Sessions. open() makes one (tokens from the CSPRNG); find() returns it and renews
    // its idle timer, or null when unknown or idle past release.session_idle (then it
    // is gone). close() ends it. At most kMaxSessions live; the oldest idle one goes.
    const ReleaseSession& open_session(ReleaseUser who, Place place);
    ReleaseSession* find_session(std::string_view token);
    void close_session(std::string_view token);
    std::size_t session_count() const { return sessions_.size(); }
    static constexpr std::size_t kMaxSessions = 1000;

    // Login forms, before any session exists (the release page's signed double-submit
    // CSRF token): the page sets a fresh nonce (new_token()) in a short-lived cookie and
    // puts login_form_tag(nonce) in the form; a login is taken only when the form's
    // value equals the tag of the cookie's nonce (compare in constant time). The key is
    // random per process and never stored: a restart invalidates open login forms.
    // Empty when there is no key (no randomness at start): the page then refuses.
    std::string login_form_tag(std::string_view nonce) const;
    // 32 bytes from the CSPRNG as base64url (43 characters), or "" when it fails.
    static std::string new_token();

    // Whether `who` may see the job (owner match or admin).
    static bool visible(const ReleaseUser& who, const spool::JobRecord& job);
    // A user verified elsewhere (the users file of an auth: basic queue without an
    // upstream) as a release user: the admin flag from release.admins, as authenticate sets it.
    ReleaseUser identify(auth::CachedUser user, bool offline) const;

private:
    // Place::ipp may release a job only to what its queue names (ipp_target).
    bool ipp_target(const spool::JobRecord& job, const std::string& printer) const;
    void expire_sessions();

    app::Gateway& gw_;
    std::map<std::string, ReleaseSession, std::less<>> sessions_;
    std::optional<crypto::Key> form_key_;  // login_form_tag's key
};

}  // namespace pg::service
