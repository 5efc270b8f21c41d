// SPDX-License-Identifier: Apache-2.0
// Argon2id password hashing and verification over libargon2.
//
// Owns: the default cost parameters, salt and tag sizes of new hashes, and every
// call into libargon2. Must not: log, keep a password or a computed tag after a call
// returns (both are wiped), or compare tags other than in constant time.
//
// Threads: every function may be called from any thread at once. Each call blocks
// its thread for the whole hash (the defaults: about 35 ms and 19 MiB on this
// appliance class; the PhcLimits maximum: about 1.2 s and 256 MiB) and, for p > 1,
// starts p - 1 helper threads. Run it on the blocking pool, never on an I/O thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "auth/passwd/error.hpp"
#include "auth/passwd/phc.hpp"

namespace pg::auth {

// Defaults for new hashes: OWASP's Password Storage Cheat Sheet argon2id entry
// m=19 MiB, t=2, p=1. About 35 ms of one core here, so the offline-login target of
// issue #7 (p99 under 250 ms at concurrency 1-2 on two cores) holds with room, and
// 100 concurrent logins on a 2-thread pool take about 1.8 s and 38 MiB. p=1 because
// the pool, not the hash, provides parallelism on a small appliance. Raise m first
// when the hardware allows (RFC 9106 §4: m=64 MiB, t=3, p=4); stored PHC strings
// carry their own parameters, so old entries keep verifying.
inline constexpr Argon2Params kDefaultParams{19456, 2, 1};
inline constexpr std::size_t kSaltBytes = 16;  // RFC 9106 §4: 128-bit salt
inline constexpr std::size_t kHashBytes = 32;  // RFC 9106 §4: 256-bit tag
// Longest secret hash_password accepts and an Authenticator verifies; longer input is
// refused (it is never a typed password, and it bounds the BLAKE2b pre-hash work).
inline constexpr std::size_t kMaxSecretBytes = 4096;

// Hashes `password` with a fresh kSaltBytes salt from the OS CSPRNG (RAND_bytes,
// through pg::crypto::random_bytes) into a kHashBytes tag.
// Errors: bad_parameters when `params` fail check_params under the default PhcLimits
// (so every new hash is one parse_phc accepts) or the password is longer than
// kMaxSecretBytes; pg.crypto rng_failed; hash_failed (libargon2: out of memory or
// threads).
Result<PhcHash> hash_password(std::string_view password, const Argon2Params& params = kDefaultParams);

// Recomputes argon2id over `password` with `stored`'s parameters and salt and
// compares the tags with CRYPTO_memcmp (constant time in the tag length). True on a
// match. Errors: hash_failed when libargon2 cannot compute the hash (out of memory,
// threads, or parameters below its minima, which parse_phc never returns).
Result<bool> verify_password(const PhcHash& stored, std::string_view password);

}  // namespace pg::auth
