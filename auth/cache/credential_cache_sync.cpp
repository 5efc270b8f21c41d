// SPDX-License-Identifier: Apache-2.0
// CredentialCache::apply_sync: the server's sync set into the cache, in one transaction
// (docs/upstream-protocol.md, "Sync").
//
// Owns: the sync_limit rule, tombstone order, and which synced verifiers are accepted.
// Must not: keep anything from a batch that failed part-way (the transaction rolls back).

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "auth/cache/credential_cache.hpp"
#include "auth/cache/detail.hpp"
#include "auth/cache/lookup_tag.hpp"
#include "auth/cache/record.hpp"
#include "auth/cache/sqlite_db.hpp"

namespace pg::auth {

using namespace cache_detail;

namespace {

bool is_tag(std::string_view t) {
    if (t.size() != kTagChars) return false;
    for (char c : t) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_';
        if (!ok) return false;
    }
    return true;
}

std::vector<SyncedSecret> take_secrets(const std::vector<SyncSecretIn>& in, const PhcLimits& limits,
                                       std::size_t& rejected) {
    std::vector<SyncedSecret> out;
    for (const auto& s : in) {
        if (out.size() == kMaxSecretsPerKind || !is_tag(s.tag) || !parse_phc(s.verifier, limits)) {
            ++rejected;
            continue;
        }
        out.push_back({s.tag, s.verifier});
    }
    return out;
}

// The users of a batch once each, in first-seen order, a later record replacing an earlier.
std::vector<const SyncUserIn*> dedupe(const std::vector<SyncUserIn>& users) {
    std::vector<const SyncUserIn*> out;
    std::unordered_map<std::string, std::size_t> at;
    for (const auto& u : users) {
        auto [it, inserted] = at.try_emplace(u.user.id, out.size());
        if (inserted)
            out.push_back(&u);
        else
            out[it->second] = &u;
    }
    return out;
}

}  // namespace

Result<void> CredentialCache::upsert_synced_locked(const SyncUserIn& u, SyncReport& report) {
    auto entry_of = find_or_create_locked(u.user.id);
    if (!entry_of) return entry_of.error();
    auto& [handle, record] = *entry_of;
    record.user = u.user;
    record.synced = SyncedPart{};
    record.synced.present = true;
    record.synced.pins = take_secrets(u.pins, options_.phc_limits, report.rejected_verifiers);
    record.synced.cards = take_secrets(u.cards, options_.phc_limits, report.rejected_verifiers);
    if (u.password_verifier) {
        if (parse_phc(*u.password_verifier, options_.phc_limits))
            record.synced.password_phc = *u.password_verifier;
        else
            ++report.rejected_verifiers;
    }
    if (auto r = store_locked(handle, record); !r) return r.error();
    ++report.upserted;
    return {};
}

Result<SyncReport> CredentialCache::apply_sync(const SyncBatch& batch, UnixTime now) {
    SyncReport report;
    std::lock_guard lock(mutex_);
    const Clock clock = observe_locked(now);
    Transaction tx(*db_);
    if (!tx.began()) return cache_errc::storage_failed;

    if (!batch.full) {
        for (const auto& id : batch.tombstone_users) {
            auto h = handle_of_id_locked(id);
            if (!h) return h.error();
            if (!*h) continue;
            if (auto r = delete_locked(**h); !r) return r.error();
            ++report.removed;
        }
        for (const auto& [tags, pin] : {std::pair{&batch.tombstone_pins, true}, std::pair{&batch.tombstone_cards, false}})
            for (const auto& tag : *tags) {
                auto n = revoke_tag_locked(tag, pin, {});
                if (!n) return n.error();
                report.secrets_revoked += *n;
            }
    }

    auto all = load_all_locked();
    if (!all) return all.error();
    std::size_t synced_count = 0;
    for (const auto& [h, r] : *all) synced_count += r.synced.present ? 1 : 0;

    const auto users = dedupe(batch.users);
    std::unordered_set<std::string> disabled, kept;
    std::vector<const SyncUserIn*> to_write;
    for (const SyncUserIn* u : users) {
        if (u->disabled) {
            disabled.insert(u->user.id);
            continue;
        }
        if (!valid_user(u->user)) {
            ++report.rejected_users;
            continue;
        }
        if (batch.full) {
            if (kept.size() == options_.sync_limit) {
                ++report.dropped_over_limit;
                continue;
            }
        } else {
            const bool already = std::any_of(all->begin(), all->end(), [&](const auto& e) {
                return e.second.synced.present && e.second.user.id == u->user.id;
            });
            if (!already) {
                if (synced_count >= options_.sync_limit) {
                    ++report.dropped_over_limit;
                    continue;
                }
                ++synced_count;
            }
        }
        kept.insert(u->user.id);
        to_write.push_back(u);
    }

    // Records that leave: disabled users entirely; for a full sync, the synced part of
    // every user the new set does not list.
    for (auto& [h, r] : *all) {
        if (disabled.contains(r.user.id)) {
            if (auto s = delete_locked(h); !s) return s.error();
            ++report.removed;
            continue;
        }
        if (batch.full && r.synced.present && !kept.contains(r.user.id)) {
            r.synced = SyncedPart{};
            if (r.empty()) ++report.removed;
            if (auto s = store_locked(h, r); !s) return s.error();
        }
    }
    for (const SyncUserIn* u : to_write)
        if (auto r = upsert_synced_locked(*u, report); !r) return r.error();

    auto after = load_all_locked();
    if (!after) return after.error();
    for (const auto& [h, r] : *after) report.synced_users += r.synced.present ? 1 : 0;
    if (auto r = put_time_locked("last_sync", clock.effective); !r) return r.error();
    if (!tx.commit()) return cache_errc::storage_failed;
    last_sync_ = clock.effective;
    return report;
}

}  // namespace pg::auth
