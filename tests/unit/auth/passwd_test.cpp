// SPDX-License-Identifier: Apache-2.0
// Unit tests for auth/passwd: PHC strings (parse, format, bounds), the users file
// (format and errors with line numbers), argon2id verification, the Authenticator.
//
// Known answers: the PHC strings below were printed by the `argon2` CLI of Debian 12's
// `argon2` package (0~20171227-0.3+deb12u1), a program independent of this code:
//   printf '%s' 'correct horse' | argon2 printgate-kat-salt -id -t 2 -k 1024 -p 1 -l 32 -e
//   printf '%s' 'pässwörd:with colon' | argon2 saltsaltsalt -id -t 1 -k 64 -p 2 -l 16 -e
//   printf '%s' 'x' | argon2 versionten -id -t 1 -k 64 -p 1 -v 10 -e
//   printf '%s' 'x' | argon2 argon2isalt -i -t 1 -k 64 -p 1 -e
// Costs are kept tiny (m <= 1024 KiB; one default-cost hash for the empty table) so the
// whole file runs in well under a second.
#include "auth/passwd/authenticator.hpp"
#include "auth/passwd/password_hash.hpp"
#include "auth/passwd/phc.hpp"
#include "auth/passwd/users_file.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace auth = pg::auth;
using auth::errc;

namespace {

constexpr std::string_view kKat1 =
    "$argon2id$v=19$m=1024,t=2,p=1$cHJpbnRnYXRlLWthdC1zYWx0$cg2YubCaZjn+BRw/H2F91d0ViR22WRrg0gL8Y85E6UM";
constexpr std::string_view kKat1Password = "correct horse";
constexpr std::string_view kKat2 = "$argon2id$v=19$m=64,t=1,p=2$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww";
constexpr std::string_view kKat2Password = "p\xC3\xA4ssw\xC3\xB6rd:with colon";
constexpr std::string_view kVersion16 =
    "$argon2id$v=16$m=64,t=1,p=1$dmVyc2lvbnRlbg$R8b1kIc5RqVDfW3qa+vqfaTRZP7hpxzcEihwtkQoPBA";
constexpr std::string_view kArgon2i =
    "$argon2i$v=19$m=64,t=1,p=1$YXJnb24yaXNhbHQ$NNE3z8/W0NU0vIaxN771Lnk79NnEVzOXgaZYz6T+GWA";

// A cheap cost for hashes made in tests.
constexpr auth::Argon2Params kCheap{64, 1, 1};

std::vector<std::byte> bytes_of(std::string_view s) {
    std::vector<std::byte> out;
    for (char c : s) out.push_back(static_cast<std::byte>(c));
    return out;
}

auth::PhcHash parsed(std::string_view s) {
    auto r = auth::parse_phc(s);
    INFO(s);
    if (!r.has_value()) FAIL(auth::describe(r.error(), "phc"));
    return *r;
}

// Expects parse_phc to fail with `code` at `column`.
void expect_phc_error(std::string_view text, errc code, std::size_t column,
                      const auth::PhcLimits& limits = {}) {
    INFO("input: " << text);
    auto r = auth::parse_phc(text, limits);
    REQUIRE_FALSE(r.has_value());
    INFO("got: " << auth::describe(r.error(), "phc"));
    CHECK(r.error().code == auth::make_error_code(code));
    CHECK(r.error().column == column);
    CHECK(r.error().line == 0);
    CHECK_FALSE(r.error().message.empty());
}

// Expects parse_users_file to fail with `code` at line:column.
auth::ParseError expect_file_error(std::string_view text, errc code, std::size_t line, std::size_t column,
                                   const auth::UsersFileLimits& limits = {}) {
    auto r = auth::parse_users_file(text, limits);
    REQUIRE_FALSE(r.has_value());
    INFO("got: " << auth::describe(r.error(), "users"));
    CHECK(r.error().code == auth::make_error_code(code));
    CHECK(r.error().line == line);
    CHECK(r.error().column == column);
    return r.error();
}

std::string cheap_phc(std::string_view password) {
    auto h = auth::hash_password(password, kCheap);
    REQUIRE(h.has_value());
    return auth::format_phc(*h);
}

}  // namespace

TEST_CASE("pg.auth error category", "[passwd]") {
    CHECK(std::string(auth::category().name()) == "pg.auth");
    CHECK(auth::make_error_code(errc::duplicate_user).message() == "duplicate user name");
    const auth::ParseError e{auth::make_error_code(errc::bad_user_name), 3, 7, "user name contains ':'"};
    CHECK(auth::describe(e, "/etc/printgate/users") == "/etc/printgate/users:3:7: user name contains ':'");
    CHECK(auth::describe(auth::ParseError{auth::make_error_code(errc::file_too_large), 0, 0, {}}, "u") ==
          "u: users file too large");
}

TEST_CASE("unpadded base64 round trip and refusals", "[passwd][phc]") {
    for (std::string_view s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        const auto enc = auth::encode_base64_unpadded(bytes_of(s));
        const auto dec = auth::decode_base64_unpadded(enc);
        REQUIRE(dec.has_value());
        CHECK(*dec == bytes_of(s));
    }
    CHECK(auth::encode_base64_unpadded(bytes_of("foobar")) == "Zm9vYmFy");
    CHECK(auth::encode_base64_unpadded(bytes_of("fo")) == "Zm8");
    CHECK(auth::encode_base64_unpadded(bytes_of("\xff\xfe")) == "//4");
    CHECK_FALSE(auth::decode_base64_unpadded("Zm8=").has_value());   // padding
    CHECK_FALSE(auth::decode_base64_unpadded("Zm9vY").has_value());  // 4k+1 characters
    CHECK_FALSE(auth::decode_base64_unpadded("Zm9").has_value());    // non-zero trailing bits
    CHECK_FALSE(auth::decode_base64_unpadded("Zg-_").has_value());   // URL-safe alphabet
    CHECK_FALSE(auth::decode_base64_unpadded("Zm 8").has_value());
}

TEST_CASE("PHC strings from the argon2 CLI parse and format back", "[passwd][phc][kat]") {
    const auto a = parsed(kKat1);
    CHECK(a.params == auth::Argon2Params{1024, 2, 1});
    CHECK(a.salt == bytes_of("printgate-kat-salt"));
    CHECK(a.hash.size() == 32);
    CHECK(auth::format_phc(a) == kKat1);

    const auto b = parsed(kKat2);
    CHECK(b.params == auth::Argon2Params{64, 1, 2});
    CHECK(b.salt == bytes_of("saltsaltsalt"));
    CHECK(b.hash.size() == 16);
    CHECK(auth::format_phc(b) == kKat2);
}

TEST_CASE("argon2id verification matches the argon2 CLI", "[passwd][kat]") {
    const auto a = parsed(kKat1);
    auto ok = auth::verify_password(a, kKat1Password);
    REQUIRE(ok.has_value());
    CHECK(*ok);
    auto wrong = auth::verify_password(a, "correct horsf");
    REQUIRE(wrong.has_value());
    CHECK_FALSE(*wrong);
    auto empty = auth::verify_password(a, "");
    REQUIRE(empty.has_value());
    CHECK_FALSE(*empty);

    const auto b = parsed(kKat2);  // p=2, a 16-byte tag, UTF-8 and ':' in the password
    auto ok2 = auth::verify_password(b, kKat2Password);
    REQUIRE(ok2.has_value());
    CHECK(*ok2);
    auto prefix = auth::verify_password(b, kKat2Password.substr(0, kKat2Password.size() - 1));
    REQUIRE(prefix.has_value());
    CHECK_FALSE(*prefix);
}

TEST_CASE("PHC syntax errors name the field", "[passwd][phc]") {
    expect_phc_error("", errc::phc_syntax, 1);
    expect_phc_error("argon2id$v=19", errc::phc_syntax, 1);
    expect_phc_error(kArgon2i, errc::unsupported_algorithm, 2);
    expect_phc_error("$argon2d$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::unsupported_algorithm, 2);
    expect_phc_error("$2y$10$abcdefghijklmnopqrstuv", errc::unsupported_algorithm, 2);
    expect_phc_error("$argon2id", errc::phc_syntax, 10);
    expect_phc_error(kVersion16, errc::unsupported_version, 11);
    expect_phc_error("$argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::unsupported_version, 11);
    expect_phc_error("$argon2id$v=019$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::bad_number, 13);
    expect_phc_error("$argon2id$v=19", errc::phc_syntax, 15);
    // Parameters: order, keys, numbers, extras.
    expect_phc_error("$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::phc_syntax, 16);
    expect_phc_error("$argon2id$v=19$m=64$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww", errc::phc_syntax, 20);
    expect_phc_error("$argon2id$v=19$m=64,t=1;p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::bad_number, 23);
    expect_phc_error("$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::bad_number, 18);
    expect_phc_error("$argon2id$v=19$m=+64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::bad_number, 18);
    expect_phc_error("$argon2id$v=19$m=,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww", errc::bad_number,
                     18);
    expect_phc_error("$argon2id$v=19$m=4294967296,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::bad_number, 18);
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1,keyid=x$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::phc_syntax, 28);
    // Salt and hash.
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1", errc::phc_syntax, 28);
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0", errc::phc_syntax, 45);
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww$",
                     errc::phc_syntax, 68);
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0=$qSg5Kbr6XGT0ECVZDJg4Ww",
                     errc::bad_base64, 29);
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww ",
                     errc::bad_base64, 46);
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Wx",
                     errc::bad_base64, 46);  // non-zero trailing bits: not canonical
    expect_phc_error(std::string(600, 'A'), errc::out_of_bounds, 1);
}

TEST_CASE("PHC bounds refuse costs that would let a users file exhaust the daemon", "[passwd][phc][bounds]") {
    const std::string tail = "$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww";
    auto with = [&](std::string_view params) { return "$argon2id$v=19$" + std::string(params) + tail; };
    // At the defaults' edges: accepted.
    CHECK(auth::parse_phc(with("m=262144,t=4,p=8")).has_value());
    CHECK(auth::parse_phc(with("m=65536,t=16,p=1")).has_value());
    CHECK(auth::parse_phc(with("m=8,t=1,p=1")).has_value());
    CHECK(auth::parse_phc(with("m=64,t=1,p=8")).has_value());
    // One past: refused, pointing at the parameter.
    expect_phc_error(with("m=262145,t=1,p=1"), errc::out_of_bounds, 16);
    expect_phc_error(with("m=4294967295,t=1,p=1"), errc::out_of_bounds, 16);
    expect_phc_error(with("m=64,t=17,p=1"), errc::out_of_bounds, 21);
    expect_phc_error(with("m=64,t=4294967295,p=1"), errc::out_of_bounds, 21);
    expect_phc_error(with("m=64,t=0,p=1"), errc::out_of_bounds, 21);
    expect_phc_error(with("m=64,t=1,p=9"), errc::out_of_bounds, 25);
    expect_phc_error(with("m=64,t=1,p=0"), errc::out_of_bounds, 25);
    expect_phc_error(with("m=7,t=1,p=1"), errc::out_of_bounds, 16);   // libargon2 minimum
    expect_phc_error(with("m=63,t=1,p=8"), errc::out_of_bounds, 16);  // m >= 8 * p
    expect_phc_error(with("m=262144,t=5,p=1"), errc::out_of_bounds, 25);  // t * m over 1 GiB
    // Salt and tag lengths.
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbA$qSg5Kbr6XGT0ECVZDJg4Ww", errc::out_of_bounds,
                     29);  // 7-byte salt
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$$qSg5Kbr6XGT0ECVZDJg4Ww", errc::out_of_bounds, 29);
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4", errc::out_of_bounds,
                     46);  // 15-byte tag
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$", errc::out_of_bounds, 46);
    // Limits are parameters: a caller may tighten them, but never below libargon2's minima.
    auth::PhcLimits tight;
    tight.max_memory_kib = 1024;
    tight.max_work_kib = 1024;
    expect_phc_error(kKat1, errc::out_of_bounds, 23, tight);  // t * m = 2048
    auth::PhcLimits loose;
    loose.min_salt_bytes = 0;
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbA$qSg5Kbr6XGT0ECVZDJg4Ww", errc::out_of_bounds, 29,
                     loose);
    loose.min_hash_bytes = 0;
    expect_phc_error("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$YWJj", errc::out_of_bounds, 46, loose);
    CHECK(auth::parse_phc("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$YWJjZA", loose).has_value());
    std::string why;
    CHECK(auth::check_params({262145, 1, 1}, {}, &why) == auth::make_error_code(errc::out_of_bounds));
    CHECK(why.find("262144") != std::string::npos);
    CHECK_FALSE(auth::check_params(auth::kDefaultParams, {}));
}

TEST_CASE("hash_password makes salted PHC strings that verify", "[passwd]") {
    auto h = auth::hash_password("s3cret", kCheap);
    REQUIRE(h.has_value());
    CHECK(h->params == kCheap);
    CHECK(h->salt.size() == auth::kSaltBytes);
    CHECK(h->hash.size() == auth::kHashBytes);
    const auto round = parsed(auth::format_phc(*h));
    CHECK(round == *h);
    auto ok = auth::verify_password(round, "s3cret");
    REQUIRE(ok.has_value());
    CHECK(*ok);

    auto again = auth::hash_password("s3cret", kCheap);
    REQUIRE(again.has_value());
    CHECK(again->salt != h->salt);  // fresh salt each time
    CHECK(again->hash != h->hash);

    CHECK(auth::hash_password("x", {7, 1, 1}).error() == auth::make_error_code(errc::bad_parameters));
    CHECK(auth::hash_password("x", {300000, 1, 1}).error() == auth::make_error_code(errc::bad_parameters));
    CHECK(auth::hash_password(std::string(auth::kMaxSecretBytes + 1, 'a'), kCheap).error() ==
          auth::make_error_code(errc::bad_parameters));
    CHECK(auth::kDefaultParams == auth::Argon2Params{19456, 2, 1});
}

TEST_CASE("check_user_name", "[passwd][users]") {
    for (std::string_view good : {"alice", "Jane Doe", "j.doe@example.org", "DOMAIN\\bob", "caf\xC3\xA9",
                                  "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x96\xA8", "a#b"}) {
        INFO(good);
        CHECK_FALSE(auth::check_user_name(good).has_value());
    }
    struct Bad {
        std::string_view name;
        std::size_t offset;
    };
    for (const Bad& bad : {Bad{"", 0}, Bad{" alice", 0}, Bad{"alice ", 5}, Bad{"#alice", 0}, Bad{"a:b", 1},
                           Bad{"a\tb", 1}, Bad{"a\x7f", 1}, Bad{"a\xC2\x85", 1},        // NEL (C1)
                           Bad{"ab\xE2\x80\xAE", 2},                                   // RIGHT-TO-LEFT OVERRIDE
                           Bad{"a\xE2\x80\x8B", 1},                                    // ZERO WIDTH SPACE
                           Bad{"a\xE2\x80\xA8", 1},                                    // LINE SEPARATOR
                           Bad{"\xEF\xBB\xBF" "a", 0},                                 // BOM
                           Bad{"a\xC0\xAF", 1},                                        // overlong '/'
                           Bad{"a\xED\xA0\x80", 1},                                    // surrogate
                           Bad{"a\xF4\x90\x80\x80", 1},                                // above U+10FFFF
                           Bad{"a\xC3", 1},                                            // truncated
                           Bad{"a\x80", 1}}) {
        INFO(bad.name);
        const auto p = auth::check_user_name(bad.name);
        REQUIRE(p.has_value());
        CHECK(p->offset == bad.offset);
    }
    CHECK_FALSE(auth::check_user_name(std::string(255, 'a')).has_value());
    CHECK(auth::check_user_name(std::string(256, 'a')).has_value());
    CHECK(auth::check_user_name(std::string(std::string_view(std::string(2, 'a'))), 1).has_value());
}

TEST_CASE("users file: comments, blanks, CRLF, BOM and case-insensitive lookup", "[passwd][users]") {
    const std::string text = "\xEF\xBB\xBF# printgate users\n"
                             "\n"
                             "alice:" + std::string(kKat1) + "\r\n"
                             "   \t\n"
                             "  # indented comment\n"
                             "Bob Smith:" + std::string(kKat2) + "  \t\n"
                             "caf\xC3\xA9:" + std::string(kKat1);  // no final newline
    auto r = auth::parse_users_file(text);
    if (!r.has_value()) FAIL(auth::describe(r.error(), "users"));
    const auto& table = *r;
    REQUIRE(table.size() == 3);
    CHECK(table.entries()[0].name == "alice");
    CHECK(table.entries()[0].line == 3);
    CHECK(table.entries()[1].name == "Bob Smith");
    CHECK(table.entries()[1].line == 6);
    CHECK(table.entries()[2].line == 7);
    CHECK(table.entries()[1].hash == parsed(kKat2));
    REQUIRE(table.find("BOB SMITH") != nullptr);
    CHECK(table.find("BOB SMITH")->name == "Bob Smith");
    CHECK(table.find("ALICE") == &table.entries()[0]);
    CHECK(table.find("caf\xC3\xA9") != nullptr);
    CHECK(table.find("CAF\xC3\x89") == nullptr);  // non-ASCII compares exactly
    CHECK(table.find("carol") == nullptr);
    CHECK(table.find("") == nullptr);

    auto empty = auth::parse_users_file("# nobody yet\n\n");
    REQUIRE(empty.has_value());
    CHECK(empty->empty());
}

TEST_CASE("users file errors carry line and column", "[passwd][users]") {
    const std::string k1(kKat1);
    expect_file_error("alice " + k1 + "\n", errc::missing_separator, 1, 1);
    expect_file_error("# c\nalice:" + k1 + "\n\n:" + k1 + "\n", errc::bad_user_name, 4, 1);
    expect_file_error(" alice:" + k1, errc::bad_user_name, 1, 1);
    expect_file_error("al\x01ice:" + k1, errc::bad_user_name, 1, 3);
    expect_file_error("al\xFFice:" + k1, errc::bad_user_name, 1, 3);
    expect_file_error("a\rb:" + k1, errc::bad_user_name, 1, 2);
    expect_file_error(std::string(256, 'a') + ":" + k1, errc::bad_user_name, 1, 1);
    // A PHC error is reported at its column in the line.
    expect_file_error("alice:" + k1 + "\nbob:$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww\n",
                      errc::unsupported_algorithm, 2, 6);
    expect_file_error("bob:$argon2id$v=19$m=999999,t=1,p=1$c2FsdHNhbHRzYWx0$qSg5Kbr6XGT0ECVZDJg4Ww\n",
                      errc::out_of_bounds, 1, 20);
    expect_file_error("bob:\n", errc::phc_syntax, 1, 5);
    expect_file_error("bob:" + k1 + " # comment\n", errc::bad_base64, 1, 60);  // the hash field
    // Duplicates, ignoring ASCII case; the message names the first line.
    const auto dup = expect_file_error("alice:" + k1 + "\n#\nbob:" + k1 + "\nALICE:" + k1 + "\n",
                                       errc::duplicate_user, 4, 1);
    CHECK(dup.message.find("line 1") != std::string::npos);
    // No input bytes in messages.
    CHECK(dup.message.find("alice") == std::string::npos);
    CHECK(dup.message.find("ALICE") == std::string::npos);
}

TEST_CASE("users file limits", "[passwd][users][bounds]") {
    const std::string k1(kKat1);
    auth::UsersFileLimits limits;
    limits.max_file_bytes = 100;
    expect_file_error(std::string(101, '#'), errc::file_too_large, 0, 0, limits);
    CHECK(auth::parse_users_file(std::string(100, '#'), limits).has_value());

    limits = {};
    limits.max_line_bytes = 50;
    expect_file_error("#\n" + std::string(51, '#') + "\n", errc::line_too_long, 2, 51, limits);
    CHECK(auth::parse_users_file(std::string(50, '#') + "\r\n", limits).has_value());  // CR not counted

    limits = {};
    limits.max_users = 2;
    expect_file_error("a:" + k1 + "\nb:" + k1 + "\nc:" + k1 + "\n", errc::too_many_users, 3, 1, limits);

    limits = {};
    limits.max_name_bytes = 3;
    expect_file_error("abcd:" + k1, errc::bad_user_name, 1, 1, limits);

    limits = {};
    limits.phc.max_memory_kib = 512;
    expect_file_error("a:" + k1, errc::out_of_bounds, 1, 18, limits);
}

TEST_CASE("UsersFileAuthenticator: ok, wrong, unknown", "[passwd][authenticator]") {
    const std::string text = "alice:" + cheap_phc("alice-pw") + "\n" + "Bob:" + cheap_phc("bob-pw") + "\n" +
                             "kat:" + std::string(kKat1) + "\n";
    auto table = auth::parse_users_file(text);
    REQUIRE(table.has_value());
    auth::UsersFileAuthenticator authn(std::move(*table));
    auth::Authenticator& a = authn;

    auto v = a.verify("alice", "alice-pw");
    CHECK(v.status == auth::Verdict::Status::ok);
    CHECK(v.ok());
    CHECK(v.user == "alice");

    v = a.verify("bob", "bob-pw");  // canonical spelling comes back
    CHECK(v.ok());
    CHECK(v.user == "Bob");

    v = a.verify("kat", kKat1Password);
    CHECK(v.ok());
    CHECK(v.user == "kat");

    const auth::Verdict wrong = a.verify("alice", "bob-pw");
    const auth::Verdict unknown = a.verify("mallory", "alice-pw");
    const auth::Verdict empty = a.verify("alice", "");
    const auth::Verdict huge = a.verify("alice", std::string(auth::kMaxSecretBytes + 1, 'x'));
    const auth::Verdict no_name = a.verify("", "alice-pw");
    const auth::Verdict bad_name = a.verify("ali:ce", "alice-pw");
    const auth::Verdict long_name = a.verify(std::string(100000, 'a'), "alice-pw");
    for (const auth::Verdict& d : {wrong, unknown, empty, huge, no_name, bad_name, long_name}) {
        CHECK(d.status == auth::Verdict::Status::denied);
        CHECK(d.user.empty());
    }
    // The dummy cost for unknown names is the cost most entries use.
    CHECK(authn.dummy_params() == kCheap);
}

TEST_CASE("UsersFileAuthenticator dummy cost follows the file", "[passwd][authenticator]") {
    auth::UsersFileAuthenticator none(auth::UsersTable{});
    CHECK(none.dummy_params() == auth::kDefaultParams);
    // An unknown user against an empty table pays a full default-cost hash.
    CHECK(none.verify("anyone", "pw").status == auth::Verdict::Status::denied);

    const auto k1 = std::string(kKat1);
    auto table = auth::parse_users_file("a:" + k1 + "\nb:" + std::string(kKat2) + "\nc:" + k1 + "\n");
    REQUIRE(table.has_value());
    auth::UsersFileAuthenticator two_kinds(std::move(*table));
    CHECK(two_kinds.dummy_params() == auth::Argon2Params{1024, 2, 1});
}

TEST_CASE("UsersFileAuthenticator verifies from many threads at once", "[passwd][authenticator][threads]") {
    auto table = auth::parse_users_file("u0:" + cheap_phc("pw0") + "\nu1:" + cheap_phc("pw1") + "\n");
    REQUIRE(table.has_value());
    auth::UsersFileAuthenticator authn(std::move(*table));
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 25; ++i) {
                const std::string user = "u" + std::to_string((t + i) % 2);
                const std::string right = "pw" + std::to_string((t + i) % 2);
                if (!authn.verify(user, right).ok()) ++failures;
                if (authn.verify(user, "nope").ok()) ++failures;
                if (authn.verify("ghost", right).ok()) ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(failures.load() == 0);
}
