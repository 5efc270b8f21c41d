// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/output/ipp_client: how a Print-Job's body goes on the
// wire, seen by a plain HTTP/1.1 server on 127.0.0.1:0 run here with Beast's
// parser. A document of known size is one Content-Length body, one without a size
// is chunked; a document that yields more or fewer bytes than announced fails the
// call, and the server sees the connection reset before the body is complete
// (never a complete body, never a FIN); closing the client resets the connection.
// Safe chunking, seen by a raw server: chunks of the configured size, and a body cut
// (its end not confirmed, the source failing) ends inside a chunk.
#include "gateway/output/ipp_client.hpp"

#include <catch2/catch.hpp>

#include <array>
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

// Runs `serve` on 127.0.0.1:0 and one Print-Job of `body` against it (announced as
// `size` bytes; chunked when none, in chunks of at most `limit`, its end confirmed by
// `end`), then close(); the client's outcome.
template <class SeenT>
Sent run_print(asio::awaitable<void> (*serve)(tcp::acceptor&, SeenT&), SeenT& seen, pg::net::BodySource& body,
               std::optional<std::uint64_t> size, pg::output::BodyEnd* end, std::size_t limit) {
    asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    asio::ssl::context tls(asio::ssl::context::tls_client);
    Sent sent;
    asio::co_spawn(io, serve(acceptor, seen), asio::detached);
    auto client_side = [&]() -> asio::awaitable<void> {
        const std::string uri = "ipp://127.0.0.1:" + std::to_string(port) + "/ipp/print";
        pg::output::IppClient client(io.get_executor(), tls, uri, false);
        client.set_chunk_limit(limit);
        pg::ipp::client::Caller caller{uri, "alice", 7};
        pg::ipp::client::JobTicket ticket;
        ticket.job_name = "Quarterly report";
        ticket.document_format = "application/pdf";
        const pg::ipp::Message request = pg::ipp::client::print_job(caller, ticket);
        sent.section = pg::ipp::encode(request)->size();
        auto r = co_await client.call(request, &body, size, end);
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
    return sent;
}

// One Print-Job of `document` (given out in `chunk`-byte pieces) announced as
// `size` bytes; the server's view and the client's outcome.
std::pair<Seen, Sent> print(const std::string& document, std::size_t chunk, std::optional<std::uint64_t> size) {
    Seen seen;
    MemoryBody body(document, chunk);
    Sent sent = run_print(&serve_one, seen, body, size, nullptr, 4u << 20);
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

namespace {

// What a raw server saw of a chunked request: the bytes as they came, read until the
// terminating chunk or the connection's end.
struct RawSeen {
    bool done = false;
    boost::system::error_code end;  // how reading ended: none when the terminator came
    std::string bytes;
};

// Chunked body of `raw` (after the header): the chunk sizes and data; `complete` when
// the terminating chunk came; `inside` when the bytes end inside a chunk's data.
struct Chunks {
    std::vector<std::size_t> sizes;
    std::string data;
    bool complete = false;
    bool inside = false;
};

Chunks parse_chunks(const std::string& raw) {
    Chunks c;
    std::size_t pos = raw.find("\r\n\r\n");
    if (pos == std::string::npos) return c;
    pos += 4;
    for (;;) {
        const std::size_t eol = raw.find("\r\n", pos);
        if (eol == std::string::npos) return c;  // between chunks, or in a size line
        const std::size_t n = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
        pos = eol + 2;
        if (n == 0) {
            c.complete = raw.compare(pos, 2, "\r\n") == 0;
            return c;
        }
        c.sizes.push_back(n);
        if (raw.size() < pos + n) {
            c.data += raw.substr(pos);
            c.inside = true;
            return c;
        }
        c.data += raw.substr(pos, n);
        pos += n + 2;
        if (raw.size() < pos) return c;  // cut in the CRLF after the data
    }
}

asio::awaitable<void> serve_raw(tcp::acceptor& acceptor, RawSeen& seen) {
    auto [aec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (aec) {
        seen.end = aec;
        seen.done = true;
        co_return;
    }
    std::array<char, 65536> buf;
    for (;;) {
        auto [rec, n] = co_await sock.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        seen.bytes.append(buf.data(), n);
        if (rec) {
            seen.end = rec;
            break;
        }
        if (parse_chunks(seen.bytes).complete) {
            const std::string body = parse_chunks(seen.bytes).data;
            http::response<http::string_body> res{http::status::ok, 11};
            res.set(http::field::content_type, "application/ipp");
            res.body() = ipp_ok(body);
            res.prepare_payload();
            auto [wec, w] = co_await http::async_write(sock, res, asio::as_tuple(asio::use_awaitable));
            (void)w;
            char byte;
            auto [cec, m] = co_await sock.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
            (void)m;
            (void)wec;
            (void)cec;
            break;
        }
    }
    seen.done = true;
}

// A body source that fails after `fail_after` bytes (when set).
class FailingBody final : public pg::net::BodySource {
public:
    FailingBody(std::string data, std::size_t chunk, std::size_t fail_after)
        : inner_(std::move(data), chunk), fail_after_(fail_after) {}
    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        if (given_ >= fail_after_) co_return boost::system::error_code(asio::error::broken_pipe);
        auto r = co_await inner_.next();
        if (r) given_ += r->size();
        co_return r;
    }

private:
    MemoryBody inner_;
    std::size_t fail_after_;
    std::size_t given_ = 0;
};

class FixedEnd final : public pg::output::BodyEnd {
public:
    explicit FixedEnd(bool ok) : ok_(ok) {}
    asio::awaitable<bool> confirmed() override {
        ++calls;
        co_return ok_;
    }
    int calls = 0;

private:
    bool ok_;
};

// One chunked Print-Job of `body` through a raw server, chunks of at most `limit`.
std::pair<RawSeen, Sent> print_chunked(pg::net::BodySource& body, std::size_t limit, pg::output::BodyEnd* end) {
    RawSeen seen;
    Sent sent = run_print(&serve_raw, seen, body, std::nullopt, end, limit);
    return {seen, sent};
}

}  // namespace

TEST_CASE("Safe chunking: big chunks, each announced with its bytes in hand, the document intact", "[ipp_client]") {
    const std::string doc = document_of(300000);
    MemoryBody body(doc, 1000);
    FixedEnd end(true);
    auto [seen, sent] = print_chunked(body, 65536, &end);
    REQUIRE(seen.done);
    REQUIRE(sent.done);
    REQUIRE(sent.ok);
    CHECK(end.calls == 1);
    const Chunks c = parse_chunks(seen.bytes);
    REQUIRE(c.complete);
    CHECK(c.data.substr(sent.section) == doc);
    REQUIRE(c.sizes.size() >= 4);
    for (std::size_t i = 0; i + 1 < c.sizes.size(); ++i) {
        CHECK(c.sizes[i] >= 65536);
        CHECK(c.sizes[i] < 65536 + 1000);
    }
    CHECK(seen.bytes.find("Transfer-Encoding: chunked") != std::string::npos);
}

TEST_CASE("Safe chunking: a last chunk of one byte goes with the end", "[ipp_client]") {
    // The request plus the document fill whole chunks and one byte more.
    MemoryBody probe("", 1);
    FixedEnd end(true);
    auto [seen0, sent0] = print_chunked(probe, 4096, &end);
    REQUIRE(sent0.ok);
    const std::size_t section = sent0.section;
    const std::string doc = document_of(4096 * 3 - section + 1);
    MemoryBody body(doc, 1);  // chunks of exactly 4096 bytes
    auto [seen, sent] = print_chunked(body, 4096, &end);
    REQUIRE(sent.ok);
    const Chunks c = parse_chunks(seen.bytes);
    REQUIRE(c.complete);
    CHECK(c.data.substr(section) == doc);
    REQUIRE(!c.sizes.empty());
    CHECK(c.sizes.back() == 1);
}

TEST_CASE("Safe chunking: a cut body ends inside a chunk, never between two", "[ipp_client]") {
    const std::string doc = document_of(200000);
    SECTION("the end is not confirmed") {
        MemoryBody body(doc, 3000);
        FixedEnd end(false);
        auto [seen, sent] = print_chunked(body, 16384, &end);
        REQUIRE(seen.done);
        CHECK_FALSE(sent.ok);
        CHECK(sent.connected);
        CHECK(end.calls == 1);
        CHECK(seen.end == asio::error::connection_reset);
        const Chunks c = parse_chunks(seen.bytes);
        CHECK_FALSE(c.complete);
        CHECK(c.inside);
        // Everything but the held-back last byte arrived.
        CHECK(c.data.size() == sent.section + doc.size() - 1);
    }
    for (const std::size_t fail_after : {3000u, 16384u, 16384u * 3, 100000u}) {
        DYNAMIC_SECTION("the source fails after " << fail_after << " bytes") {
            FailingBody body(doc, 1000, fail_after);
            auto [seen, sent] = print_chunked(body, 16384, nullptr);
            REQUIRE(seen.done);
            CHECK_FALSE(sent.ok);
            CHECK(sent.error.find("reading the document failed") != std::string::npos);
            CHECK(seen.end == asio::error::connection_reset);
            const Chunks c = parse_chunks(seen.bytes);
            CHECK_FALSE(c.complete);
            // Before the first chunk was announced nothing of the request left.
            if (fail_after < 16384) CHECK(c.sizes.empty());
            else CHECK(c.inside);
        }
    }
}
