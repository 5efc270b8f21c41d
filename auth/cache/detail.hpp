// SPDX-License-Identifier: Apache-2.0
// Internals shared by credential_cache.cpp and credential_cache_verify.cpp. Not public.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/crypto.h>

#include "auth/cache/error.hpp"
#include "auth/cache/types.hpp"
#include "auth/crypto/crypto.hpp"
#include "auth/passwd/error.hpp"

namespace pg::auth::cache_detail {

// lookup.kind values.
inline constexpr int kKindSecret = 1;  // PIN or card tag (lookup key)
inline constexpr int kKindName = 2;    // folded name or alias (index key)
inline constexpr int kKindId = 3;      // server user id (index key)

inline constexpr std::size_t kHandleBytes = 16;
inline constexpr std::size_t kMaxSecretsPerKind = 3;  // docs/upstream-protocol.md: at most 3 PINs, 3 cards

using Handle = std::vector<std::byte>;

inline std::int64_t secs(UnixTime t) { return t.time_since_epoch().count(); }
inline UnixTime unix_time(std::int64_t s) { return UnixTime{std::chrono::seconds{s}}; }

inline std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Wipes a buffer that held plaintext when it goes out of scope.
template <class Buffer>
struct WipeOnExit {
    Buffer& buffer;
    ~WipeOnExit() {
        if (!buffer.empty()) OPENSSL_cleanse(buffer.data(), buffer.size());
    }
};
template <class Buffer>
WipeOnExit(Buffer&) -> WipeOnExit<Buffer>;

// Which factors a method uses.
inline bool uses_card(LoginMethod m) {
    return m == LoginMethod::card || m == LoginMethod::card_pin || m == LoginMethod::card_password;
}
inline bool uses_pin(LoginMethod m) { return m == LoginMethod::pin || m == LoginMethod::card_pin; }
inline bool uses_password(LoginMethod m) {
    return m == LoginMethod::password || m == LoginMethod::card_password;
}
inline bool is_known_method(LoginMethod m) {
    const int v = static_cast<int>(m);
    return v >= 1 && v <= 5;
}

inline constexpr std::size_t kMaxFieldBytes = 1024;  // ids, names, emails, aliases (below kMaxStringBytes)
inline constexpr std::size_t kMaxAliases = 32;
inline constexpr std::size_t kMaxAccounts = 64;

inline bool fits(std::string_view s) { return s.size() <= kMaxFieldBytes; }

// A user the cache can store: id and name present, every field within the bounds above.
inline bool valid_user(const CachedUser& u) {
    if (u.id.empty() || !fits(u.id) || u.name.empty() || !fits(u.name) || !fits(u.full_name) || !fits(u.email))
        return false;
    if (u.aliases.size() > kMaxAliases || u.accounts.size() > kMaxAccounts) return false;
    for (const auto& a : u.aliases)
        if (!fits(a)) return false;
    for (const auto& a : u.accounts)
        if (!fits(a.id) || !fits(a.name)) return false;
    return true;
}

// A fresh random row handle.
inline Result<Handle> new_handle() {
    Handle h(kHandleBytes);
    if (!crypto::random_bytes(h)) return cache_errc::rng_failed;
    return h;
}

}  // namespace pg::auth::cache_detail
