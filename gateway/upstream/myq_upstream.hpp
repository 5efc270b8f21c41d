// SPDX-License-Identifier: Apache-2.0
// The Upstream interface over HTTPS + JSON to a MyQ-style central server
// (docs/upstream-protocol.md).
//
// Owns: the TLS client context (verification on: upstream.ca_file or the system
// store, host name check, optional leaf pin, TLS 1.2 minimum), a small pool of
// kept-alive connections, the gateway's bearer token (fetched with the client
// credentials, refreshed before expiry, one fetch in flight shared by every
// caller), request ids and idempotency keys, and the mapping of HTTP outcomes
// to upstream::errc. Must not: log (the gateway logs Failure::message), put a
// secret (client secret, token, user credential, lookup key) into a Failure,
// retry beyond the single cases documented below, or decide reachability.
//
// Threads: construct, call and destroy on the gateway's I/O thread (the executor
// given, a single thread: no strand is needed). Calls may overlap; each has its
// own deadline. The object may be destroyed while calls are suspended: their
// frames keep the shared state alive and they complete with unavailable.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>

#include <boost/asio/any_io_executor.hpp>

#include "conf/config.hpp"
#include "gateway/upstream/credentials.hpp"
#include "gateway/upstream/upstream.hpp"

namespace pg::upstream {

// Limits and deadlines of the adapter; the defaults are what the gateway uses
// (docs/upstream-protocol.md, "Timeouts and connections").
struct MyqLimits {
    std::size_t max_body = 1024 * 1024;     // response body (beast body_limit)
    std::size_t max_header = 16 * 1024;     // response header block (beast header_limit)
    std::size_t max_idle = 4;               // pooled idle connections
    std::chrono::milliseconds max_idle_age{30000};     // older idle connections are closed, not reused
    std::chrono::milliseconds connect_timeout{3000};   // TCP connect + TLS handshake, within the call's deadline
    std::chrono::milliseconds token_timeout{5000};     // a token fetch, within the call's deadline
    std::chrono::milliseconds sync_timeout{60000};     // one sync page: max(this, request_timeout)
};

class MyqUpstream final : public Upstream {
public:
    // Builds the TLS context and parses upstream.url (https://HOST[:PORT][/PREFIX]).
    // Blocks briefly on the file system (ca_file): call at start or reload. Never
    // throws for bad input: when the URL, the CA file, the pin or the credentials
    // are unusable, setup_error() says why and every call fails with not_configured.
    // Deadlines: probe() bounds resolve + connect + TLS + token + status by
    // config.probe_timeout; verify_user, register_lookup_key and upload_accounting
    // use config.request_timeout, sync max(request_timeout, limits.sync_timeout).
    // Within a call, a new connection gets at most limits.connect_timeout and a
    // token fetch limits.token_timeout.
    //
    // Retries, the only ones: a request that fails on a pooled connection before
    // any answer byte is sent once more on a new connection (every request of the
    // protocol is safe to repeat: writes carry an Idempotency-Key); a 401
    // invalid_token answer drops the token, fetches a new one and repeats the
    // request once. Each attempt has a new X-Request-Id.
    MyqUpstream(boost::asio::any_io_executor ex, const conf::UpstreamConfig& config, ClientCredentials credentials,
                MyqLimits limits = {});
    ~MyqUpstream() override;
    MyqUpstream(const MyqUpstream&) = delete;
    MyqUpstream& operator=(const MyqUpstream&) = delete;

    // Why the adapter cannot work (bad URL, unreadable CA file, malformed pin,
    // empty credentials); nullopt when it can.
    const std::optional<Failure>& setup_error() const;

    // GET /api/v1/status, fetching a token first when needed. The latency is the
    // status exchange alone (connect included when no pooled connection was idle).
    boost::asio::awaitable<Result<ProbeResult>> probe() override;
    // POST /api/auth/token (login_info grant) under the gateway's bearer token.
    // invalid_grant -> invalid_credentials, user_disabled -> user_disabled.
    boost::asio::awaitable<Result<UserInfo>> verify_user(LoginInfo login) override;
    // PUT /api/v1/gateways/{id}/lookup-key; Idempotency-Key "lookup-key-" + key_id.
    // rejected when the key is not 32 bytes (nothing is sent).
    boost::asio::awaitable<Result<void>> register_lookup_key(std::string key_id, std::vector<std::byte> key) override;
    // GET /api/v1/gateways/{id}/sync.
    boost::asio::awaitable<Result<SyncPage>> sync(SyncRequest request) override;
    // POST /api/v1/accounting/batches; Idempotency-Key = batch_id.
    boost::asio::awaitable<Result<BatchAck>> upload_accounting(std::string batch_id,
                                                               std::vector<AccountingRecord> records) override;
    // Cancels every call in flight (they complete with unavailable), drops the
    // pool and the token. Final: later calls fail with unavailable at once.
    void close() override;

    struct Impl;  // shared with the calls in flight (myq_upstream.cpp)

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace pg::upstream
