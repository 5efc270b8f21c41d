// SPDX-License-Identifier: Apache-2.0
// The upstream (central MyQ server) as the rest of the gateway sees it: one
// interface, so another server API, or a test fake, can be slotted in.
//
// Owns: the shape of every call the gateway makes to the server's control API
// (docs/upstream-protocol.md): the reachability probe, user verification, user
// sync, lookup-key registration and accounting upload. Job transport is not
// here: jobs go to the server's queues over IPP/LPD (gateway/output).
// Must not: log secrets (client secret, tokens, user credentials), decide the
// reachability state (monitor.hpp does), or touch the spool.
//
// Threads: every call runs on the gateway's I/O thread (awaitables on its
// executor). Each call has its own deadline; none blocks the thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace pg::upstream {

// Why a call failed. `unavailable` is what the reachability monitor counts as a
// failed probe: refused or reset connections, timeouts, TLS failures (including
// a certificate that does not verify or does not match the pin), 5xx and 429.
enum class errc {
    ok = 0,
    unavailable = 1,      // the server cannot be reached or cannot serve now
    unauthorized,         // the gateway's own client credentials were refused (401 invalid_client)
    invalid_credentials,  // user verification: unknown user or wrong secret (one answer for both)
    user_disabled,        // user verification: the user exists but is disabled (403)
    rejected,             // any other 4xx: the request itself is wrong
    bad_response,         // the server answered something we cannot read (not JSON, too big, missing fields)
    not_configured,       // no upstream.url, or the credentials file is missing/unreadable
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// The error of one call: a code and a short message for logs and status
// (sanitised: no secrets, no user credentials; may name the HTTP status).
struct Failure {
    errc code = errc::unavailable;
    std::string message;
    // 429/503 with Retry-After: how long the server asked us to wait; 0 = not said.
    std::chrono::seconds retry_after{0};
    // The HTTP status when the server answered (429, 503, ...); 0 = no answer.
    int http_status = 0;
    // The server's fixed error code when it answered with one (docs/upstream-protocol.md,
    // "Error bodies": "no_lookup_key", "cursor_expired", ...); "" otherwise. Never a secret.
    std::string error;
};

template <class T>
using Result = boost::system::result<T, Failure>;

// A successful probe (GET /api/v1/status, token included when one was needed).
struct ProbeResult {
    std::chrono::milliseconds latency{0};  // the status request alone (not the token fetch)
    std::string server_version;
    std::string server_time;               // as the server said it (RFC 3339)
    bool degraded = false;                 // the server said status "degraded" (works, but impaired)
};

// How a user logs in; numbered as in docs/upstream-protocol.md (login_info.type).
enum class LoginType : int { card = 1, pin = 2, password = 3, card_pin = 4, card_password = 5 };

// What the user typed or presented. Holds secrets: never log it, wipe after use.
struct LoginInfo {
    LoginType type = LoginType::pin;
    std::string card;
    std::string pin;
    std::string username;
    std::string password;
    // The call's deadline from its start; 0 or more than the adapter's request timeout =
    // the request timeout. Logins use a short one (offline_login.online_timeout).
    std::chrono::milliseconds timeout{0};
};

struct Account {
    std::string id;
    std::string name;
};

struct UserInfo {
    std::string id;
    std::string name;
    std::string full_name;
    std::string email;
    std::vector<std::string> aliases;
    std::vector<Account> accounts;
};

// One synced secret: the lookup tag (HMAC under the gateway's lookup key) and
// the argon2id verifier (PHC string) computed by the server.
struct SyncedSecret {
    std::string tag;
    std::string verifier;
};

struct SyncedUser {
    UserInfo user;
    bool disabled = false;
    std::vector<SyncedSecret> pins;   // at most 3
    std::vector<SyncedSecret> cards;  // at most 3
    std::optional<std::string> password_verifier;
};

struct SyncPage {
    std::string cursor;  // pass back for the next page / the next sync
    bool complete = true;
    std::string key_id;  // the lookup key the tags were computed with ("" if the server did not say)
    std::vector<SyncedUser> users;
    std::vector<std::string> tombstone_users;  // user ids
    std::vector<std::string> tombstone_pins;   // tags
    std::vector<std::string> tombstone_cards;  // tags
};

struct SyncRequest {
    std::string cursor;  // "" = the full set
    unsigned limit = 50;
    unsigned argon2_m_kib = 19456;
    unsigned argon2_t = 2;
    unsigned argon2_p = 1;
};

struct AccountingRecord {
    std::string record_id;
    std::string user;
    std::string queue;
    std::string printer;
    std::int64_t pages = -1;
    std::int64_t sheets = -1;
    bool color = false;
    bool duplex = false;
    std::int64_t copies = 1;
    std::uint64_t bytes = 0;
    std::string submitted_at;  // RFC 3339
    std::string finished_at;   // RFC 3339
    bool offline = false;
    std::string outcome;       // completed | aborted | canceled | expired
};

struct BatchAck {
    std::string batch_id;
    std::uint64_t accepted = 0;
    std::uint64_t duplicates = 0;
};

// The control API of the central server. Implementations: MyqUpstream
// (myq_upstream.hpp, HTTPS + JSON) and test fakes.
class Upstream {
public:
    virtual ~Upstream() = default;

    // One cheap authenticated status call, fetching a token first when the
    // cached one is missing or near expiry. The monitor's probe.
    virtual boost::asio::awaitable<Result<ProbeResult>> probe() = 0;

    // Verifies a user's login with the server (login_info grant). invalid_credentials
    // for an unknown user and a wrong secret alike.
    virtual boost::asio::awaitable<Result<UserInfo>> verify_user(LoginInfo login) = 0;

    // Registers this gateway's lookup key (32 bytes) under `key_id`; idempotent.
    virtual boost::asio::awaitable<Result<void>> register_lookup_key(std::string key_id,
                                                                      std::vector<std::byte> key) = 0;

    // One page of this gateway's sync set.
    virtual boost::asio::awaitable<Result<SyncPage>> sync(SyncRequest request) = 0;

    // Uploads one accounting batch; `batch_id` is the idempotency key.
    virtual boost::asio::awaitable<Result<BatchAck>> upload_accounting(std::string batch_id,
                                                                       std::vector<AccountingRecord> records) = 0;

    // Drops pooled connections and cancels calls in flight (shutdown). I/O thread.
    virtual void close() = 0;
};

}  // namespace pg::upstream

template <>
struct boost::system::is_error_code_enum<pg::upstream::errc> : std::true_type {};

// Needed by boost::system::result<T, Failure>::value().
namespace pg::upstream {
[[noreturn]] void throw_exception_from_error(const Failure& f, const boost::source_location& loc);
}
