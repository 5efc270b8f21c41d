// SPDX-License-Identifier: Apache-2.0
// CredentialCache::verify_offline: candidates by tag or name, argon2id, expiry.
//
// Owns: the order of work in an offline login and what it costs. Must not: hash while
// holding mutex_, return before the hashes an unknown user would cost, or tell the caller
// more than VerifyResult says.
//
// Timing. Every call runs the method's number of factors in argon2id hashes at least:
// with no candidate, against a dummy entry with the cache's own cost (the cost synced
// verifiers are requested with, so the usual entry costs the same); with candidates,
// every factor of every candidate, without stopping at the first mismatch, so "card
// right, PIN wrong" costs what "card unknown" costs. More than one candidate (a stale
// tag, an alias shared by two users) costs more; that says only that the tag or name is
// ambiguous, and max_candidates bounds it. Comparisons are verify_password's CRYPTO_memcmp.

#include <algorithm>
#include <limits>

#include "auth/cache/credential_cache.hpp"
#include "auth/cache/detail.hpp"
#include "auth/cache/lookup_tag.hpp"
#include "auth/cache/record.hpp"
#include "auth/cache/sqlite_db.hpp"

namespace pg::auth {

using namespace cache_detail;

namespace {

enum class Which { card, pin, password };

struct Factor {
    PhcHash hash;
    std::string phc;  // as stored, to check after hashing that it is still there
    Which which = Which::pin;
    bool real = true;  // false: a stand-in whose comparison never counts
};

struct Attempt {
    Handle handle;
    CachedUser user;
    CredentialSource source = CredentialSource::cached;
    std::vector<Factor> factors;
    VerifyReason expiry = VerifyReason::ok;  // ok, expired or too_old
};

std::size_t factor_count(LoginMethod m) {
    return (uses_card(m) ? 1 : 0) + (uses_pin(m) ? 1 : 0) + (uses_password(m) ? 1 : 0);
}

// True when `r` still holds, for `a`'s source and method, an entry with the same PHC
// strings (a sync or an online login may have replaced it while the hash ran).
bool still_present(const UserRecord& r, const Attempt& a, LoginMethod method) {
    auto has = [&](Which w, const std::string& phc) {
        if (a.source == CredentialSource::cached) {
            return std::any_of(r.cached.begin(), r.cached.end(), [&](const CachedMethod& m) {
                if (m.method != method) return false;
                return (w == Which::card ? m.card_phc : w == Which::pin ? m.pin_phc : m.password_phc) == phc;
            });
        }
        if (!r.synced.present) return false;
        if (w == Which::password) return r.synced.password_phc == phc;
        const auto& list = w == Which::card ? r.synced.cards : r.synced.pins;
        return std::any_of(list.begin(), list.end(), [&](const SyncedSecret& s) { return s.phc == phc; });
    };
    return std::all_of(a.factors.begin(), a.factors.end(), [&](const Factor& f) { return has(f.which, f.phc); });
}

}  // namespace

VerifyResult CredentialCache::verify_offline(LoginMethod method, const LoginSecrets& secrets, UnixTime now) {
    VerifyResult result;
    if (!is_known_method(method)) {
        result.reason = VerifyReason::bad_input;
        return result;
    }

    // The presented secrets, checked and normalised.
    std::string card;
    const WipeOnExit wipe_card{card};
    bool bad_input = false;
    if (uses_card(method)) {
        auto c = normalize_card(secrets.card);
        if (c) card = std::move(*c);
        bad_input = bad_input || card.empty();
    }
    if (uses_pin(method)) bad_input = bad_input || !is_valid_pin(secrets.pin);
    if (uses_password(method)) bad_input = bad_input || secrets.password.size() > kMaxSecretBytes;
    const std::string login_name = method == LoginMethod::password ? fold_login_name(secrets.username) : "";
    if (method == LoginMethod::password) bad_input = bad_input || login_name.empty() || login_name.size() > 1024;
    auto secret_of = [&](Which w) -> std::string_view {
        const std::string_view s = w == Which::card ? std::string_view(card)
                                   : w == Which::pin ? std::string_view(secrets.pin)
                                                     : std::string_view(secrets.password);
        return s.substr(0, kMaxSecretBytes);
    };

    // 1. Under the lock: the clock, the candidates and their verifiers (no hashing).
    std::vector<Attempt> attempts;
    bool storage_error = false;
    std::int64_t effective = 0;
    {
        std::lock_guard lock(mutex_);
        const Clock clock = observe_locked(now);
        effective = clock.effective;
        result.clock_suspect = clock.suspect;
        result.last_seen = unix_time(last_seen_);
        const std::int64_t max_age = options_.max_offline_age.count();

        const std::string card_tag = !bad_input && uses_card(method) ? lookup_tag(lookup_.key, "card", card) : "";
        const std::string pin_tag = !bad_input && uses_pin(method) ? lookup_tag(lookup_.key, "pin", secrets.pin) : "";
        Result<std::vector<Handle>> handles = std::vector<Handle>{};
        if (!bad_input) {
            if (method == LoginMethod::password)
                handles = find_locked(kKindName, name_tag(login_name), options_.max_candidates);
            else
                handles = find_locked(kKindSecret, uses_card(method) ? card_tag : pin_tag, options_.max_candidates);
        }
        if (!handles) storage_error = true;
        if (method == LoginMethod::password && !bad_input) result.lockout_key = "n:" + login_name;

        auto make_factor = [&](Which w, const std::string& phc) {
            Factor f;
            f.which = w;
            f.phc = phc;
            auto parsed = parse_phc(phc, options_.phc_limits);
            if (parsed) {
                f.hash = std::move(*parsed);
            } else {
                f.hash = dummy_;
                f.real = false;
            }
            return f;
        };
        auto stand_in = [&](Which w) {
            Factor f;
            f.which = w;
            f.hash = dummy_;
            f.real = false;
            return f;
        };

        for (const Handle& h : handles ? *handles : std::vector<Handle>{}) {
            auto loaded = load_locked(h);
            if (!loaded) {
                storage_error = true;
                continue;
            }
            if (!*loaded) continue;
            const UserRecord& r = **loaded;
            if (result.lockout_key.empty() || result.lockout_key[0] == 'n') result.lockout_key = "u:" + r.user.id;

            for (const CachedMethod& m : r.cached) {
                if (m.method != method) continue;
                if (uses_card(method) ? m.card_tag != card_tag : method == LoginMethod::pin && m.pin_tag != pin_tag)
                    continue;
                Attempt a{h, r.user, CredentialSource::cached, {}, VerifyReason::ok};
                if (uses_card(method)) a.factors.push_back(make_factor(Which::card, m.card_phc));
                if (uses_pin(method)) a.factors.push_back(make_factor(Which::pin, m.pin_phc));
                if (uses_password(method)) a.factors.push_back(make_factor(Which::password, m.password_phc));
                if (effective >= m.valid_until)
                    a.expiry = VerifyReason::expired;
                else if (effective - m.last_verified > max_age)
                    a.expiry = VerifyReason::too_old;
                attempts.push_back(std::move(a));
            }
            if (!r.synced.present) continue;
            const VerifyReason synced_expiry =
                last_sync_ == 0 || effective - last_sync_ > max_age ? VerifyReason::too_old : VerifyReason::ok;
            auto with_tag = [](const std::vector<SyncedSecret>& list, const std::string& tag) -> const SyncedSecret* {
                for (const auto& s : list)
                    if (s.tag == tag) return &s;
                return nullptr;
            };
            Attempt a{h, r.user, CredentialSource::synced, {}, synced_expiry};
            if (uses_card(method)) {
                const SyncedSecret* c = with_tag(r.synced.cards, card_tag);
                if (c == nullptr) continue;  // the card tag led here through a cached entry only
                a.factors.push_back(make_factor(Which::card, c->phc));
            }
            if (uses_pin(method)) {
                const SyncedSecret* p = with_tag(r.synced.pins, pin_tag);
                if (p != nullptr)
                    a.factors.push_back(make_factor(Which::pin, p->phc));
                else if (method == LoginMethod::card_pin)
                    a.factors.push_back(stand_in(Which::pin));  // card right, PIN not this user's
                else
                    continue;
            }
            if (uses_password(method)) {
                if (!r.synced.password_phc.empty())
                    a.factors.push_back(make_factor(Which::password, r.synced.password_phc));
                else if (method == LoginMethod::card_password)
                    a.factors.push_back(stand_in(Which::password));
                else
                    continue;
            }
            attempts.push_back(std::move(a));
        }
    }

    // 2. Without the lock: argon2id, at most max_concurrent_hashes at once.
    if (attempts.empty()) {
        const Which order[] = {Which::card, Which::pin, Which::password};
        std::size_t n = factor_count(method);
        for (Which w : order) {
            if (n == 0) break;
            if ((w == Which::card && !uses_card(method)) || (w == Which::pin && !uses_pin(method)) ||
                (w == Which::password && !uses_password(method)))
                continue;
            HashLimiter::Slot slot(limiter_);
            (void)verify_password(dummy_, secret_of(w));
            --n;
        }
        result.status = storage_error ? VerifyStatus::unavailable : VerifyStatus::denied;
        result.reason = storage_error ? VerifyReason::unavailable
                        : bad_input   ? VerifyReason::bad_input
                                      : VerifyReason::no_match;
        return result;
    }
    std::vector<const Attempt*> matched;
    bool hash_error = false;
    for (const Attempt& a : attempts) {
        bool all = true;
        for (const Factor& f : a.factors) {
            HashLimiter::Slot slot(limiter_);
            const auto ok = verify_password(f.hash, secret_of(f.which));
            if (!ok) hash_error = true;
            all = all && ok && *ok && f.real;
        }
        if (all) matched.push_back(&a);
    }

    // 3. The verdict.
    const Attempt* winner = nullptr;
    for (const Attempt* a : matched) {
        if (a->expiry != VerifyReason::ok) continue;
        if (winner != nullptr && winner->user.id != a->user.id) {
            result.reason = VerifyReason::ambiguous;
            return result;
        }
        if (winner == nullptr) winner = a;
    }
    if (winner == nullptr) {
        if (hash_error || storage_error) {
            result.status = VerifyStatus::unavailable;
            result.reason = VerifyReason::unavailable;
        } else {
            result.reason = matched.empty() ? VerifyReason::no_match : matched.front()->expiry;
        }
        return result;
    }

    std::lock_guard lock(mutex_);
    auto loaded = load_locked(winner->handle);
    if (!loaded || !*loaded || !still_present(**loaded, *winner, method)) {
        result.reason = loaded ? VerifyReason::revoked : VerifyReason::unavailable;
        result.status = loaded ? VerifyStatus::denied : VerifyStatus::unavailable;
        return result;
    }
    UserRecord r = std::move(**loaded);
    r.last_login = std::max(effective, last_seen_);
    r.last_login_offline = true;
    // Last login is for listing only: a failed write does not refuse a verified login.
    // Only the body changes, in one statement, without an fsync of its own: no disk wait
    // under the lock in a login's time (rewriting the lookup rows too cost about ten
    // fsynced commits, and a slow disk stalled concurrent logins for 300 ms and more).
    const RelaxedSync relaxed(*db_);
    (void)store_body_locked(winner->handle, r);
    result.status = VerifyStatus::ok;
    result.reason = VerifyReason::ok;
    result.user = r.user;
    result.source = winner->source;
    result.lockout_key = "u:" + r.user.id;
    return result;
}

// The server refused a login with user_disabled: whoever the presented card, PIN or
// name identifies here is removed (cached and synced entries), so the disabled user
// cannot log in offline. No hash is checked: the server just decided, and a tag or a
// folded name identifies the user as well as a verified secret would.
Result<std::size_t> CredentialCache::forget_login(LoginMethod method, const LoginSecrets& secrets) {
    if (!is_known_method(method)) return cache_errc::bad_input;
    std::string key;
    const WipeOnExit wipe_key{key};
    int kind = kKindSecret;
    {
        std::lock_guard lock(mutex_);
        if (uses_card(method)) {
            auto c = normalize_card(secrets.card);
            if (!c || c->empty()) return cache_errc::bad_input;
            key = lookup_tag(lookup_.key, "card", *c);
            std::fill(c->begin(), c->end(), '\0');
        } else if (uses_pin(method)) {
            if (!is_valid_pin(secrets.pin)) return cache_errc::bad_input;
            key = lookup_tag(lookup_.key, "pin", secrets.pin);
        } else {
            const std::string folded = fold_login_name(secrets.username);
            if (folded.empty() || folded.size() > 1024) return cache_errc::bad_input;
            key = name_tag(folded);
            kind = kKindName;
        }
        Transaction tx(*db_);
        if (!tx.began()) return cache_errc::storage_failed;
        auto handles = find_locked(kind, key, std::numeric_limits<std::int32_t>::max());
        if (!handles) return handles.error();
        for (const auto& h : *handles)
            if (auto r = delete_locked(h); !r) return r.error();
        if (!tx.commit()) return cache_errc::storage_failed;
        // As remove_user: no old page image of the rows stays in the WAL.
        if (!handles->empty()) (void)db_->exec("PRAGMA wal_checkpoint(TRUNCATE)");
        return handles->size();
    }
}

}  // namespace pg::auth
