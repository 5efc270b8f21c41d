// SPDX-License-Identifier: Apache-2.0
// The offline-login credential cache (issue #7, "Credential cache" and "User sync"): an
// encrypted SQLite store of users the server verified online here (cached) or listed in
// this gateway's sync set (synced), and offline verification against it.
//
// Owns: the cache file's format and keys, argon2id hashing of secrets seen at online
// logins, lookup tags, expiry and the durable "last time seen". Must not: talk to the
// server, log, pick a reply, or keep a plaintext secret past a call. Lockout lives beside
// it (lockout.hpp): the caller feeds VerifyResult::lockout_key into a Lockout.
//
// Design note
// -----------
// File (path given by the caller, e.g. STATE_DIR/credentials.db; WAL, synchronous=FULL,
// secure_delete=ON, checkpoints by checkpoint() on a second connection), three tables:
//   meta(name, value)            wrapped data key, wrapped lookup key, lookup key id,
//                                sealed last-time-seen and last-sync times
//   users(handle, body)          handle: 16 random bytes; body: the sealed UserRecord
//                                (record.hpp: id, names, email, aliases, accounts, PHC
//                                strings, tags, times), all of it
//   lookup(kind, tag, handle)    keyed-MAC index: kind 1 = PIN/card tag, 2 = name or
//                                alias, 3 = server user id
// Keys: KEK = HKDF-SHA256(master, "printgate credential-cache wrap v1"); the data key and
// the lookup key are 32 random bytes each, stored only wrapped under the KEK (crypto::
// wrap_key, slots 1 and 2 in the AAD, so the two wrapped values cannot be swapped). A
// master key that does not unwrap them fails open() with wrong_master_key, before any row
// is read. Bodies and times are AES-256-GCM under the data key, nonce = 12 random bytes
// stored in front, AAD = "printgate-cache-v1" || label || 0 || handle, so a body copied onto
// another handle does not open. Random nonces are safe here: the cache seals a few
// thousand rows a day, far below the 2^32 seals per key NIST SP 800-38D §8.3 allows.
//
// Why tags are plain index columns: a tag is HMAC-SHA256 under a 256-bit key the file
// does not hold in the clear, so without the master key it reveals nothing about the
// PIN, card or name it was made from (no dictionary attack on 4-digit PINs is possible),
// and sealing it would force a decrypt of every row on each PIN login. PIN and card tags
// use the lookup key (the server computes the same tags for synced users; lookup_key()
// exports it for registration, docs/upstream-protocol.md "Lookup key"); names and ids use
// an index key derived from the data key, which never leaves the gateway. What a reader of
// the file learns: how many users and index entries there are, and when rows change.
//
// Entries. A cached method (record_online_login) holds the argon2id PHC of each factor,
// valid until now + validity, last_verified = now; each later online login with the same
// method renews it; offline logins never do. A synced user holds the server's verifiers
// and tags (at most 3 PINs and 3 cards) and allows every method its factors make up (card,
// PIN, password, card+PIN, card+password). Expiry, with t = max(now, last time seen):
//   cached: t >= valid_until (expired) or t - last_verified > max_offline_age (too_old);
//   synced: t - last successful sync > max_offline_age (too_old).
// Clock safety: every call stores max(now, last time seen) (without its own fsync: a
// process crash keeps it, a power cut may take back the last seconds until the next
// fsynced commit or checkpoint, far less than clock_tolerance); a `now` more than
// clock_tolerance behind it sets VerifyResult::clock_suspect so the caller can log it; the
// max is what expiry uses, so setting the clock back never revives an entry.
//
// Threads: every member function may be called from any thread at once; one mutex
// serialises SQLite. record_online_login and verify_offline BLOCK for argon2id (about
// 35 ms per factor with the default cost): run them on the blocking pool, never on an I/O
// thread. At most options.max_concurrent_hashes hashes run at once (HashLimiter), so
// memory stays below argon2.memory_kib x that limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/cache/error.hpp"
#include "auth/cache/hash_limiter.hpp"
#include "auth/cache/types.hpp"
#include "auth/crypto/crypto.hpp"
#include "auth/passwd/error.hpp"
#include "auth/passwd/password_hash.hpp"
#include "auth/passwd/phc.hpp"

namespace pg::auth {

namespace cache_detail {
struct UserRecord;
class Db;
}

struct CacheOptions {
    Argon2Params argon2 = kDefaultParams;            // cost of hashes made here (m=19456, t=2, p=1)
    std::chrono::hours validity{168};                // offline_login.validity_hours
    std::chrono::seconds max_offline_age{std::chrono::hours{336}};  // offline_login.max_offline_age
    std::size_t sync_limit = 100;                    // offline_login.sync_limit (MyQ's maximum)
    std::size_t max_concurrent_hashes = 2;           // argon2 runs at once, per cache
    std::chrono::seconds clock_tolerance{60};        // a clock this far behind is suspect
    std::size_t max_candidates = 4;                  // users tried for one tag or name
    PhcLimits phc_limits;                            // bounds on stored and synced verifiers
};

enum class CredentialSource : int { cached = 1, synced = 2 };

// The lookup key to register with the server (PUT .../lookup-key). Holds a secret.
struct LookupKey {
    std::string key_id;  // "pg-" + 16 hex digits, chosen at creation
    crypto::Key key;
};

struct SyncReport {
    std::size_t upserted = 0;            // user records written from the batch
    std::size_t removed = 0;             // records deleted (tombstoned, disabled, left the set)
    std::size_t dropped_over_limit = 0;  // users refused because sync_limit was reached
    std::size_t rejected_verifiers = 0;  // verifiers or tags that failed parse_phc / shape
    std::size_t rejected_users = 0;      // records without id or name, or with oversized fields
    std::size_t secrets_revoked = 0;     // cached or synced secrets removed by tag tombstones
    std::size_t synced_users = 0;        // synced users after the batch
};

enum class VerifyStatus { ok, denied, unavailable };
// Internal reason, for the log line only: callers show every non-ok status the same way.
enum class VerifyReason {
    ok,
    no_match,     // unknown user, PIN or card, or a wrong secret (deliberately one reason)
    expired,      // right secret, cached entry past its validity
    too_old,      // right secret, past max_offline_age since the server last vouched
    ambiguous,    // the secret matched more than one user (stale entries): refused
    revoked,      // removed by a sync while the hash ran
    bad_input,    // malformed card, over-long secret or name: treated as a wrong secret
    unavailable,  // hashing or storage failed: not a failed login
};

struct VerifyResult {
    VerifyStatus status = VerifyStatus::denied;
    VerifyReason reason = VerifyReason::no_match;
    std::optional<CachedUser> user;           // set when status == ok
    std::optional<CredentialSource> source;   // which entry matched, when ok
    bool clock_suspect = false;               // `now` was > clock_tolerance behind last seen
    UnixTime last_seen{};                     // the durable last time seen, after this call
    // Key for Lockout: "u:" + user id when a name, card or tag identified a user (on
    // success and failure), "n:" + folded name for a password login naming no user, empty
    // for a PIN or card that found no one (throttle those per source).
    std::string lockout_key;
    bool ok() const { return status == VerifyStatus::ok; }
};

struct MethodSummary {
    LoginMethod method = LoginMethod::pin;
    CredentialSource source = CredentialSource::cached;
    UnixTime expires{};  // cached: min(valid_until, last_verified + max_offline_age);
                         // synced: last sync + max_offline_age
};

// One line of `printgatectl users`: never a secret, tag or hash.
struct UserSummary {
    std::string id;
    std::string name;
    std::string full_name;
    bool cached = false;
    bool synced = false;
    std::vector<MethodSummary> methods;
    std::optional<UnixTime> last_login;
    bool last_login_offline = false;
};

class CredentialCache {
public:
    // Opens or creates the cache at `path` (the directory must exist; the caller sets its
    // mode). A new file gets fresh data and lookup keys. Errors: open_failed,
    // wrong_master_key, corrupt, storage_failed, rng_failed, bad_input (options:
    // sync_limit 0, argon2 parameters check_params refuses). Blocks for file I/O.
    static Result<std::unique_ptr<CredentialCache>> open(const std::string& path, const crypto::Key& master,
                                                         const CacheOptions& options, UnixTime now);
    ~CredentialCache();
    CredentialCache(const CredentialCache&) = delete;
    CredentialCache& operator=(const CredentialCache&) = delete;

    LookupKey lookup_key() const;
    // The protocol tag of a PIN or card under this cache's lookup key ("" for a malformed
    // card or PIN). For tests and the gateway's sync bookkeeping.
    std::string tag_of(LoginMethod factor, std::string_view secret) const;

    // After the server verified `secrets` for `user` with `method`: hashes each factor
    // (argon2id, options.argon2; BLOCKS), then stores or renews that method's entry,
    // refreshes the user's details, and takes the PIN/card tags it used away from any
    // other user (the server just said they are this user's). Other methods of the user
    // keep their entries. Errors: bad_input (empty user id, malformed card or PIN, empty
    // username, secret over kMaxSecretBytes), hash_failed, storage_failed, rng_failed.
    Result<void> record_online_login(const CachedUser& user, LoginMethod method, const LoginSecrets& secrets,
                                     UnixTime now);

    // Applies one complete sync in one transaction (docs/upstream-protocol.md, "Sync"):
    // full: the batch's users replace the synced set (cached entries of users who left it
    // stay); change: tombstones (users: whole record, cached entries included; pins/cards
    // by tag: synced and cached secrets) then records. A disabled user's record is removed
    // entirely. At most sync_limit synced users are kept, the first in answer order; the
    // rest are counted in dropped_over_limit. Verifiers outside phc_limits or malformed
    // tags are skipped and counted. Nothing changes on error.
    Result<SyncReport> apply_sync(const SyncBatch& batch, UnixTime now);

    // Offline login (BLOCKS for one argon2id run per factor and candidate; at least one
    // per factor even when nothing matches, so an unknown user costs what a wrong secret
    // does). PIN and card: candidates by lookup tag; password: by name or alias (folded
    // with fold_login_name, as the server matches `username`; the name typed at the online
    // login is not stored, so it must be the user's name or one of its aliases);
    // card+PIN / card+password: by card tag, then the second factor of that user. Never
    // extends validity; updates last login on success. Never fails: problems are in
    // status/reason.
    VerifyResult verify_offline(LoginMethod method, const LoginSecrets& secrets, UnixTime now);

    // Every user, sorted by name. Errors: storage_failed, corrupt.
    Result<std::vector<UserSummary>> list_users(UnixTime now);
    // Removes every user whose name or alias folds to `name` (cached and synced entries;
    // a synced user comes back with the next full sync), then truncates the WAL so no old
    // page keeps the row. Returns how many were removed; not_found when none.
    Result<std::size_t> remove_user(std::string_view name);

    // The server answered user_disabled to a login with `secrets`: removes every user the
    // card (card methods), PIN (PIN) or name (password) identifies here, cached and synced
    // entries alike, as remove_user does, without hashing. Returns how many were removed (0
    // when none). Errors: bad_input (malformed card or PIN, empty name), storage_failed.
    Result<std::size_t> forget_login(LoginMethod method, const LoginSecrets& secrets);

    // A small opaque state blob of the caller's (the login lockout's failures), kept
    // sealed under the data key in the meta table under `name` ("state:" + name), so it
    // is as unreadable at rest as the users. put replaces it; get returns nullopt when
    // none was stored. Errors: storage_failed, corrupt (does not open), rng_failed.
    Result<void> put_state(std::string_view name, std::span<const std::byte> value);
    Result<std::optional<std::vector<std::byte>>> get_state(std::string_view name);

    // Copies the write-ahead log into the database file (PRAGMA wal_checkpoint(PASSIVE))
    // on a second connection of its own, so the checkpoint's fsyncs never hold the lock
    // that logins take: call it every few seconds from the blocking pool (the gateway's
    // housekeeping does). Errors: open_failed (second connection), storage_failed.
    Result<void> checkpoint();

    // Time of the last applied sync, if any.
    std::optional<UnixTime> last_sync() const;
    UnixTime last_seen() const;
    const HashLimiter& hash_limiter() const { return limiter_; }

private:
    CredentialCache(const CacheOptions& options);

    struct Clock {
        std::int64_t effective = 0;
        bool suspect = false;
    };
    Result<void> init_locked(const crypto::Key& master, UnixTime now);
    // Raises the durable last time seen to `now` if later. A failed write is not an error:
    // the in-memory value still protects this process, the next write retries.
    Clock observe_locked(UnixTime now);
    Result<std::vector<std::byte>> seal_locked(std::string_view label, std::span<const std::byte> handle,
                                               std::span<const std::byte> plaintext) const;
    Result<std::vector<std::byte>> open_locked(std::string_view label, std::span<const std::byte> handle,
                                               std::span<const std::byte> sealed) const;
    // A meta row `name` sealed under `label` (the AAD binds both), and reading it back.
    Result<void> put_meta_locked(std::string_view label, std::string_view name, std::span<const std::byte> plain);
    Result<std::optional<std::vector<std::byte>>> get_meta_locked(std::string_view label, std::string_view name);
    Result<void> put_time_locked(const char* name, std::int64_t t);
    Result<std::optional<std::int64_t>> get_time_locked(const char* name);
    Result<std::vector<std::vector<std::byte>>> find_locked(int kind, std::string_view tag, std::size_t limit);
    Result<std::optional<cache_detail::UserRecord>> load_locked(std::span<const std::byte> handle);
    // Writes `r` under `handle` and rebuilds its index rows; an empty record is deleted.
    Result<void> store_locked(std::span<const std::byte> handle, const cache_detail::UserRecord& r);
    // Writes only the sealed body (the lookup rows stay): one statement, so one commit
    // outside a transaction. Alone, for changes that leave names and tags (last login).
    Result<void> store_body_locked(std::span<const std::byte> handle, const cache_detail::UserRecord& r);
    Result<void> delete_locked(std::span<const std::byte> handle);
    Result<void> upsert_synced_locked(const SyncUserIn& u, SyncReport& report);
    Result<std::vector<std::pair<std::vector<std::byte>, cache_detail::UserRecord>>> load_all_locked();
    Result<std::optional<std::vector<std::byte>>> handle_of_id_locked(std::string_view id);
    // The handle and record of user `id`, or a fresh handle and an empty record.
    Result<std::pair<std::vector<std::byte>, cache_detail::UserRecord>> find_or_create_locked(std::string_view id);
    Result<std::size_t> revoke_tag_locked(std::string_view tag, bool pin, std::string_view keep_id);
    std::string name_tag(std::string_view name) const;
    std::string id_tag(std::string_view id) const;

    CacheOptions options_;
    mutable std::mutex mutex_;
    std::unique_ptr<cache_detail::Db> db_;  // SQLite stays out of this header
    std::mutex checkpoint_mutex_;           // guards checkpointer_ only (never mutex_)
    std::unique_ptr<cache_detail::Db> checkpointer_;
    crypto::Key data_key_;
    crypto::Key index_key_;
    LookupKey lookup_;
    std::int64_t last_seen_ = 0;
    std::int64_t last_sync_ = 0;  // 0: never
    HashLimiter limiter_;
    PhcHash dummy_;
};

}  // namespace pg::auth
