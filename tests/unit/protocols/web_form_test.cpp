// SPDX-License-Identifier: Apache-2.0
// pg::web::parse_form and parse_cookies: malformed input first, then the forms the
// release page really receives.
#include <catch2/catch.hpp>

#include <string>

#include "protocols/web/cookie.hpp"
#include "protocols/web/form.hpp"

using pg::web::errc;
using pg::web::Field;
using pg::web::Fields;
using pg::web::parse_cookies;
using pg::web::parse_form;

namespace {
errc code_of(std::string_view input, const pg::web::FormLimits& limits = {}) {
    auto r = parse_form(input, limits);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().message.find("1234") == std::string::npos);  // never echoes input
    return static_cast<errc>(r.error().code.value());
}
}  // namespace

TEST_CASE("form: broken percent escapes are refused", "[web][form]") {
    CHECK(code_of("pin=12%") == errc::bad_escape);
    CHECK(code_of("pin=12%4") == errc::bad_escape);
    CHECK(code_of("pin=%zz1234") == errc::bad_escape);
    CHECK(code_of("pin=%4g") == errc::bad_escape);
    CHECK(code_of("%=1234") == errc::bad_escape);
    auto r = parse_form("a=1&pin=1234%x");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().offset == 12);
}

TEST_CASE("form: decoded text must be UTF-8 without NUL", "[web][form]") {
    CHECK(code_of("pin=%FF") == errc::bad_utf8);
    CHECK(code_of("pin=%C0%AF") == errc::bad_utf8);         // overlong '/'
    CHECK(code_of("pin=%ED%A0%80") == errc::bad_utf8);      // surrogate
    CHECK(code_of("pin=%E2%82") == errc::bad_utf8);         // truncated
    CHECK(code_of("pin=12%0034") == errc::bad_utf8);        // NUL
    CHECK(code_of("na%FFme=x") == errc::bad_utf8);
}

TEST_CASE("form: raw bytes outside printable ASCII are refused", "[web][form]") {
    CHECK(code_of("pin=12 34") == errc::bad_byte);
    CHECK(code_of("pin=1234\r\n") == errc::bad_byte);
    CHECK(code_of("user=j\xC3\xBCrgen") == errc::bad_byte);  // browsers send %C3%BC
    CHECK(code_of(std::string("a=\0", 3)) == errc::bad_byte);
    CHECK(code_of("a=\x7f") == errc::bad_byte);
}

TEST_CASE("form: limits", "[web][form]") {
    pg::web::FormLimits l;
    l.max_bytes = 10;
    CHECK(code_of("a=1234567890", l) == errc::too_long);
    CHECK(parse_form("a=12345678", l).has_value());
    l = {};
    l.max_fields = 3;
    CHECK(code_of("job=1&job=2&job=3&job=4", l) == errc::too_many_fields);
    CHECK(parse_form("job=1&&job=2&job=3&", l).has_value());  // empty fields do not count
    l = {};
    l.max_name = 3;
    CHECK(code_of("abcd=1", l) == errc::name_too_long);
    CHECK(parse_form("%61bc=1", l).has_value());  // decoded length counts
    l = {};
    l.max_value = 4;
    CHECK(code_of("pin=12345", l) == errc::value_too_long);
    CHECK(parse_form("pin=%31%32%33%34", l)->at(0).value == "1234");
    // The default limits take a 16 KiB body with 256 job ids.
    std::string many;
    for (int i = 0; i < 256; ++i) many += "job=" + std::to_string(1000 + i) + "&";
    CHECK(parse_form(many)->size() == 256);
    CHECK(code_of(many + "job=1") == errc::too_many_fields);
    CHECK(code_of(std::string(16 * 1024 + 1, 'a')) == errc::too_long);
}

TEST_CASE("form: fields as browsers send them", "[web][form]") {
    auto r = parse_form("csrf=AbC-_x&method=password&username=j%C3%BCrgen+m&password=p%26ss%3Dw%2Bord%25");
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 4);
    CHECK(r->at(0) == Field{"csrf", "AbC-_x"});
    CHECK(r->at(2) == Field{"username", "j\xC3\xBCrgen m"});
    CHECK(r->at(3) == Field{"password", "p&ss=w+ord%"});
    CHECK(*pg::web::find_field(*r, "method") == "password");
    CHECK(pg::web::find_field(*r, "pin") == nullptr);
}

TEST_CASE("form: repeated names, empty values, no '='", "[web][form]") {
    auto r = parse_form("job=3&printer=hall&job=7&job=&flag&=v&a==b");
    REQUIRE(r.has_value());
    auto jobs = pg::web::find_all(*r, "job");
    REQUIRE(jobs.size() == 3);
    CHECK(jobs[0] == "3");
    CHECK(jobs[1] == "7");
    CHECK(jobs[2].empty());
    CHECK(*pg::web::find_field(*r, "flag") == "");
    CHECK(*pg::web::find_field(*r, "") == "v");
    CHECK(*pg::web::find_field(*r, "a") == "=b");
    CHECK(parse_form("")->empty());
    CHECK(parse_form("&&&")->empty());
}

TEST_CASE("cookies: limits are the only errors", "[web][cookie]") {
    pg::web::CookieLimits l;
    l.max_bytes = 8;
    auto r = parse_cookies("pg_session=abcdef", l);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == pg::web::make_error_code(errc::too_long));
    CHECK(r.error().message.find("abc") == std::string::npos);
    l = {};
    l.max_cookies = 2;
    r = parse_cookies("a=1; b=2; c=3", l);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == pg::web::make_error_code(errc::too_many_fields));
    CHECK(parse_cookies("a=1; b=2;;  ", l).has_value());
}

TEST_CASE("cookies: pairs we cannot read are skipped", "[web][cookie]") {
    auto r = parse_cookies("bad name=1; noequals; =v; sp=a b; q=\"x;y\"; ctl=a\x01; pg_session=tok-EN_1");
    REQUIRE(r.has_value());
    // "q=\"x" is cut at the ';' like any browser would: its unbalanced quote is not a cookie-octet.
    REQUIRE(r->size() == 1);
    CHECK(r->at(0) == Field{"pg_session", "tok-EN_1"});
}

TEST_CASE("cookies: as browsers send them", "[web][cookie]") {
    auto r = parse_cookies("theme=dark;pg_login=\"n0nce\";  pg_session=AAA; pg_session=BBB\t");
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 4);
    CHECK(*pg::web::find_cookie(*r, "pg_login") == "n0nce");
    CHECK(*pg::web::find_cookie(*r, "pg_session") == "AAA");  // the first one
    CHECK(pg::web::find_cookie(*r, "PG_SESSION") == nullptr);  // names are case-sensitive
    CHECK(parse_cookies("")->empty());
    CHECK(*pg::web::find_cookie(*parse_cookies("e="), "e") == "");
}
