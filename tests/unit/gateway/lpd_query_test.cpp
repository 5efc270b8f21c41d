// SPDX-License-Identifier: Apache-2.0
// The LPD queue query client (output::query_lpd) against a scripted server on
// 127.0.0.1:0 in the test's io_context: the question it asks, the answer's byte
// limit, the answer deadline, a server that closes at once, and no server at all.
#include "gateway/output/stream_clients.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;
using pg::output::LpdQueryLimits;

namespace {

using QueryResult = boost::system::result<std::string, pg::output::ClientError>;

// One connection: reads the question line, then sends `answer` and closes, or
// (stall) keeps the connection open without a byte until the test ends.
struct Script {
    std::string answer;
    bool stall = false;
    std::string question;  // what the client asked
};

asio::awaitable<void> serve(tcp::acceptor& acceptor, Script& script) {
    auto [aec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
    if (aec) co_return;
    std::string line;
    auto [rec, n] = co_await asio::async_read_until(sock, asio::dynamic_buffer(line), '\n',
                                                    asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    script.question = line.substr(0, n);
    if (script.stall) {
        asio::steady_timer t(sock.get_executor(), 30s);
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
        co_return;
    }
    co_await asio::async_write(sock, asio::buffer(script.answer), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ec;
    sock.shutdown(tcp::socket::shutdown_both, ec);
}

// Runs one query against `script` (or against a port nobody listens on).
QueryResult ask(Script& script, const std::string& user, const LpdQueryLimits& limits, bool listen = true) {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const auto port = acceptor.local_endpoint().port();
    if (listen) asio::co_spawn(ioc, serve(acceptor, script), asio::detached);
    else acceptor.close();
    auto uri = pg::output::parse_printer_uri("lpd://127.0.0.1:" + std::to_string(port) + "/sink");
    REQUIRE(uri);
    std::optional<QueryResult> out;
    // A named executor: GCC 12 destroys a prvalue argument of a coroutine twice.
    asio::any_io_executor ex = ioc.get_executor();
    asio::co_spawn(ioc, pg::output::query_lpd(ex, *uri, user, limits),
                   [&](std::exception_ptr e, QueryResult r) {
                       REQUIRE_FALSE(e);
                       out = std::move(r);
                       ioc.stop();
                   });
    ioc.run_for(10s);
    REQUIRE(out);
    return std::move(*out);
}

}  // namespace

TEST_CASE("lpd query: the question and the whole answer", "[lpd-query]") {
    Script script;
    script.answer = "sink is not ready\n\nalice: 1st                               [job 1 localhost]\n"
                    "        Quarterly report 2027                   3072 bytes\n";
    auto r = ask(script, "alice", {});
    REQUIRE(r.has_value());
    CHECK(*r == script.answer);
    CHECK(script.question == "\x04sink alice\n");
    // A user name cannot add a line to the question.
    Script other;
    other.answer = "sink is ready\nno entries\n";
    REQUIRE(ask(other, "ali\nce\r", {}).has_value());
    CHECK(other.question == "\x04sink alice\n");
}

TEST_CASE("lpd query: a server that closes without a word", "[lpd-query]") {
    Script script;
    auto r = ask(script, "alice", {});
    REQUIRE(r.has_value());
    CHECK(r->empty());
}

TEST_CASE("lpd query: an answer over the limit is refused", "[lpd-query]") {
    Script script;
    script.answer = std::string(5000, 'x');
    LpdQueryLimits limits;
    limits.max_bytes = 4096;
    auto r = ask(script, "alice", limits);
    REQUIRE(r.has_error());
    CHECK(r.error().connected);
    CHECK(r.error().message.find("larger than 4096 bytes") != std::string::npos);
    limits.max_bytes = 5000;
    CHECK(ask(script, "alice", limits).has_value());
}

TEST_CASE("lpd query: a server that never ends its answer", "[lpd-query]") {
    Script script;
    script.stall = true;
    LpdQueryLimits limits;
    limits.answer_timeout = 200ms;
    const auto start = std::chrono::steady_clock::now();
    auto r = ask(script, "alice", limits);
    REQUIRE(r.has_error());
    CHECK(r.error().connected);
    CHECK(r.error().message == "the queue listing did not end in time");
    CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("lpd query: nobody listening is 'cannot be reached'", "[lpd-query]") {
    Script script;
    auto r = ask(script, "alice", {}, false);
    REQUIRE(r.has_error());
    CHECK_FALSE(r.error().connected);
    CHECK(r.error().message.find("cannot connect") != std::string::npos);
}
