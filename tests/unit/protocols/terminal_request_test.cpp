// SPDX-License-Identifier: Apache-2.0
// The terminal API's pure request parser: malformed bodies first, then the good ones.
#include <catch2/catch.hpp>

#include <string>

#include "protocols/terminal/request.hpp"

using namespace pg::terminal;

namespace {

errc code_of(const ParseError& e) { return static_cast<errc>(e.code.value()); }

template <class R>
errc login_error(const R& r) {
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code.category() == category());
    return code_of(r.error());
}

}  // namespace

TEST_CASE("terminal login body: malformed input", "[terminal][parser]") {
    CHECK(login_error(parse_login("")) == errc::bad_json);
    CHECK(login_error(parse_login("{")) == errc::bad_json);
    CHECK(login_error(parse_login("{\"method\":\"pin\",\"pin\":\"1234\"} {}")) == errc::bad_json);
    CHECK(login_error(parse_login("{\"method\":\"pin\",\"pin\":\"1234\",}")) == errc::bad_json);
    CHECK(login_error(parse_login("{\"method\":\"pin\" /* c */,\"pin\":\"1234\"}")) == errc::bad_json);
    CHECK(login_error(parse_login("[1,2]")) == errc::not_object);
    CHECK(login_error(parse_login("\"pin\"")) == errc::not_object);
    CHECK(login_error(parse_login("12")) == errc::not_object);
    CHECK(login_error(parse_login("null")) == errc::not_object);
    CHECK(login_error(parse_login("true")) == errc::not_object);
}

TEST_CASE("terminal login body: UTF-8 is checked", "[terminal][parser]") {
    CHECK(login_error(parse_login("{\"method\":\"password\",\"username\":\"a\xff\",\"password\":\"x\"}")) ==
          errc::not_utf8);
    CHECK(login_error(parse_login("{\"method\":\"password\",\"username\":\"\xc3\",\"password\":\"x\"}")) ==
          errc::not_utf8);
    CHECK(login_error(parse_login("{\"method\":\"password\",\"username\":\"\\ud800\",\"password\":\"x\"}")) ==
          errc::not_utf8);
    // Overlong encodings are not UTF-8 either.
    CHECK(login_error(parse_login("{\"method\":\"password\",\"username\":\"\xc0\xaf\",\"password\":\"x\"}")) ==
          errc::not_utf8);
    auto ok = parse_login("{\"method\":\"password\",\"username\":\"J\xc3\xbcrgen\",\"password\":\"\\u00e9t\xc3\xa9\"}");
    REQUIRE(ok.has_value());
    CHECK(ok->username == "J\xc3\xbcrgen");
    CHECK(ok->password == "\xc3\xa9t\xc3\xa9");
}

TEST_CASE("terminal login body: keys and types", "[terminal][parser]") {
    auto dup = parse_login(R"({"method":"pin","pin":"1234","pin":"9999"})");
    CHECK(login_error(dup) == errc::duplicate_key);
    CHECK(dup.error().field == "pin");
    auto unknown = parse_login(R"({"method":"pin","pin":"1234","remember":true})");
    CHECK(login_error(unknown) == errc::unknown_field);
    CHECK(login_error(parse_login(R"({"method":"pin","pin":1234})")) == errc::wrong_type);
    CHECK(login_error(parse_login(R"({"method":"pin","pin":12.5})")) == errc::wrong_type);
    CHECK(login_error(parse_login(R"({"method":"pin","pin":null})")) == errc::wrong_type);
    CHECK(login_error(parse_login(R"({"method":"pin","pin":["1234"]})")) == errc::wrong_type);
    CHECK(login_error(parse_login(R"({"method":"pin","pin":{"v":"1234"}})")) == errc::wrong_type);
    CHECK(login_error(parse_login(R"({"method":["pin"],"pin":"1"})")) == errc::wrong_type);
    CHECK(login_error(parse_login(R"({"method":"pin","pin":"12\u000034"})")) == errc::bad_value);
    CHECK(login_error(parse_login("{\"method\":\"pin\",\"pin\":\"12\\n34\"}")) == errc::bad_value);
    CHECK(login_error(parse_login("{\"method\":\"pin\",\"pin\":\"12\x7f\"}")) == errc::bad_value);
}

TEST_CASE("terminal login body: methods and their fields", "[terminal][parser]") {
    CHECK(login_error(parse_login("{}")) == errc::missing_field);
    CHECK(login_error(parse_login(R"({"method":"face","pin":"1"})")) == errc::bad_value);
    CHECK(login_error(parse_login(R"({"method":"PIN","pin":"1"})")) == errc::bad_value);
    CHECK(login_error(parse_login(R"({"method":"pin"})")) == errc::missing_field);
    CHECK(login_error(parse_login(R"({"method":"pin","pin":""})")) == errc::missing_field);
    auto extra = parse_login(R"({"method":"pin","pin":"1234","password":"x"})");
    CHECK(login_error(extra) == errc::not_used);
    CHECK(extra.error().field == "password");
    CHECK(login_error(parse_login(R"({"method":"password","password":"x"})")) == errc::missing_field);
    CHECK(login_error(parse_login(R"({"method":"card_pin","card":"04A1"})")) == errc::missing_field);
    CHECK(login_error(parse_login(R"({"method":"card_password","card":"04A1","username":"a","password":"x"})")) ==
          errc::not_used);

    auto pin = parse_login(R"({"pin":"1234","method":"pin"})");
    REQUIRE(pin.has_value());
    CHECK(pin->method == Method::pin);
    CHECK(pin->pin == "1234");
    CHECK(pin->card.empty());
    auto card = parse_login(R"({"method":"card","card":"de ad be ef"})");
    REQUIRE(card.has_value());
    CHECK(card->method == Method::card);
    CHECK(card->card == "de ad be ef");
    auto pw = parse_login(" \r\n\t{ \"method\" : \"password\", \"username\":\"alice\",\"password\":\"a\\\"b\" }\n");
    REQUIRE(pw.has_value());
    CHECK(pw->method == Method::password);
    CHECK(pw->username == "alice");
    CHECK(pw->password == "a\"b");
    auto cp = parse_login(R"({"method":"card_pin","card":"04A1B2C3","pin":"1234"})");
    REQUIRE(cp.has_value());
    CHECK((cp->method == Method::card_pin && cp->card == "04A1B2C3" && cp->pin == "1234"));
    auto cw = parse_login(R"({"method":"card_password","card":"04A1B2C3","password":"pw"})");
    REQUIRE(cw.has_value());
    CHECK((cw->method == Method::card_password && cw->password == "pw"));
    for (Method m : {Method::card, Method::pin, Method::password, Method::card_pin, Method::card_password})
        CHECK(!to_string(m).empty());
}

TEST_CASE("terminal login body: limits, and no secret in an error", "[terminal][parser]") {
    RequestLimits small;
    small.max_field = 8;
    small.max_body = 64;
    auto r = parse_login(R"({"method":"pin","pin":"123456789"})", small);
    CHECK(login_error(r) == errc::field_too_long);
    CHECK(r.error().field == "pin");
    CHECK(parse_login(R"({"method":"pin","pin":"12345678"})", small).has_value());
    const std::string big = R"({"method":"pin","pin":")" + std::string(100, '7') + "\"}";
    CHECK(login_error(parse_login(big, small)) == errc::too_large);
    // A secret never appears in an error message, whatever the error.
    const char* secret = "S3cr3t-Pa55";
    for (std::string body : {std::string(R"({"method":"pin","pin":"S3cr3t-Pa55","pin":"x"})"),
                             std::string(R"({"method":"pin","pin":"S3cr3t-Pa55","password":"S3cr3t-Pa55"})"),
                             std::string(R"({"method":"S3cr3t-Pa55"})"),
                             std::string(R"({"S3cr3t-Pa55":"1"})"),
                             std::string(R"({"method":"pin","pin":"S3cr3t-Pa55\u0001"})"),
                             std::string(R"({"method":"pin","pin":"S3cr3t-Pa55")")}) {
        auto e = parse_login(body);
        REQUIRE_FALSE(e.has_value());
        CHECK(e.error().message.find(secret) == std::string::npos);
        CHECK(e.error().field.find(secret) == std::string::npos);
    }
}

TEST_CASE("terminal login body: wipe", "[terminal][parser]") {
    auto r = parse_login(R"({"method":"card_pin","card":"04A1B2C3","pin":"1234"})");
    REQUIRE(r.has_value());
    LoginBody b = std::move(*r);
    CHECK(r->card.empty());
    CHECK(b.card == "04A1B2C3");
    b.wipe();
    CHECK(b.card.empty());
    CHECK(b.pin.empty());
    std::string s = "a long secret that does not fit in the small buffer";
    const char* data = s.data();
    const auto cap = s.capacity();
    wipe_string(s);
    CHECK(s.empty());
    CHECK(s.data() == data);
    CHECK(std::string(data, cap).find_first_not_of('\0') == std::string::npos);
}

TEST_CASE("terminal release and delete bodies", "[terminal][parser]") {
    auto r = parse_release(R"({"jobs":[3,1,2],"printer":"hall"})");
    REQUIRE(r.has_value());
    CHECK(r->jobs == std::vector<std::uint64_t>{3, 1, 2});
    CHECK_FALSE(r->all);
    CHECK(r->printer == "hall");
    auto all = parse_release(R"({"printer":"hall","jobs":"all"})");
    REQUIRE(all.has_value());
    CHECK((all->all && all->jobs.empty()));
    CHECK(parse_release(R"({"jobs":[9007199254740991],"printer":"p"})").has_value());

    CHECK(code_of(parse_release(R"({"jobs":"some","printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":[1],"printer":""})").error()) == errc::missing_field);
    CHECK(code_of(parse_release(R"({"jobs":[1]})").error()) == errc::missing_field);
    CHECK(code_of(parse_release(R"({"printer":"p"})").error()) == errc::missing_field);
    CHECK(code_of(parse_release(R"({"jobs":[],"printer":"p"})").error()) == errc::missing_field);
    CHECK(code_of(parse_release(R"({"jobs":[1,1],"printer":"p"})").error()) == errc::duplicate_job);
    CHECK(code_of(parse_release(R"({"jobs":[0],"printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":[-4],"printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":[1.5],"printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":[1e3],"printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":[9007199254740992],"printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":[18446744073709551616],"printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":["1"],"printer":"p"})").error()) == errc::wrong_type);
    CHECK(code_of(parse_release(R"({"jobs":[[1]],"printer":"p"})").error()) == errc::wrong_type);
    CHECK(code_of(parse_release(R"({"jobs":[{"id":1}],"printer":"p"})").error()) == errc::wrong_type);
    CHECK(code_of(parse_release(R"({"jobs":[true],"printer":"p"})").error()) == errc::bad_value);
    CHECK(code_of(parse_release(R"({"jobs":1,"printer":"p"})").error()) == errc::wrong_type);
    CHECK(code_of(parse_release(R"({"jobs":[1],"printer":["p"]})").error()) == errc::wrong_type);
    CHECK(code_of(parse_release(R"({"jobs":[1],"printer":"p","jobs":[2]})").error()) == errc::duplicate_key);
    CHECK(code_of(parse_release(R"({"jobs":[1],"printer":"p","copies":2})").error()) == errc::unknown_field);

    RequestLimits two;
    two.max_jobs = 2;
    CHECK(parse_release(R"({"jobs":[1,2],"printer":"p"})", two).has_value());
    CHECK(code_of(parse_release(R"({"jobs":[1,2,3],"printer":"p"})", two).error()) == errc::too_many_jobs);
    std::string hundred_one = R"({"printer":"p","jobs":[)";
    for (int i = 1; i <= 101; ++i) hundred_one += std::to_string(i) + (i < 101 ? "," : "]}");
    CHECK(code_of(parse_release(hundred_one).error()) == errc::too_many_jobs);

    auto d = parse_delete(R"({"jobs":[7]})");
    REQUIRE(d.has_value());
    CHECK(d->jobs == std::vector<std::uint64_t>{7});
    CHECK(code_of(parse_delete(R"({"jobs":"all"})").error()) == errc::bad_value);
    CHECK(code_of(parse_delete(R"({"jobs":[7],"printer":"p"})").error()) == errc::unknown_field);
    CHECK(code_of(parse_delete("{}").error()) == errc::missing_field);
}

TEST_CASE("terminal routes", "[terminal][parser]") {
    CHECK(parse_route("POST", "/api/v1/sessions").endpoint == Endpoint::login);
    CHECK(parse_route("POST", "/api/v1/sessions/").endpoint == Endpoint::login);
    CHECK(parse_route("DELETE", "/api/v1/sessions/current").endpoint == Endpoint::logout);
    CHECK(parse_route("GET", "/api/v1/jobs").endpoint == Endpoint::list_jobs);
    CHECK(parse_route("GET", "/api/v1/jobs?x=1").endpoint == Endpoint::list_jobs);
    CHECK(parse_route("GET", "/api/v1/printers").endpoint == Endpoint::list_printers);
    CHECK(parse_route("POST", "/api/v1/jobs/release").endpoint == Endpoint::release_jobs);
    CHECK(parse_route("POST", "/api/v1/jobs/delete").endpoint == Endpoint::delete_jobs);
    auto st = parse_route("GET", "/api/v1/jobs/42");
    CHECK((st.endpoint == Endpoint::job_status && st.job == 42));
    auto del = parse_route("DELETE", "/api/v1/jobs/9007199254740991");
    CHECK((del.endpoint == Endpoint::delete_job && del.job == max_job_id));
    auto bad = parse_route("GET", "/api/v1/sessions");
    CHECK((bad.endpoint == Endpoint::bad_method && bad.allow == "POST"));
    CHECK(parse_route("PUT", "/api/v1/jobs/3").allow == "GET, DELETE");
    for (const char* t : {"/api/v1/jobs/0", "/api/v1/jobs/01", "/api/v1/jobs/-1", "/api/v1/jobs/+1",
                          "/api/v1/jobs/9007199254740992", "/api/v1/jobs/1a", "/api/v2/jobs",
                          "/api/v1", "/api/v1/", "/", "/api/v1/jobs/1/2", "/api/v1/../v1/jobs"})
        CHECK(parse_route("GET", t).endpoint == Endpoint::not_found);
}
