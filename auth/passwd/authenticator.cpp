// SPDX-License-Identifier: Apache-2.0
// UsersFileAuthenticator: users-file lookup + argon2id verification.
//
// Owns: the dummy entry and the choice of what an unknown user costs. Must not:
// branch on user existence anywhere a caller can see it (reply or time), log, or
// keep a secret.
//
// Timing: a known user costs one argon2id run with that entry's parameters; an
// unknown user (or a name the file could never hold) costs one run with the dummy's,
// which are the parameters most entries share. With a uniform file (the usual case:
// every entry made by printgate-passwd with the same defaults) both paths do the
// same work, and the remaining differences (a hash-map lookup, one string fold) are
// microseconds against tens of milliseconds of hashing. An entry with unusual
// parameters is distinguishable by time from an unknown name; docs/authentication.md
// says to keep a file's parameters uniform.

#include "auth/passwd/authenticator.hpp"

#include <map>
#include <tuple>

#include "auth/passwd/password_hash.hpp"

namespace pg::auth {

namespace {

// The most common cost in the table (first seen wins a tie), else the default.
PhcHash make_dummy(const UsersTable& users) {
    using Key = std::tuple<std::uint32_t, std::uint32_t, std::uint32_t, std::size_t, std::size_t>;
    std::map<Key, std::size_t> counts;
    const UserEntry* best = nullptr;
    std::size_t best_count = 0;
    for (const auto& e : users.entries()) {
        const Key key{e.hash.params.memory_kib, e.hash.params.time_cost, e.hash.params.parallelism,
                      e.hash.salt.size(), e.hash.hash.size()};
        const std::size_t n = ++counts[key];
        if (n > best_count) {
            best_count = n;
            best = &e;
        }
    }
    PhcHash dummy;
    dummy.params = best ? best->hash.params : kDefaultParams;
    // A fixed salt and an all-zero tag: nothing secret, and the result is ignored.
    dummy.salt.assign(best ? best->hash.salt.size() : kSaltBytes, std::byte{0x5A});
    dummy.hash.assign(best ? best->hash.hash.size() : kHashBytes, std::byte{0});
    return dummy;
}

}  // namespace

UsersFileAuthenticator::UsersFileAuthenticator(UsersTable users)
    : users_(std::move(users)), dummy_(make_dummy(users_)) {}

Verdict UsersFileAuthenticator::verify(std::string_view user, std::string_view secret) {
    const bool secret_fits = secret.size() <= kMaxSecretBytes;
    // A name longer than any the file can hold is unknown without folding a copy of it.
    const bool name_fits = user.size() <= kMaxUserNameBytes;
    const UserEntry* entry = secret_fits && name_fits ? users_.find(user) : nullptr;
    const PhcHash& target = entry ? entry->hash : dummy_;
    const auto match = verify_password(target, secret_fits ? secret : secret.substr(0, kMaxSecretBytes));
    if (!match) return Verdict::unavailable();
    if (entry == nullptr || !*match) return Verdict::denied();
    return Verdict::granted(entry->name);
}

}  // namespace pg::auth
