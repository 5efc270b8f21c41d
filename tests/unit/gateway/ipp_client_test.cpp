// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/output/ipp_client: how a Print-Job's body goes on the
// wire, seen by a plain HTTP/1.1 server on 127.0.0.1:0 run here with Beast's
// parser. A document of known size is one Content-Length body, one without a size
// is chunked; a document that yields more or fewer bytes than announced fails the
// call, and the server sees the connection reset before the body is complete
// (never a complete body, never a FIN); closing the client resets the connection.
#include "gateway/output/ipp_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "protocols/ipp/client.hpp"
#include "tests/unit/gateway/memory_body.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using pg::test::MemoryBody;
using namespace std::chrono_literals;

namespace {

// What the server saw of the one request it read.
struct Seen {
    bool done = false;
    boost::system::error_code read;   // how reading the request ended
    boost::system::error_code after;  // how the connection ended after the answer
    std::optional<std::uint64_t> content_length;
    bool chunked = false;
    std::string body;  // complete requests only
};

void put_attr(std::string& s, char tag, std::string_view name, std::string_view value) {
    s += tag;
    s += static_cast<char>(name.size() >> 8);
    s += static_cast<char>(name.size() & 0xff);
    s += name;
    s += static_cast<char>(value.size() >> 8);
    s += static_cast<char>(value.size() & 0xff);
    s += value;
}

// successful-ok with the request's id and nothing but the charset and language.
std::string ipp_ok(const std::string& request) {
    std::string s = {'\x02', '\x00', '\x00', '\x00'};
    s += request.size() >= 8 ? request.substr(4, 4) : std::string(4, '\x01');
    s += '\x01';
    put_attr(s, '\x47', "attributes-charset", "utf-8");
    put_attr(s, '\x48', "attributes-natural-language", "en");
    s += '\x03';
    return s;
}

// Accepts one connection and reads one request; a complete one is answered, then
// the server waits for the client's close.
asio::awaitable<void> serve_one(tcp::acceptor& acceptor, Seen& seen) {
    auto [aec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (aec) {
        seen.read = aec;
        seen.done = true;
        co_return;
    }
    beast::flat_buffer buffer;
    http::request_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    auto [rec, n] = co_await http::async_read(sock, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    seen.read = rec;
    if (parser.is_header_done()) {
        if (auto cl = parser.content_length()) seen.content_length = *cl;
        seen.chunked = parser.chunked();
    }
    if (!rec) {
        seen.body = parser.get().body();
        http::response<http::string_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "application/ipp");
        res.body() = ipp_ok(seen.body);
        res.prepare_payload();
        auto [wec, w] = co_await http::async_write(sock, res, asio::as_tuple(asio::use_awaitable));
        (void)w;
        char byte;
        auto [cec, m] = co_await sock.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
        (void)m;
        seen.after = wec ? wec : cec;
    }
    seen.done = true;
}

struct Sent {
    bool done = false;
    bool ok = false;
    bool connected = false;
    std::string error;
    std::size_t section = 0;  // the encoded IPP request's size
};

// One Print-Job of `document` (given out in `chunk`-byte pieces) announced as
// `size` bytes, then close(); the server's view and the client's outcome.
std::pair<Seen, Sent> print(const std::string& document, std::size_t chunk, std::optional<std::uint64_t> size) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    asio::ssl::context tls(asio::ssl::context::tls_client);
    Seen seen;
    Sent sent;
    asio::co_spawn(io, serve_one(acceptor, seen), asio::detached);
    auto client_side = [&]() -> asio::awaitable<void> {
        const std::string uri = "ipp://127.0.0.1:" + std::to_string(port) + "/ipp/print";
        pg::output::IppClient client(io.get_executor(), tls, uri, false);
        pg::ipp::client::Caller caller{uri, "alice", 7};
        pg::ipp::client::JobTicket ticket;
        ticket.job_name = "Quarterly report";
        ticket.document_format = "application/pdf";
        const pg::ipp::Message request = pg::ipp::client::print_job(caller, ticket);
        sent.section = pg::ipp::encode(request)->size();
        MemoryBody body(document, chunk);
        auto r = co_await client.call(request, &body, size);
        sent.ok = r.has_value();
        if (!r) {
            sent.connected = r.error().connected;
            sent.error = r.error().message;
        }
        client.close();
        sent.done = true;
    };
    asio::co_spawn(io, client_side(), asio::detached);
    io.run_for(20s);
    return {seen, sent};
}

std::string document_of(std::size_t n) {
    std::string s = "%PDF-1.4\n";
    for (std::size_t i = 0; s.size() < n; ++i) s += static_cast<char>('a' + i % 26);
    s.resize(n);
    return s;
}

}  // namespace

TEST_CASE("A document of known size goes as one Content-Length body", "[ipp_client]") {
    const std::string doc = document_of(300000);
    auto [seen, sent] = print(doc, 65536, doc.size());
    REQUIRE(seen.done);
    REQUIRE(sent.done);
    REQUIRE(sent.ok);
    CHECK_FALSE(seen.read);
    CHECK_FALSE(seen.chunked);
    REQUIRE(seen.content_length.has_value());
    CHECK(*seen.content_length == sent.section + doc.size());
    CHECK(seen.body.size() == sent.section + doc.size());
    CHECK(seen.body.substr(sent.section) == doc);
    // Linger 0: the client's close resets the connection.
    CHECK(seen.after == asio::error::connection_reset);
}

TEST_CASE("An empty document of known size: the body is the IPP request", "[ipp_client]") {
    auto [seen, sent] = print("", 65536, 0);
    REQUIRE(seen.done);
    REQUIRE(sent.ok);
    CHECK_FALSE(seen.chunked);
    CHECK(seen.content_length == std::optional<std::uint64_t>(sent.section));
    CHECK(seen.body.size() == sent.section);
}

TEST_CASE("A document without a size goes chunked", "[ipp_client]") {
    const std::string doc = document_of(300000);
    auto [seen, sent] = print(doc, 65536, std::nullopt);
    REQUIRE(seen.done);
    REQUIRE(sent.ok);
    CHECK(seen.chunked);
    CHECK_FALSE(seen.content_length.has_value());
    CHECK(seen.body.substr(sent.section) == doc);
}

TEST_CASE("A document longer or shorter than announced fails, and the body is cut by a reset", "[ipp_client]") {
    const std::string doc = document_of(2 * 65536);
    std::uint64_t announced = 0;
    std::string why;
    SECTION("longer, the excess inside a chunk") {
        announced = doc.size() - 100;
        why = "longer";
    }
    SECTION("longer, the excess a whole chunk after the announced size") {
        announced = 65536;  // the first chunk completes it exactly
        why = "longer";
    }
    SECTION("longer than an announced empty document") {
        announced = 0;
        why = "longer";
    }
    SECTION("shorter") {
        announced = doc.size() + 1;
        why = "shorter";
    }
    auto [seen, sent] = print(doc, 65536, announced);
    REQUIRE(seen.done);
    REQUIRE(sent.done);
    CHECK_FALSE(sent.ok);
    CHECK(sent.connected);
    CHECK(sent.error.find(why) != std::string::npos);
    // The server never had a complete body, and the connection ended with a reset
    // (a FIN would be beast's partial_message).
    CHECK(seen.read == asio::error::connection_reset);
    REQUIRE(seen.content_length.has_value());
    CHECK(*seen.content_length == sent.section + announced);
}
