// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/upstream: MyqUpstream against a scripted in-process
// HTTPS server (upstream_test_server.hpp) on loopback, and load_credentials.
// Every test runs one io_context on the test thread with a hard 10 s guard;
// deadlines are at most 2 s and nothing sleeps.
#include "gateway/upstream/myq_upstream.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>

#include "gateway/upstream/credentials.hpp"
#include "tests/unit/gateway/upstream_test_server.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;
using pg::test::json_reply;
using pg::test::Reply;
using pg::test::Seen;
using pg::test::TestServer;
using pg::upstream::errc;
using pg::upstream::Failure;
using pg::upstream::MyqUpstream;

namespace {

constexpr const char* kSecret = "s3cret-CLIENT-7f2a";
constexpr const char* kToken = "tok-AAAA-";  // every token the server issues starts so

pg::upstream::ClientCredentials credentials() {
    pg::upstream::ClientCredentials c;
    c.client_id = "gw-test";
    c.client_secret = pg::upstream::Secret(kSecret);
    return c;
}

pg::conf::UpstreamConfig config_for(const std::string& url, const std::string& ca_file) {
    pg::conf::UpstreamConfig c;
    c.url = url;
    c.ca_file = ca_file;
    c.gateway_id = "gw-test.1";
    c.probe_timeout = 2s;
    c.request_timeout = 2s;
    return c;
}

// No Failure message may carry a secret: the client secret, a token, a user credential.
void check_clean(const Failure& f) {
    for (const char* secret : {kSecret, kToken, "pin-ok-4711", "pin-bad-0000", "pin-off-9999", "alice-pw", "AAECAwQFBgcICQoL"}) {
        INFO("message: " << f.message);
        CHECK(f.message.find(secret) == std::string::npos);
    }
    CHECK(!f.message.empty());
}

int token_serial = 0;

// The server's token endpoint: client credentials must be right; a new token each time.
Reply token_reply(const Seen& s, int expires_in = 3600) {
    auto body = json::parse(s.body).as_object();
    if (body.at("grant_type") != "client_credentials") return json_reply(400, R"({"error":"unsupported_grant_type"})");
    if (body.at("client_id") != "gw-test" || body.at("client_secret") != kSecret)
        return json_reply(401, R"({"error":"invalid_client"})");
    CHECK(body.at("scope") == "gateway users accounting");
    CHECK(s.header("authorization").empty());
    return json_reply(200, R"({"access_token":")" + std::string(kToken) + std::to_string(++token_serial) +
                               R"(","token_type":"Bearer","expires_in":)" + std::to_string(expires_in) +
                               R"(,"scope":"gateway users accounting"})");
}

Reply status_ok() {
    return json_reply(200, R"({"status":"ok","server_time":"2025-01-31T09:15:02Z","version":"standin 1"})");
}

bool is_token_request(const Seen& s) { return s.target == "/api/auth/token" && s.body.find("client_credentials") != std::string::npos; }

// One test's world: certificates, the io_context, the server, and the adapter.
struct World {
    pg::test::Pki pki;
    asio::io_context ioc;
    TestServer server{ioc, pki.leaf};
    pg::conf::UpstreamConfig config = config_for(server.url(), pki.ca_file);
    std::optional<MyqUpstream> up;

    MyqUpstream& upstream() {
        if (!up) up.emplace(ioc.get_executor(), config, credentials());
        return *up;
    }

    // Runs `test` to completion on the io_context (10 s guard) and rethrows its failure.
    template <class F>
    void run(F test) {
        bool done = false;
        std::exception_ptr failure;
        asio::co_spawn(ioc, test(), [&](std::exception_ptr e) {
            failure = e;
            done = true;
            ioc.stop();
        });
        ioc.run_for(10s);
        REQUIRE(done);
        if (failure) std::rethrow_exception(failure);
    }
};

// The standard handler: tokens, and `route` for everything else (under a valid bearer).
std::function<Reply(const Seen&)> with_tokens(std::function<Reply(const Seen&)> route, int expires_in = 3600) {
    return [route = std::move(route), expires_in](const Seen& s) {
        if (is_token_request(s)) return token_reply(s, expires_in);
        if (s.header("authorization").rfind(std::string("Bearer ") + kToken, 0) != 0)
            return json_reply(401, R"({"error":"invalid_token"})");
        return route(s);
    };
}

using Ms = std::chrono::milliseconds;
Ms since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t);
}

}  // namespace

TEST_CASE("probe: token fetch, status, token and connection reuse, headers", "[upstream]") {
    World w;
    w.server.handler = with_tokens([](const Seen& s) {
        CHECK(s.method == "GET");
        return s.target == "/api/v1/status" ? status_ok() : json_reply(404, R"({"error":"not_found"})");
    });
    w.run([&]() -> asio::awaitable<void> {
        auto a = co_await w.upstream().probe();
        REQUIRE(a.has_value());
        CHECK(a->server_version == "standin 1");
        CHECK(a->server_time == "2025-01-31T09:15:02Z");
        CHECK(a->latency < 2s);
        auto b = co_await w.upstream().probe();
        REQUIRE(b.has_value());
    });
    CHECK(w.server.count("/api/auth/token") == 1);  // the token is reused
    CHECK(w.server.count("/api/v1/status") == 2);
    CHECK(w.server.connections == 1);  // keep-alive: one pooled connection
    std::set<std::string> ids;
    for (const auto& s : w.server.seen) {
        const std::string id = s.header("x-request-id");
        CHECK(!id.empty());
        CHECK(id.size() <= 64);
        CHECK(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos);
        ids.insert(id);
        CHECK(s.header("x-gateway-id") == "gw-test.1");
        CHECK(s.header("host") == "127.0.0.1:" + std::to_string(w.server.port()));
    }
    CHECK(ids.size() == w.server.seen.size());  // unique
}

TEST_CASE("probe: a token near expiry is renewed", "[upstream]") {
    World w;
    // expires_in 30: renewal is due 30 s before expiry, so at once.
    w.server.handler = with_tokens([](const Seen&) { return status_ok(); }, 30);
    w.run([&]() -> asio::awaitable<void> {
        auto r1 = co_await w.upstream().probe();
        REQUIRE(r1.has_value());
        auto r2 = co_await w.upstream().probe();
        REQUIRE(r2.has_value());
    });
    CHECK(w.server.count("/api/auth/token") == 2);
    // Both status requests carried the token fetched just before them.
    CHECK(w.server.seen[1].header("authorization") != w.server.seen[3].header("authorization"));
}

TEST_CASE("concurrent calls share one token fetch", "[upstream]") {
    using namespace asio::experimental::awaitable_operators;
    World w;
    w.server.handler = with_tokens([](const Seen&) { return status_ok(); });
    w.run([&]() -> asio::awaitable<void> {
        auto [a, b] = co_await (w.upstream().probe() && w.upstream().probe());
        CHECK(a.has_value());
        CHECK(b.has_value());
    });
    CHECK(w.server.count("/api/auth/token") == 1);
    CHECK(w.server.count("/api/v1/status") == 2);
}

TEST_CASE("401 invalid_token: one new token and one retry", "[upstream]") {
    World w;
    int refused = 0;
    int refuse_times = 1;
    w.server.handler = with_tokens([&](const Seen&) {
        if (refused < refuse_times) {
            ++refused;
            Reply r = json_reply(401, R"({"error":"invalid_token"})");
            r.headers.emplace_back("WWW-Authenticate", R"(Bearer error="invalid_token")");
            return r;
        }
        return status_ok();
    });
    SECTION("the retry succeeds") {
        w.run([&]() -> asio::awaitable<void> {
            auto r3 = co_await w.upstream().probe();
 REQUIRE(r3.has_value()); });
        CHECK(w.server.count("/api/auth/token") == 2);
        CHECK(w.server.count("/api/v1/status") == 2);
    }
    SECTION("a second 401 is a request error") {
        refuse_times = 100;
        w.run([&]() -> asio::awaitable<void> {
            auto r = co_await w.upstream().probe();
            REQUIRE(!r.has_value());
            CHECK(r.error().code == errc::rejected);
            CHECK(r.error().http_status == 401);
            check_clean(r.error());
        });
        CHECK(w.server.count("/api/auth/token") == 2);
        CHECK(w.server.count("/api/v1/status") == 2);
    }
}

TEST_CASE("invalid_client is unauthorized", "[upstream]") {
    World w;
    w.server.handler = with_tokens([](const Seen&) { return status_ok(); });
    w.up.emplace(w.ioc.get_executor(), w.config, [] {
        auto c = credentials();
        c.client_secret = pg::upstream::Secret("wrong");
        return c;
    }());
    w.run([&]() -> asio::awaitable<void> {
        auto r = co_await w.upstream().probe();
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::unauthorized);
        CHECK(r.error().message.find("invalid_client") != std::string::npos);
        check_clean(r.error());
    });
    CHECK(w.server.count("/api/v1/status") == 0);
}

TEST_CASE("verify_user: success, invalid_grant, user_disabled", "[upstream]") {
    World w;
    w.server.handler = with_tokens([](const Seen& s) {
        auto body = json::parse(s.body).as_object();
        CHECK(body.at("grant_type") == "login_info");
        const auto& li = body.at("login_info").as_object();
        if (li.at("type") == 3) {
            CHECK(li.at("username") == "alice");
            CHECK(!li.contains("pin"));
            return json_reply(401, R"({"error":"invalid_grant"})");
        }
        CHECK(li.at("type") == 2);
        CHECK(!li.contains("card"));
        CHECK(!li.contains("password"));
        const auto& pin = li.at("pin");
        if (pin == "pin-ok-4711")
            return json_reply(200, R"({"access_token":"tok-AAAA-user","token_type":"Bearer","expires_in":300,
                "user":{"id":"u-1001","name":"alice","full_name":"Alice Example","email":"alice@example.com",
                        "aliases":["EXAMPLE\\alice","alice@example.com"],"accounts":[{"id":"a-1","name":"Sales"}]}})");
        if (pin == "pin-off-9999") return json_reply(403, R"({"error":"user_disabled"})");
        return json_reply(401, R"({"error":"invalid_grant","error_description":"credentials not accepted"})");
    });
    auto pin_login = [](const char* pin) {
        pg::upstream::LoginInfo l;
        l.type = pg::upstream::LoginType::pin;
        l.pin = pin;
        return l;
    };
    w.run([&]() -> asio::awaitable<void> {
        const auto ok_login = pin_login("pin-ok-4711");
        auto ok = co_await w.upstream().verify_user(ok_login);
        REQUIRE(ok.has_value());
        CHECK(ok->id == "u-1001");
        CHECK(ok->name == "alice");
        CHECK(ok->full_name == "Alice Example");
        CHECK(ok->email == "alice@example.com");
        CHECK(ok->aliases == std::vector<std::string>{"EXAMPLE\\alice", "alice@example.com"});
        REQUIRE(ok->accounts.size() == 1);
        CHECK(ok->accounts[0].id == "a-1");
        CHECK(ok->accounts[0].name == "Sales");

        const auto wrong_login = pin_login("pin-bad-0000");
        auto wrong = co_await w.upstream().verify_user(wrong_login);
        REQUIRE(!wrong.has_value());
        CHECK(wrong.error().code == errc::invalid_credentials);
        check_clean(wrong.error());

        const auto off_login = pin_login("pin-off-9999");
        auto disabled = co_await w.upstream().verify_user(off_login);
        REQUIRE(!disabled.has_value());
        CHECK(disabled.error().code == errc::user_disabled);
        check_clean(disabled.error());

        pg::upstream::LoginInfo pw;
        pw.type = pg::upstream::LoginType::password;
        pw.username = "alice";
        pw.password = "alice-pw";
        auto bad = co_await w.upstream().verify_user(pw);
        REQUIRE(!bad.has_value());
        CHECK(bad.error().code == errc::invalid_credentials);
        check_clean(bad.error());
    });
    for (const auto& s : w.server.seen) {
        if (is_token_request(s)) continue;
        CHECK(s.header("authorization").rfind(std::string("Bearer ") + kToken, 0) == 0);
    }
    CHECK(w.server.count("/api/auth/token") == 5);  // one gateway token, four verifications
}

TEST_CASE("sync: users, pins, cards, password, tombstones, query", "[upstream]") {
    World w;
    w.server.handler = with_tokens([](const Seen&) {
        return json_reply(200, R"({"cursor":"v1.next","complete":false,"key_id":"k1",
            "users":[{"id":"u-1001","name":"alice","full_name":"Alice Example","email":"alice@example.com",
                      "aliases":["EXAMPLE\\alice"],"accounts":[{"id":"a-1","name":"Sales"}],"disabled":false,
                      "pins":[{"tag":"CkXq","verifier":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}],
                      "cards":[{"tag":"emgE","verifier":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$Y2FyZA"}],
                      "password":{"verifier":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$cHc"},"future_field":1},
                     {"id":"u-1002","name":"bob","full_name":null,"email":null,"aliases":[],"accounts":[],
                      "disabled":true,"pins":[],"cards":[],"password":null}],
            "tombstones":{"users":["u-1007"],"pins":["old-pin-tag"],"cards":[]}})");
    });
    w.run([&]() -> asio::awaitable<void> {
        pg::upstream::SyncRequest req;
        req.cursor = "v1.a/b+c";
        auto page = co_await w.upstream().sync(req);
        REQUIRE(page.has_value());
        CHECK(page->cursor == "v1.next");
        CHECK(!page->complete);
        CHECK(page->key_id == "k1");
        REQUIRE(page->users.size() == 2);
        const auto& alice = page->users[0];
        CHECK(alice.user.id == "u-1001");
        CHECK(alice.user.aliases == std::vector<std::string>{"EXAMPLE\\alice"});
        CHECK(!alice.disabled);
        REQUIRE(alice.pins.size() == 1);
        CHECK(alice.pins[0].tag == "CkXq");
        CHECK(alice.pins[0].verifier == "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
        REQUIRE(alice.cards.size() == 1);
        CHECK(alice.cards[0].tag == "emgE");
        REQUIRE(alice.password_verifier.has_value());
        CHECK(*alice.password_verifier == "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$cHc");
        const auto& bob = page->users[1];
        CHECK(bob.disabled);
        CHECK(bob.user.full_name.empty());
        CHECK(bob.pins.empty());
        CHECK(!bob.password_verifier.has_value());
        CHECK(page->tombstone_users == std::vector<std::string>{"u-1007"});
        CHECK(page->tombstone_pins == std::vector<std::string>{"old-pin-tag"});
        CHECK(page->tombstone_cards.empty());
    });
    REQUIRE(w.server.count("/api/v1/gateways/") == 1);
    CHECK(w.server.seen.back().target ==
          "/api/v1/gateways/gw-test.1/sync?cursor=v1.a%2Fb%2Bc&limit=50&argon2_m_kib=19456&argon2_t=2&argon2_p=1");
}

TEST_CASE("sync: a missing or wrongly typed field is bad_response", "[upstream]") {
    World w;
    std::string answer;
    w.server.handler = with_tokens([&](const Seen&) { return json_reply(200, answer); });
    SECTION("pin without a verifier") {
        answer = R"({"cursor":"c","complete":true,"users":[{"id":"u","name":"n","disabled":false,
                    "pins":[{"tag":"t"}],"cards":[],"password":null}]})";
    }
    SECTION("complete as a string") { answer = R"({"cursor":"c","complete":"yes","users":[]})"; }
    SECTION("not JSON") { answer = "<html>"; }
    w.run([&]() -> asio::awaitable<void> {
        const pg::upstream::SyncRequest req;
        auto page = co_await w.upstream().sync(req);
        REQUIRE(!page.has_value());
        CHECK(page.error().code == errc::bad_response);
        check_clean(page.error());
    });
}

TEST_CASE("sync: 409 no_lookup_key and 410 cursor_expired carry the server's error code", "[upstream]") {
    for (const auto& [status, code] : {std::pair<unsigned, std::string>{409, "no_lookup_key"}, {410, "cursor_expired"}}) {
        World w;
        w.server.handler = with_tokens([&](const Seen&) { return json_reply(status, R"({"error":")" + code + R"("})"); });
        w.run([&]() -> asio::awaitable<void> {
            const pg::upstream::SyncRequest req;
            auto page = co_await w.upstream().sync(req);
            REQUIRE(!page.has_value());
            CHECK(page.error().code == errc::rejected);
            CHECK(page.error().http_status == static_cast<int>(status));
            CHECK(page.error().error == code);
        });
    }
}

TEST_CASE("writes carry an Idempotency-Key: lookup key and accounting", "[upstream]") {
    World w;
    w.server.handler = with_tokens([](const Seen& s) {
        if (s.method == "PUT") return json_reply(200, R"({"key_id":"k1"})");
        auto body = json::parse(s.body).as_object();
        return json_reply(200, R"({"batch_id":")" + std::string(body.at("batch_id").as_string()) +
                                   R"(","accepted":1,"duplicates":1})");
    });
    w.run([&]() -> asio::awaitable<void> {
        std::vector<std::byte> key(32);
        for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<std::byte>(i);
        const std::string k1 = "k1";
        auto reg = co_await w.upstream().register_lookup_key(k1, key);
        REQUIRE(reg.has_value());

        pg::upstream::AccountingRecord rec;
        rec.record_id = "gw-test-r-1";
        rec.user = "alice";
        rec.queue = "secure";
        rec.pages = 3;
        rec.sheets = -1;
        rec.bytes = 48213;
        rec.submitted_at = "2025-01-31T09:10:00Z";
        rec.finished_at = "2025-01-31T09:12:41Z";
        rec.outcome = "completed";
        const std::string batch_id = "gw-test-000153";
        const std::vector<pg::upstream::AccountingRecord> records{rec, rec};
        auto ack = co_await w.upstream().upload_accounting(batch_id, records);
        REQUIRE(ack.has_value());
        CHECK(ack->batch_id == "gw-test-000153");
        CHECK(ack->accepted == 1);
        CHECK(ack->duplicates == 1);

        const std::string k2 = "k2";
        const std::vector<std::byte> short_bytes(16);
        auto short_key = co_await w.upstream().register_lookup_key(k2, short_bytes);
        REQUIRE(!short_key.has_value());
        CHECK(short_key.error().code == errc::rejected);
    });
    REQUIRE(w.server.seen.size() == 3);
    const Seen& put = w.server.seen[1];
    CHECK(put.method == "PUT");
    CHECK(put.target == "/api/v1/gateways/gw-test.1/lookup-key");
    CHECK(put.header("idempotency-key") == "lookup-key-k1");
    CHECK(put.header("content-type") == "application/json");
    auto put_body = json::parse(put.body).as_object();
    CHECK(put_body.at("key_id") == "k1");
    CHECK(put_body.at("key") == "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    const Seen& post = w.server.seen[2];
    CHECK(post.target == "/api/v1/accounting/batches");
    CHECK(post.header("idempotency-key") == "gw-test-000153");
    auto batch = json::parse(post.body).as_object();
    CHECK(batch.at("batch_id") == "gw-test-000153");
    const auto& records = batch.at("records").as_array();
    REQUIRE(records.size() == 2);
    const auto& r0 = records[0].as_object();
    CHECK(r0.at("record_id") == "gw-test-r-1");
    CHECK(r0.at("pages") == 3);
    CHECK(r0.at("sheets") == 0);  // unknown -> 0
    CHECK(r0.at("printer").is_null());
    CHECK(r0.at("outcome") == "completed");
    CHECK(w.server.seen[0].header("idempotency-key").empty());  // not on the token request
}

TEST_CASE("503 and 429 are unavailable with retry_after, other 4xx rejected", "[upstream]") {
    struct Case {
        unsigned status;
        const char* error;
        const char* retry_after;  // "" = no header
        errc code;
        std::chrono::seconds expect_retry;
    };
    const Case cases[] = {
        {503, "unavailable", "7", errc::unavailable, 7s},
        {500, "server_error", "", errc::unavailable, 0s},
        {429, "rate_limited", "3", errc::unavailable, 3s},
        {429, "rate_limited", "", errc::unavailable, 5s},  // missing counts as 5 s
        {429, "rate_limited", "soon", errc::unavailable, 5s},
        {403, "insufficient_scope", "", errc::rejected, 0s},
        {404, "not_found", "", errc::rejected, 0s},
    };
    for (const Case& c : cases) {
        INFO(c.status << " " << c.error << " Retry-After: " << c.retry_after);
        World w;
        w.server.handler = with_tokens([&](const Seen&) {
            Reply r = json_reply(c.status, std::string(R"({"error":")") + c.error + R"("})");
            if (*c.retry_after != '\0') r.headers.emplace_back("Retry-After", c.retry_after);
            return r;
        });
        w.run([&]() -> asio::awaitable<void> {
            auto r = co_await w.upstream().probe();
            REQUIRE(!r.has_value());
            CHECK(r.error().code == c.code);
            CHECK(r.error().retry_after == c.expect_retry);
            CHECK(r.error().http_status == static_cast<int>(c.status));
            CHECK(r.error().error == c.error);
            CHECK(r.error().message.find(std::to_string(c.status) + " " + c.error) != std::string::npos);
            check_clean(r.error());
        });
    }
}

TEST_CASE("a refused port is unavailable at once", "[upstream]") {
    World w;
    std::string url;
    {
        asio::ip::tcp::acceptor closed(w.ioc, {asio::ip::make_address("127.0.0.1"), 0});
        url = "https://127.0.0.1:" + std::to_string(closed.local_endpoint().port());
    }
    w.config.url = url;
    w.run([&]() -> asio::awaitable<void> {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await w.upstream().probe();
        CHECK(since(t0) < 1s);
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::unavailable);
        CHECK(r.error().http_status == 0);
        check_clean(r.error());
    });
}

TEST_CASE("a black hole is unavailable at the deadline", "[upstream]") {
    World w;
    w.config.probe_timeout = 300ms;
    SECTION("accepts, never handshakes") { w.server.black_hole = true; }
    SECTION("handshakes, never answers") {
        w.server.handler = [](const Seen&) {
            Reply r;
            r.hang = true;
            return r;
        };
    }
    w.run([&]() -> asio::awaitable<void> {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await w.upstream().probe();
        const auto took = since(t0);
        CHECK(took >= 250ms);
        CHECK(took < 2s);
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::unavailable);
        CHECK(r.error().message.find("timed out") != std::string::npos);
        check_clean(r.error());
    });
}

TEST_CASE("close() ends a call in flight", "[upstream]") {
    World w;
    w.server.black_hole = true;
    w.server.on_accept = [&] { w.upstream().close(); };
    w.run([&]() -> asio::awaitable<void> {
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await w.upstream().probe();
        CHECK(since(t0) < 1s);
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::unavailable);
        auto again = co_await w.upstream().probe();
        REQUIRE(!again.has_value());
        CHECK(again.error().code == errc::unavailable);
    });
    CHECK(w.server.connections == 1);
}

TEST_CASE("a pooled connection the server dropped is replaced once", "[upstream]") {
    World w;
    w.server.handler = with_tokens([](const Seen&) {
        Reply r = status_ok();
        r.drop_after = true;  // says keep-alive, then closes
        return r;
    });
    w.run([&]() -> asio::awaitable<void> {
        auto r4 = co_await w.upstream().probe();
        REQUIRE(r4.has_value());
        auto r5 = co_await w.upstream().probe();
        REQUIRE(r5.has_value());
    });
    CHECK(w.server.count("/api/v1/status") == 2);
    CHECK(w.server.connections == 2);
}

TEST_CASE("TLS: another CA, the pin", "[upstream]") {
    pg::test::Pki pki;
    asio::io_context ioc;
    auto probe_once = [&](TestServer& server, pg::conf::UpstreamConfig config) {
        server.handler = with_tokens([](const Seen&) { return status_ok(); });
        MyqUpstream up(ioc.get_executor(), config, credentials());
        REQUIRE(!up.setup_error());
        std::optional<pg::upstream::Result<pg::upstream::ProbeResult>> out;
        asio::co_spawn(ioc, up.probe(), [&](std::exception_ptr e, pg::upstream::Result<pg::upstream::ProbeResult> r) {
            ioc.stop();
            if (e) std::rethrow_exception(e);
            out = std::move(r);
        });
        ioc.restart();
        ioc.run_for(10s);
        REQUIRE(out.has_value());
        return *out;
    };
    SECTION("a certificate from another CA is refused") {
        TestServer server(ioc, pki.other_leaf);
        auto r = probe_once(server, config_for(server.url(), pki.ca_file));
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::unavailable);
        CHECK(r.error().message.find("TLS handshake") != std::string::npos);
        check_clean(r.error());
        CHECK(server.seen.empty());  // no HTTP byte was sent
    }
    SECTION("the system store does not know the test CA") {
        TestServer server(ioc, pki.leaf);
        auto r = probe_once(server, config_for(server.url(), ""));
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::unavailable);
    }
    SECTION("a pin that does not match") {
        TestServer server(ioc, pki.leaf);
        auto config = config_for(server.url(), pki.ca_file);
        config.pinned_cert = pg::test::fingerprint(pki.other_leaf.cert.get());
        auto r = probe_once(server, config);
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::unavailable);
        CHECK(r.error().message == "server certificate does not match upstream.pinned_cert");
        CHECK(server.seen.empty());
    }
    SECTION("a pin that matches") {
        TestServer server(ioc, pki.leaf);
        auto config = config_for(server.url(), pki.ca_file);
        config.pinned_cert = pg::test::fingerprint(pki.leaf.cert.get());
        auto r = probe_once(server, config);
        CHECK(r.has_value());
    }
}

TEST_CASE("an oversized answer is bad_response", "[upstream]") {
    World w;
    w.server.handler = with_tokens([](const Seen&) {
        return json_reply(200, R"({"status":"ok","pad":")" + std::string(2 * 1024 * 1024, 'x') + R"("})");
    });
    w.run([&]() -> asio::awaitable<void> {
        auto r = co_await w.upstream().probe();
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::bad_response);
        check_clean(r.error());
    });
}

TEST_CASE("bad settings are not_configured", "[upstream]") {
    asio::io_context ioc;
    pg::test::TempDir dir;
    auto config = config_for("http://127.0.0.1:1", "");
    {
        MyqUpstream up(ioc.get_executor(), config, credentials());
        REQUIRE(up.setup_error());
        CHECK(up.setup_error()->code == errc::not_configured);
    }
    config.url = "https://127.0.0.1:1";
    config.ca_file = (dir.path / "missing.pem").string();
    {
        MyqUpstream up(ioc.get_executor(), config, credentials());
        REQUIRE(up.setup_error());
        CHECK(up.setup_error()->message.find("missing.pem") != std::string::npos);
    }
}

TEST_CASE("load_credentials", "[upstream]") {
    pg::test::TempDir dir;
    auto file = [&](const std::string& text, mode_t mode) {
        const std::string path = dir.write("creds", text);
        ::chmod(path.c_str(), mode);
        return path;
    };
    SECTION("a good file") {
        auto r = pg::upstream::load_credentials(
            file("# printgate upstream client\n\nclient_id: gw-branch-042\nclient_secret: \"s3cret-CLIENT-7f2a\"\n", 0600));
        REQUIRE(r.has_value());
        CHECK(r->client_id == "gw-branch-042");
        CHECK(r->client_secret.str() == kSecret);
    }
    SECTION("refusals name the file and the problem, never a value") {
        struct Case {
            const char* text;
            mode_t mode;
            const char* expect;
        };
        const Case cases[] = {
            {"client_id: a\nclient_secret: s3cret-CLIENT-7f2a\n", 0644, "mode 0644"},
            {"client_id: a\nclient_secret: s3cret-CLIENT-7f2a\n", 0640, "mode 0640"},
            {"client_secret: s3cret-CLIENT-7f2a\n", 0600, "client_id is missing"},
            {"client_id: a\nsecret: s3cret-CLIENT-7f2a\n", 0600, "creds:2: unknown key"},
            {"client_id: a\ns3cret-CLIENT-7f2a\n", 0600, "creds:2: expected"},
            {"client_id: a\nclient_secret: \"\"\n", 0600, "creds:2: client_secret is empty"},
            {"client_id: a\nclient_secret: x\nclient_secret: s3cret-CLIENT-7f2a\n", 0600, "creds:3: client_secret given twice"},
        };
        for (const Case& c : cases) {
            INFO(c.text);
            auto r = pg::upstream::load_credentials(file(c.text, c.mode));
            REQUIRE(!r.has_value());
            CHECK(r.error().code == errc::not_configured);
            CHECK(r.error().message.find(c.expect) != std::string::npos);
            check_clean(r.error());
        }
    }
    SECTION("a missing file") {
        auto r = pg::upstream::load_credentials((dir.path / "none").string());
        REQUIRE(!r.has_value());
        CHECK(r.error().code == errc::not_configured);
    }
}
