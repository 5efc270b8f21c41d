// SPDX-License-Identifier: Apache-2.0
// Argon2id hashing and constant-time verification (libargon2 + OpenSSL).
//
// Owns: the argon2id_hash_raw calls. Must not: log, or leave a computed tag in
// memory after a call (it is as good as the password for this salt).
//
// Why argon2id_hash_raw and not argon2id_verify: argon2id_verify parses the encoded
// string itself and would accept any cost the string names (up to 4 TiB, 2^32
// passes); parse_phc has already applied PhcLimits to the PhcHash we get, and
// recomputing the raw tag from those checked values means libargon2 never sees an
// unchecked parameter. The comparison is then ours, with CRYPTO_memcmp.

#include "auth/passwd/password_hash.hpp"

#include <array>
#include <vector>

#include <argon2.h>
#include <openssl/crypto.h>

#include "auth/crypto/crypto.hpp"

namespace pg::auth {

namespace {

// Wipes a buffer when it goes out of scope.
struct WipeOnExit {
    std::vector<std::byte>& bytes;
    ~WipeOnExit() {
        if (!bytes.empty()) OPENSSL_cleanse(bytes.data(), bytes.size());
    }
};

int argon2id_into(const Argon2Params& p, std::string_view password, std::span<const std::byte> salt,
                  std::span<std::byte> out) {
    return argon2id_hash_raw(p.time_cost, p.memory_kib, p.parallelism, password.data(), password.size(),
                             salt.data(), salt.size(), out.data(), out.size());
}

}  // namespace

Result<PhcHash> hash_password(std::string_view password, const Argon2Params& params) {
    if (password.size() > kMaxSecretBytes) return errc::bad_parameters;
    if (check_params(params, PhcLimits{})) return errc::bad_parameters;
    PhcHash out;
    out.params = params;
    out.salt.resize(kSaltBytes);
    if (auto r = crypto::random_bytes(out.salt); !r) return r.error();
    out.hash.resize(kHashBytes);
    if (argon2id_into(params, password, out.salt, out.hash) != ARGON2_OK) {
        OPENSSL_cleanse(out.hash.data(), out.hash.size());
        return errc::hash_failed;
    }
    return out;
}

Result<bool> verify_password(const PhcHash& stored, std::string_view password) {
    if (stored.hash.empty()) return errc::hash_failed;
    std::vector<std::byte> computed(stored.hash.size());
    const WipeOnExit wipe{computed};
    if (argon2id_into(stored.params, password, stored.salt, computed) != ARGON2_OK) return errc::hash_failed;
    return CRYPTO_memcmp(computed.data(), stored.hash.data(), computed.size()) == 0;
}

}  // namespace pg::auth
