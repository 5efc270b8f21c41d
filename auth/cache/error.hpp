// SPDX-License-Identifier: Apache-2.0
// Errors of the credential cache (auth/cache): the pg.auth.cache category.
//
// Owns: cache_errc and its messages. Must not: carry a user name, a tag, a secret or a
// path in a message; the messages are fixed ASCII written here.
#pragma once

#include <boost/system/error_code.hpp>

namespace pg::auth {

enum class cache_errc {
    ok = 0,
    open_failed = 1,    // SQLite could not open or set up the file
    wrong_master_key,   // the wrapped keys do not open under this master key (or were altered)
    corrupt,            // a sealed row does not authenticate, or its plaintext is malformed
    storage_failed,     // an SQLite read or write failed (disk full, I/O error, busy)
    bad_input,          // a caller argument out of its documented range (empty id, long secret, bad card)
    not_found,          // remove_user: no user has that name
    hash_failed,        // libargon2 failed (out of memory, threads)
    rng_failed,         // the OS random source failed
};
const boost::system::error_category& cache_category() noexcept;
inline boost::system::error_code make_error_code(cache_errc e) noexcept {
    return {static_cast<int>(e), cache_category()};
}

}  // namespace pg::auth

template <>
struct boost::system::is_error_code_enum<pg::auth::cache_errc> : std::true_type {};
