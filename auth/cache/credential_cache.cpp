// SPDX-License-Identifier: Apache-2.0
// CredentialCache: opening, keys, sealed rows, the index, online-login caching, listing
// and removal. Sync is in credential_cache_sync.cpp, offline verification in
// credential_cache_verify.cpp.
//
// Owns: the SQL schema and every write to the cache file. Must not: log, hash while
// holding mutex_, or write a plaintext secret, name or tag input anywhere but into a
// sealed body or an HMAC.

#include "auth/cache/credential_cache.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <tuple>

#include "auth/cache/detail.hpp"
#include "auth/cache/lookup_tag.hpp"
#include "auth/cache/record.hpp"
#include "auth/cache/sqlite_db.hpp"

namespace pg::auth {

using namespace cache_detail;

namespace {

constexpr std::uint64_t kSlotDataKey = 1;
constexpr std::uint64_t kSlotLookupKey = 2;
constexpr std::string_view kAadPrefix = "printgate-cache-v1";

constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS users(handle BLOB PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS lookup(kind INTEGER NOT NULL, tag TEXT NOT NULL, handle BLOB NOT NULL,"
    " PRIMARY KEY(kind, tag, handle)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS lookup_by_handle ON lookup(handle)",
    "PRAGMA user_version = 1",
};

std::string hex(std::span<const std::byte> b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (auto x : b) {
        out += kDigits[static_cast<unsigned>(x) >> 4];
        out += kDigits[static_cast<unsigned>(x) & 15];
    }
    return out;
}

// Hashes one factor under the limiter.
Result<std::string> hash_factor(HashLimiter& limiter, std::string_view secret, const Argon2Params& params) {
    HashLimiter::Slot slot(limiter);
    auto h = hash_password(secret, params);
    if (!h) return h.error() == errc::bad_parameters ? cache_errc::bad_input : cache_errc::hash_failed;
    return format_phc(*h);
}

}  // namespace

CredentialCache::CredentialCache(const CacheOptions& options)
    : options_(options), db_(std::make_unique<Db>()), limiter_(options.max_concurrent_hashes) {
    // The unknown-user stand-in: the cost of hashes made here, a fixed salt, a tag that
    // the result of the comparison is never trusted for (Factor::real is false).
    dummy_.params = options.argon2;
    dummy_.salt.assign(kSaltBytes, std::byte{0x5A});
    dummy_.hash.assign(kHashBytes, std::byte{0});
}

CredentialCache::~CredentialCache() = default;

Result<std::unique_ptr<CredentialCache>> CredentialCache::open(const std::string& path, const crypto::Key& master,
                                                               const CacheOptions& options, UnixTime now) {
    if (options.sync_limit == 0 || options.max_candidates == 0 || check_params(options.argon2, options.phc_limits))
        return cache_errc::bad_input;
    std::unique_ptr<CredentialCache> cache(new CredentialCache(options));
    {
        std::lock_guard lock(cache->mutex_);
        if (!cache->db_->open(path)) return cache_errc::open_failed;
        if (auto r = cache->init_locked(master, now); !r) return r.error();
    }
    cache->checkpointer_ = std::make_unique<Db>();
    if (!cache->checkpointer_->open(path)) return cache_errc::open_failed;
    return cache;
}

Result<void> CredentialCache::init_locked(const crypto::Key& master, UnixTime now) {
    for (const char* sql : kSchema)
        if (!db_->exec(sql)) return cache_errc::open_failed;
    auto kek = crypto::derive_key(master, "printgate credential-cache wrap v1");
    if (!kek) return kek.error();

    Stmt get(db_->handle(), "SELECT value FROM meta WHERE name = ?1");
    auto read_meta = [&](const char* name) -> std::optional<std::vector<std::byte>> {
        get.reset();
        get.bind(1, std::string_view(name));
        if (get.step() != SQLITE_ROW) return std::nullopt;
        const auto v = get.column_blob(0);
        return std::vector<std::byte>(v.begin(), v.end());
    };
    const auto wrapped_data = read_meta("data_key");
    const auto wrapped_lookup = read_meta("lookup_key");
    const auto key_id = read_meta("lookup_key_id");
    get.reset();

    if (!wrapped_data) {
        if (wrapped_lookup || key_id) return cache_errc::corrupt;
        auto data = crypto::random_key();
        auto lookup = crypto::random_key();
        std::array<std::byte, 8> id_bytes{};
        if (!data || !lookup || !crypto::random_bytes(id_bytes)) return cache_errc::rng_failed;
        auto wd = crypto::wrap_key(*kek, kSlotDataKey, *data);
        auto wl = crypto::wrap_key(*kek, kSlotLookupKey, *lookup);
        if (!wd || !wl) return cache_errc::rng_failed;
        const std::string id = "pg-" + hex(id_bytes);
        Transaction tx(*db_);
        Stmt put(db_->handle(), "INSERT INTO meta(name, value) VALUES(?1, ?2)");
        for (const auto& [name, value] : {std::pair<std::string_view, std::span<const std::byte>>{"data_key", *wd},
                                          {"lookup_key", *wl},
                                          {"lookup_key_id", bytes_of(id)}}) {
            put.reset();
            put.bind(1, name).bind_blob(2, value);
            if (put.step() != SQLITE_DONE) return cache_errc::storage_failed;
        }
        if (!tx.commit()) return cache_errc::storage_failed;
        data_key_ = std::move(*data);
        lookup_.key = std::move(*lookup);
        lookup_.key_id = id;
    } else {
        if (!wrapped_lookup || !key_id) return cache_errc::corrupt;
        auto data = crypto::unwrap_key(*kek, kSlotDataKey, *wrapped_data);
        auto lookup = crypto::unwrap_key(*kek, kSlotLookupKey, *wrapped_lookup);
        if (!data || !lookup) return cache_errc::wrong_master_key;
        data_key_ = std::move(*data);
        lookup_.key = std::move(*lookup);
        lookup_.key_id.assign(reinterpret_cast<const char*>(key_id->data()), key_id->size());
    }
    auto index = crypto::derive_key(data_key_, "printgate credential-cache index v1");
    if (!index) return index.error();
    index_key_ = std::move(*index);

    auto clock = get_time_locked("clock");
    if (!clock) return clock.error();
    auto sync = get_time_locked("last_sync");
    if (!sync) return sync.error();
    last_seen_ = clock->value_or(0);
    last_sync_ = sync->value_or(0);
    observe_locked(now);
    return {};
}

CredentialCache::Clock CredentialCache::observe_locked(UnixTime now) {
    const std::int64_t n = secs(now);
    Clock c;
    c.suspect = n + options_.clock_tolerance.count() < last_seen_;
    c.effective = std::max(n, last_seen_);
    if (c.effective > last_seen_) {
        last_seen_ = c.effective;
        const RelaxedSync relaxed(*db_);  // once a second at most: no fsync of its own
        (void)put_time_locked("clock", c.effective);
    }
    return c;
}

Result<std::vector<std::byte>> CredentialCache::seal_locked(std::string_view label, std::span<const std::byte> handle,
                                                            std::span<const std::byte> plaintext) const {
    std::vector<std::byte> aad(bytes_of(kAadPrefix).begin(), bytes_of(kAadPrefix).end());
    aad.insert(aad.end(), bytes_of(label).begin(), bytes_of(label).end());
    aad.push_back(std::byte{0});
    aad.insert(aad.end(), handle.begin(), handle.end());
    std::vector<std::byte> out(crypto::kNonceSize);
    if (!crypto::random_bytes(out)) return cache_errc::rng_failed;
    std::vector<std::byte> sealed;
    const std::span<const std::byte, crypto::kNonceSize> nonce(out.data(), crypto::kNonceSize);
    if (auto r = crypto::aead_seal(data_key_, nonce, aad, plaintext, sealed); !r) return r.error();
    out.insert(out.end(), sealed.begin(), sealed.end());
    return out;
}

Result<std::vector<std::byte>> CredentialCache::open_locked(std::string_view label, std::span<const std::byte> handle,
                                                            std::span<const std::byte> sealed) const {
    if (sealed.size() < crypto::kNonceSize + crypto::kTagSize) return cache_errc::corrupt;
    std::vector<std::byte> aad(bytes_of(kAadPrefix).begin(), bytes_of(kAadPrefix).end());
    aad.insert(aad.end(), bytes_of(label).begin(), bytes_of(label).end());
    aad.push_back(std::byte{0});
    aad.insert(aad.end(), handle.begin(), handle.end());
    std::vector<std::byte> out;
    const std::span<const std::byte, crypto::kNonceSize> nonce(sealed.data(), crypto::kNonceSize);
    if (!crypto::aead_open(data_key_, nonce, aad, sealed.subspan(crypto::kNonceSize), out)) return cache_errc::corrupt;
    return out;
}

Result<void> CredentialCache::put_meta_locked(std::string_view label, std::string_view name,
                                              std::span<const std::byte> plain) {
    auto sealed = seal_locked(label, bytes_of(name), plain);
    if (!sealed) return sealed.error();
    Stmt put(db_->handle(), "INSERT OR REPLACE INTO meta(name, value) VALUES(?1, ?2)");
    put.bind(1, name).bind_blob(2, *sealed);
    if (put.step() != SQLITE_DONE) return cache_errc::storage_failed;
    return {};
}

Result<std::optional<std::vector<std::byte>>> CredentialCache::get_meta_locked(std::string_view label,
                                                                             std::string_view name) {
    Stmt get(db_->handle(), "SELECT value FROM meta WHERE name = ?1");
    get.bind(1, name);
    const int rc = get.step();
    if (rc == SQLITE_DONE) return std::optional<std::vector<std::byte>>();
    if (rc != SQLITE_ROW) return cache_errc::storage_failed;
    auto plain = open_locked(label, bytes_of(name), get.column_blob(0));
    if (!plain) return plain.error();
    return std::optional<std::vector<std::byte>>(std::move(*plain));
}

Result<void> CredentialCache::put_time_locked(const char* name, std::int64_t t) {
    std::array<std::byte, 8> plain{};
    for (int i = 0; i < 8; ++i) plain[i] = static_cast<std::byte>((static_cast<std::uint64_t>(t) >> (8 * i)) & 0xFF);
    return put_meta_locked("time", name, plain);
}

Result<std::optional<std::int64_t>> CredentialCache::get_time_locked(const char* name) {
    auto plain = get_meta_locked("time", name);
    if (!plain) return plain.error();
    if (!*plain) return std::optional<std::int64_t>();
    if ((*plain)->size() != 8) return cache_errc::corrupt;
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>((**plain)[i]) << (8 * i);
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v));
}

Result<void> CredentialCache::put_state(std::string_view name, std::span<const std::byte> value) {
    std::lock_guard lock(mutex_);
    return put_meta_locked("state", "state:" + std::string(name), value);
}

Result<std::optional<std::vector<std::byte>>> CredentialCache::get_state(std::string_view name) {
    std::lock_guard lock(mutex_);
    return get_meta_locked("state", "state:" + std::string(name));
}

Result<std::vector<Handle>> CredentialCache::find_locked(int kind, std::string_view tag, std::size_t limit) {
    Stmt q(db_->handle(), "SELECT handle FROM lookup WHERE kind = ?1 AND tag = ?2 LIMIT ?3");
    q.bind(1, std::int64_t{kind}).bind(2, tag).bind(3, static_cast<std::int64_t>(limit));
    std::vector<Handle> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        const auto h = q.column_blob(0);
        out.emplace_back(h.begin(), h.end());
    }
    if (rc != SQLITE_DONE) return cache_errc::storage_failed;
    return out;
}

Result<std::optional<UserRecord>> CredentialCache::load_locked(std::span<const std::byte> handle) {
    Stmt q(db_->handle(), "SELECT body FROM users WHERE handle = ?1");
    q.bind_blob(1, handle);
    const int rc = q.step();
    if (rc == SQLITE_DONE) return std::optional<UserRecord>();
    if (rc != SQLITE_ROW) return cache_errc::storage_failed;
    auto plain = open_locked("user", handle, q.column_blob(0));
    if (!plain) return plain.error();
    const WipeOnExit wipe{*plain};
    auto record = decode_record(*plain);
    if (!record) return cache_errc::corrupt;
    return std::optional<UserRecord>(std::move(*record));
}

Result<std::vector<std::pair<Handle, UserRecord>>> CredentialCache::load_all_locked() {
    Stmt q(db_->handle(), "SELECT handle, body FROM users");
    std::vector<std::pair<Handle, UserRecord>> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) {
        const auto h = q.column_blob(0);
        Handle handle(h.begin(), h.end());
        auto plain = open_locked("user", handle, q.column_blob(1));
        if (!plain) return plain.error();
        const WipeOnExit wipe{*plain};
        auto record = decode_record(*plain);
        if (!record) return cache_errc::corrupt;
        out.emplace_back(std::move(handle), std::move(*record));
    }
    if (rc != SQLITE_DONE) return cache_errc::storage_failed;
    return out;
}

Result<void> CredentialCache::delete_locked(std::span<const std::byte> handle) {
    for (const char* sql : {"DELETE FROM users WHERE handle = ?1", "DELETE FROM lookup WHERE handle = ?1"}) {
        Stmt del(db_->handle(), sql);
        del.bind_blob(1, handle);
        if (del.step() != SQLITE_DONE) return cache_errc::storage_failed;
    }
    return {};
}

Result<void> CredentialCache::store_locked(std::span<const std::byte> handle, const UserRecord& r) {
    if (r.empty()) return delete_locked(handle);
    if (auto b = store_body_locked(handle, r); !b) return b.error();
    {
        Stmt del(db_->handle(), "DELETE FROM lookup WHERE handle = ?1");
        del.bind_blob(1, handle);
        if (del.step() != SQLITE_DONE) return cache_errc::storage_failed;
    }
    Stmt add(db_->handle(), "INSERT OR IGNORE INTO lookup(kind, tag, handle) VALUES(?1, ?2, ?3)");
    auto index = [&](int kind, const std::string& tag) -> bool {
        if (tag.empty()) return true;
        add.reset();
        add.bind(1, std::int64_t{kind}).bind(2, tag).bind_blob(3, handle);
        return add.step() == SQLITE_DONE;
    };
    bool ok = index(kKindId, id_tag(r.user.id));
    if (const auto n = fold_login_name(r.user.name); !n.empty()) ok = ok && index(kKindName, name_tag(n));
    for (const auto& a : r.user.aliases)
        if (const auto n = fold_login_name(a); !n.empty()) ok = ok && index(kKindName, name_tag(n));
    if (r.synced.present) {
        for (const auto& s : r.synced.pins) ok = ok && index(kKindSecret, s.tag);
        for (const auto& s : r.synced.cards) ok = ok && index(kKindSecret, s.tag);
    }
    for (const auto& m : r.cached) ok = ok && index(kKindSecret, m.card_tag) && index(kKindSecret, m.pin_tag);
    if (!ok) return cache_errc::storage_failed;
    return {};
}

Result<void> CredentialCache::checkpoint() {
    std::lock_guard lock(checkpoint_mutex_);
    if (!checkpointer_) return cache_errc::open_failed;
    if (!checkpointer_->exec("PRAGMA wal_checkpoint(PASSIVE)")) return cache_errc::storage_failed;
    return {};
}

Result<void> CredentialCache::store_body_locked(std::span<const std::byte> handle, const UserRecord& r) {
    auto plain = encode_record(r);
    const WipeOnExit wipe{plain};
    auto sealed = seal_locked("user", handle, plain);
    if (!sealed) return sealed.error();
    Stmt put(db_->handle(), "INSERT OR REPLACE INTO users(handle, body) VALUES(?1, ?2)");
    put.bind_blob(1, handle).bind_blob(2, *sealed);
    if (put.step() != SQLITE_DONE) return cache_errc::storage_failed;
    return {};
}

std::string CredentialCache::name_tag(std::string_view name) const {
    return lookup_tag(index_key_, "name", fold_login_name(name));
}

std::string CredentialCache::id_tag(std::string_view id) const { return lookup_tag(index_key_, "id", id); }

Result<std::optional<Handle>> CredentialCache::handle_of_id_locked(std::string_view id) {
    auto handles = find_locked(kKindId, id_tag(id), options_.max_candidates);
    if (!handles) return handles.error();
    for (const auto& h : *handles) {
        auto r = load_locked(h);
        if (!r) return r.error();
        if (*r && (*r)->user.id == id) return std::optional<Handle>(h);
    }
    return std::optional<Handle>();
}

Result<std::pair<Handle, UserRecord>> CredentialCache::find_or_create_locked(std::string_view id) {
    auto found = handle_of_id_locked(id);
    if (!found) return found.error();
    std::pair<Handle, UserRecord> out;
    if (*found) {
        out.first = std::move(**found);
        auto loaded = load_locked(out.first);
        if (!loaded) return loaded.error();
        if (*loaded) out.second = std::move(**loaded);
        return out;
    }
    auto h = new_handle();
    if (!h) return h.error();
    out.first = std::move(*h);
    return out;
}

Result<std::size_t> CredentialCache::revoke_tag_locked(std::string_view tag, bool pin, std::string_view keep_id) {
    auto handles = find_locked(kKindSecret, tag, std::numeric_limits<std::int32_t>::max());
    if (!handles) return handles.error();
    std::size_t removed = 0;
    for (const auto& h : *handles) {
        auto loaded = load_locked(h);
        if (!loaded) return loaded.error();
        if (!*loaded || (!keep_id.empty() && (*loaded)->user.id == keep_id)) continue;
        UserRecord& r = **loaded;
        auto& synced = pin ? r.synced.pins : r.synced.cards;
        removed += std::erase_if(synced, [&](const SyncedSecret& s) { return s.tag == tag; });
        removed += std::erase_if(r.cached, [&](const CachedMethod& m) {
            return (pin ? m.pin_tag : m.card_tag) == tag;
        });
        if (auto s = store_locked(h, r); !s) return s.error();
    }
    return removed;
}

LookupKey CredentialCache::lookup_key() const {
    std::lock_guard lock(mutex_);
    return lookup_;
}

std::string CredentialCache::tag_of(LoginMethod factor, std::string_view secret) const {
    if (factor == LoginMethod::pin) return is_valid_pin(secret) ? lookup_tag(lookup_.key, "pin", secret) : "";
    if (factor != LoginMethod::card) return "";
    auto card = normalize_card(secret);
    if (!card) return "";
    const WipeOnExit wipe{*card};
    return lookup_tag(lookup_.key, "card", *card);
}

Result<void> CredentialCache::record_online_login(const CachedUser& user, LoginMethod method,
                                                  const LoginSecrets& secrets, UnixTime now) {
    if (!is_known_method(method) || !valid_user(user)) return cache_errc::bad_input;
    std::optional<std::string> card;
    if (uses_card(method) && !(card = normalize_card(secrets.card))) return cache_errc::bad_input;
    std::string empty;
    const WipeOnExit wipe_card{card ? *card : empty};
    if (uses_pin(method) && !is_valid_pin(secrets.pin)) return cache_errc::bad_input;
    if (uses_password(method) && secrets.password.size() > kMaxSecretBytes) return cache_errc::bad_input;
    if (method == LoginMethod::password && fold_login_name(secrets.username).empty()) return cache_errc::bad_input;

    // Hash first, without the lock: each factor takes tens of milliseconds.
    CachedMethod entry;
    entry.method = method;
    if (card) {
        auto h = hash_factor(limiter_, *card, options_.argon2);
        if (!h) return h.error();
        entry.card_phc = std::move(*h);
        entry.card_tag = lookup_tag(lookup_.key, "card", *card);
    }
    if (uses_pin(method)) {
        auto h = hash_factor(limiter_, secrets.pin, options_.argon2);
        if (!h) return h.error();
        entry.pin_phc = std::move(*h);
        entry.pin_tag = lookup_tag(lookup_.key, "pin", secrets.pin);
    }
    if (uses_password(method)) {
        auto h = hash_factor(limiter_, secrets.password, options_.argon2);
        if (!h) return h.error();
        entry.password_phc = std::move(*h);
    }

    std::lock_guard lock(mutex_);
    const Clock clock = observe_locked(now);
    entry.last_verified = clock.effective;
    entry.valid_until = clock.effective + std::chrono::duration_cast<std::chrono::seconds>(options_.validity).count();

    Transaction tx(*db_);
    if (!tx.began()) return cache_errc::storage_failed;
    // PINs and cards are unique across the server's users: the server just said these are
    // this user's, so any other user's entry with the same tag is stale.
    if (!entry.card_tag.empty())
        if (auto r = revoke_tag_locked(entry.card_tag, false, user.id); !r) return r.error();
    if (!entry.pin_tag.empty())
        if (auto r = revoke_tag_locked(entry.pin_tag, true, user.id); !r) return r.error();
    auto entry_of = find_or_create_locked(user.id);
    if (!entry_of) return entry_of.error();
    auto& [handle, record] = *entry_of;
    record.user = user;
    record.last_login = clock.effective;
    record.last_login_offline = false;
    std::erase_if(record.cached, [&](const CachedMethod& m) { return m.method == method; });
    record.cached.push_back(std::move(entry));
    if (auto r = store_locked(handle, record); !r) return r.error();
    if (!tx.commit()) return cache_errc::storage_failed;
    return {};
}

Result<std::vector<UserSummary>> CredentialCache::list_users(UnixTime now) {
    std::lock_guard lock(mutex_);
    observe_locked(now);
    auto all = load_all_locked();
    if (!all) return all.error();
    const std::int64_t max_age = options_.max_offline_age.count();
    std::vector<UserSummary> out;
    for (const auto& [h, r] : *all) {
        UserSummary s;
        s.id = r.user.id;
        s.name = r.user.name;
        s.full_name = r.user.full_name;
        s.cached = !r.cached.empty();
        s.synced = r.synced.present;
        if (r.last_login != 0) s.last_login = unix_time(r.last_login);
        s.last_login_offline = r.last_login_offline;
        for (const auto& m : r.cached)
            s.methods.push_back({m.method, CredentialSource::cached,
                                 unix_time(std::min(m.valid_until, m.last_verified + max_age))});
        if (r.synced.present) {
            const UnixTime expires = unix_time(last_sync_ + max_age);
            const bool card = !r.synced.cards.empty(), pin = !r.synced.pins.empty();
            const bool pw = !r.synced.password_phc.empty();
            const std::pair<bool, LoginMethod> methods[] = {{card, LoginMethod::card},
                                                            {pin, LoginMethod::pin},
                                                            {pw, LoginMethod::password},
                                                            {card && pin, LoginMethod::card_pin},
                                                            {card && pw, LoginMethod::card_password}};
            for (const auto& [has, m] : methods)
                if (has) s.methods.push_back({m, CredentialSource::synced, expires});
        }
        out.push_back(std::move(s));
    }
    std::sort(out.begin(), out.end(), [](const UserSummary& a, const UserSummary& b) {
        return std::tie(a.name, a.id) < std::tie(b.name, b.id);
    });
    return out;
}

Result<std::size_t> CredentialCache::remove_user(std::string_view name) {
    if (fold_login_name(name).empty()) return cache_errc::not_found;
    std::lock_guard lock(mutex_);
    Transaction tx(*db_);
    if (!tx.began()) return cache_errc::storage_failed;
    auto handles = find_locked(kKindName, name_tag(name), std::numeric_limits<std::int32_t>::max());
    if (!handles) return handles.error();
    for (const auto& h : *handles)
        if (auto r = delete_locked(h); !r) return r.error();
    if (!tx.commit()) return cache_errc::storage_failed;
    if (handles->empty()) return cache_errc::not_found;
    // secure_delete zeroed the freed cells in the database; the WAL still holds the old
    // page images until a checkpoint, so truncate it as the spool does after a shred.
    (void)db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
    return handles->size();
}

std::optional<UnixTime> CredentialCache::last_sync() const {
    std::lock_guard lock(mutex_);
    if (last_sync_ == 0) return std::nullopt;
    return unix_time(last_sync_);
}

UnixTime CredentialCache::last_seen() const {
    std::lock_guard lock(mutex_);
    return unix_time(last_seen_);
}

}  // namespace pg::auth
