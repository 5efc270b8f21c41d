// SPDX-License-Identifier: Apache-2.0
// The plaintext of one credential-cache row before it is sealed, and its byte format.
//
// Owns: UserRecord and its version-1 encoding. Must not: seal, store or log (the cache
// does that); every function is pure and may be called from any thread.
//
// Encoding (all integers little-endian): u8 version (1), then fields in declaration order;
// a string is u32 length + bytes, a list is u32 count + items, a time is i64 Unix seconds
// (0 = never). decode_record refuses trailing bytes, short input, counts or lengths over
// the bounds below, and unknown versions or methods, so a record that authenticated but is
// malformed is reported as corrupt rather than half-read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "auth/cache/types.hpp"

namespace pg::auth::cache_detail {

// A secret of a synced user: the lookup tag and the server's argon2id verifier.
struct SyncedSecret {
    std::string tag;
    std::string phc;
};

// The part of a record the server's sync set owns; replaced as a whole by each record.
struct SyncedPart {
    bool present = false;
    std::vector<SyncedSecret> pins;   // at most 3
    std::vector<SyncedSecret> cards;  // at most 3
    std::string password_phc;         // empty: none
};

// One method cached after an online login. Tags and PHC strings of the factors the
// method uses; the others are empty.
struct CachedMethod {
    LoginMethod method = LoginMethod::pin;
    std::string card_tag;
    std::string pin_tag;
    std::string card_phc;
    std::string pin_phc;
    std::string password_phc;
    std::int64_t valid_until = 0;    // Unix seconds
    std::int64_t last_verified = 0;  // Unix seconds of the online login
};

struct UserRecord {
    CachedUser user;
    std::int64_t last_login = 0;  // online or offline, for listing only
    bool last_login_offline = false;
    SyncedPart synced;
    std::vector<CachedMethod> cached;  // at most one per method

    bool empty() const { return !synced.present && cached.empty(); }
};

// Bounds a decoded record must respect (far above what the server sends).
inline constexpr std::size_t kMaxStringBytes = 4096;
inline constexpr std::size_t kMaxListItems = 256;

std::vector<std::byte> encode_record(const UserRecord& r);
std::optional<UserRecord> decode_record(std::span<const std::byte> bytes);

}  // namespace pg::auth::cache_detail
