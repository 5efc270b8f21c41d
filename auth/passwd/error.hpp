// SPDX-License-Identifier: Apache-2.0
// Errors of the password module (auth/passwd): the pg.auth error category, and the
// ParseError that the PHC and users-file parsers return.
//
// Owns: errc, its category, ParseError and the Result aliases of pg::auth.
// Must not: carry secrets or raw input bytes in a message. Messages are short ASCII
// written here; they name a line and column, never echo a name, salt or hash.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace pg::auth {

template <class T>
using Result = boost::system::result<T>;

enum class errc {
    ok = 0,
    // PHC string (phc.hpp)
    phc_syntax = 1,         // not $argon2id$v=N$m=M,t=T,p=P$SALT$HASH
    unsupported_algorithm,  // a PHC id other than argon2id (argon2i, argon2d, bcrypt...)
    unsupported_version,    // v= other than 19 (0x13), or missing
    bad_number,             // a parameter that is not a canonical decimal 32-bit integer
    out_of_bounds,          // a cost, salt or hash length outside PhcLimits
    bad_base64,             // salt or hash not canonical unpadded standard base64
    // users file (users_file.hpp)
    file_too_large,         // more bytes than UsersFileLimits::max_file_bytes
    line_too_long,          // a line over UsersFileLimits::max_line_bytes
    too_many_users,         // more entries than UsersFileLimits::max_users
    missing_separator,      // an entry line without ':'
    bad_user_name,          // empty, too long, not UTF-8, control or format character, ':'
    duplicate_user,         // a name already defined (ASCII case-insensitive)
    // hashing (password_hash.hpp)
    bad_parameters,         // hash_password: parameters libargon2 refuses
    hash_failed,            // libargon2 failed (out of memory, thread creation)
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

// Why a parse failed. `line` is 1-based in a users file and 0 for a lone PHC string
// or for whole-file errors; `column` is the 1-based byte column in that line (or in
// the PHC string) where the offending field starts, 0 when the error is about the
// whole input.
struct ParseError {
    boost::system::error_code code;
    std::size_t line = 0;
    std::size_t column = 0;
    std::string message;
};
// Needed by boost::system::result<T, ParseError>::value(); throws system_error.
[[noreturn]] void throw_exception_from_error(const ParseError& e, const boost::source_location& loc);

template <class T>
using ParseResult = boost::system::result<T, ParseError>;

// "SOURCE:LINE:COLUMN: message" (parts that are 0 left out), for a startup error
// or a tool's stderr. `source` is what the caller calls the input (a path).
std::string describe(const ParseError& e, std::string_view source);

}  // namespace pg::auth

template <>
struct boost::system::is_error_code_enum<pg::auth::errc> : std::true_type {};
