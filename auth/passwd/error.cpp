// SPDX-License-Identifier: Apache-2.0
// The pg.auth error category and ParseError helpers.
//
// Owns: the text of every errc. Must not: do I/O or echo input.

#include "auth/passwd/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace pg::auth {

namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.auth"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::phc_syntax: return "not an argon2id PHC string";
            case errc::unsupported_algorithm: return "hash algorithm not supported (argon2id only)";
            case errc::unsupported_version: return "argon2 version not supported (v=19 only)";
            case errc::bad_number: return "malformed hash parameter";
            case errc::out_of_bounds: return "hash parameter outside the allowed bounds";
            case errc::bad_base64: return "malformed base64 in salt or hash";
            case errc::file_too_large: return "users file too large";
            case errc::line_too_long: return "line too long";
            case errc::too_many_users: return "too many users";
            case errc::missing_separator: return "entry without ':' between name and hash";
            case errc::bad_user_name: return "invalid user name";
            case errc::duplicate_user: return "duplicate user name";
            case errc::bad_parameters: return "argon2 parameters refused";
            case errc::hash_failed: return "password hashing failed";
        }
        return "unknown pg.auth error";
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category instance;
    return instance;
}

void throw_exception_from_error(const ParseError& e, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

std::string describe(const ParseError& e, std::string_view source) {
    std::string out(source);
    if (e.line != 0) {
        if (!out.empty()) out += ':';
        out += std::to_string(e.line);
    }
    if (e.column != 0) {
        if (!out.empty()) out += ':';
        out += std::to_string(e.column);
    }
    if (!out.empty()) out += ": ";
    out += e.message.empty() ? e.code.message() : e.message;
    return out;
}

}  // namespace pg::auth
