// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the users-file and PHC parsers (clang-14 libFuzzer; with GCC it
// links into the corpus-replay test fuzz_replay.users_file). Parsers only: nothing
// here calls libargon2, so every input costs microseconds.
//
// Input: users-file text. It is parsed whole, and its first line (up to LF) is also
// parsed as a lone PHC string. Besides "no crash, no exception", it checks the
// contract of a success: every entry has a name check_user_name accepts, a
// PHC value inside the default bounds that formats and reparses to itself, and is
// found by its name (also upper-cased); for a lone PHC string, format_phc gives back
// exactly the input (accepted strings are canonical). Every error has a code and a
// message, and its line and column lie inside the input.
#include "auth/passwd/phc.hpp"
#include "auth/passwd/users_file.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

std::string upper_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

void check_error(const pg::auth::ParseError& e, std::string_view input) {
    check(static_cast<bool>(e.code));
    check(&e.code.category() == &pg::auth::category());
    check(!e.message.empty());
    check(e.column <= input.size() + 1);
    check(e.line <= input.size() + 1);
}

void check_phc_bounds(const pg::auth::PhcHash& h, const pg::auth::PhcLimits& limits) {
    check(!pg::auth::check_params(h.params, limits));
    check(h.salt.size() >= 8 && h.salt.size() <= limits.max_salt_bytes);
    check(h.hash.size() >= limits.min_hash_bytes && h.hash.size() <= limits.max_hash_bytes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const pg::auth::UsersFileLimits limits;

    const auto table = pg::auth::parse_users_file(input, limits);
    if (table.has_value()) {
        check(table->size() <= limits.max_users);
        for (const auto& e : table->entries()) {
            check(!pg::auth::check_user_name(e.name, limits.max_name_bytes));
            check(e.line >= 1);
            check_phc_bounds(e.hash, limits.phc);
            const std::string phc = pg::auth::format_phc(e.hash);
            const auto again = pg::auth::parse_phc(phc, limits.phc);
            check(again.has_value() && *again == e.hash);
            check(table->find(e.name) == &e);
            check(table->find(upper_ascii(e.name)) == &e);
        }
    } else {
        check_error(table.error(), input);
    }

    const std::string_view first = input.substr(0, input.find('\n'));
    const auto phc = pg::auth::parse_phc(first, limits.phc);
    if (phc.has_value()) {
        check_phc_bounds(*phc, limits.phc);
        check(pg::auth::format_phc(*phc) == first);
    } else {
        check_error(phc.error(), first);
        check(phc.error().line == 0);
    }
    return 0;
}
