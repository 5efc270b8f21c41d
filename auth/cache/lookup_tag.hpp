// SPDX-License-Identifier: Apache-2.0
// Lookup tags and the input rules for login secrets (docs/upstream-protocol.md, "Lookup key",
// "User verification"): card normalisation, PIN and name shape, HMAC-SHA256 tags.
//
// Owns: the exact bytes a tag is computed over, so the gateway's tags equal the server's.
// Must not: keep a secret or a key past a call, log, or do I/O. Every function may be called
// from any thread at once.
//
//   tag = base64url_nopad( HMAC-SHA256( key, METHOD ":" SECRET ) )      (43 characters)
//
// METHOD is "pin" or "card"; SECRET is the PIN as given or the normalised card number. The
// cache also indexes user names and ids with the same construction under a local key that
// never leaves the gateway (labels "name" and "id"), so the index holds no plaintext.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "auth/crypto/crypto.hpp"

namespace pg::auth {

inline constexpr std::size_t kMaxCardChars = 64;  // normalised card number
inline constexpr std::size_t kMaxPinChars = 32;
inline constexpr std::size_t kTagChars = 43;       // base64url of 32 bytes, no padding

// Card numbers: ASCII white space removed, ASCII letters upper-cased; the result must be
// 1..kMaxCardChars characters of [0-9A-F], otherwise nullopt (the card matches no one).
// "04 a1 b2 c3" -> "04A1B2C3".
std::optional<std::string> normalize_card(std::string_view card);

// A PIN is 1..kMaxPinChars bytes, compared as given.
bool is_valid_pin(std::string_view pin);

// The login-name key: ASCII white space trimmed at both ends, ASCII letters lower-cased,
// every other byte kept (the server matches `username` "ignoring ASCII case"). Empty when
// nothing is left.
std::string fold_login_name(std::string_view name);

// base64url_nopad(HMAC-SHA256(key, label ":" value)). `label` is "pin" or "card" for the
// protocol's tags. Returns an empty string only if OpenSSL fails (it does not in practice).
std::string lookup_tag(const crypto::Key& key, std::string_view label, std::string_view value);

}  // namespace pg::auth
