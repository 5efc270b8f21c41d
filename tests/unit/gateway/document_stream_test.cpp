// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/output/document_stream: the read-ahead over a spooled
// document gives back exactly the stored bytes, whatever the read sizes and the
// document's size relative to the batch; and dropping a stream while a batch is
// being read on the pool is safe (the sanitizer build checks the memory side).
// Real spool, real files, real fsync, in a private mkdtemp directory.
#include "gateway/output/document_stream.hpp"
#include "tests/unit/test_bytes.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <future>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace asio = boost::asio;
namespace spool = pg::spool;
using pg::output::DocumentStream;
using pg::test::Bytes;
using pg::test::pattern;

namespace {

struct StreamEnv {
    std::filesystem::path dir;
    pg::log::Logger log{pg::log::Target::stderr_text, pg::conf::LogLevel::off};
    std::unique_ptr<spool::Spool> spool;
    asio::io_context io;
    asio::thread_pool pool{2};

    StreamEnv() {
        char tmpl[] = "/tmp/pg-docstream-test-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        spool::SpoolOptions o;
        o.dir = dir / "spool";
        std::array<std::byte, pg::crypto::kKeySize> k{};
        k.fill(std::byte{0x5a});
        o.master_key = pg::crypto::Key(std::span<const std::byte, pg::crypto::kKeySize>(k));
        o.limits.min_free_space = 0;
        spool::RecoveryReport report;
        std::string error;
        spool = spool::Spool::open(std::move(o), log, report, error);
        INFO(error);
        REQUIRE(spool);
    }
    ~StreamEnv() {
        pool.join();
        spool.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    std::uint64_t store(const Bytes& data) {
        spool::JobMeta m;
        m.queue = "q";
        m.user = "u";
        auto w = spool->begin_job(m);
        REQUIRE(w.has_value());
        REQUIRE((*w)->append(data).has_value());
        REQUIRE((*w)->finish().has_value());
        std::promise<spool::Result<spool::JobRecord>> p;
        auto f = p.get_future();
        spool->commit(std::move(*w), [&p](spool::Result<spool::JobRecord> r) { p.set_value(std::move(r)); });
        auto rec = f.get();
        REQUIRE(rec.has_value());
        return rec->id;
    }

    std::unique_ptr<DocumentStream> open(std::uint64_t id) {
        auto reader = spool->open_document(id);
        REQUIRE(reader.has_value());
        return std::make_unique<DocumentStream>(io.get_executor(), pool, std::move(*reader));
    }

    // Reads the whole stream, asking for `step` bytes at a time.
    Bytes read_all(DocumentStream& stream, std::size_t step) {
        auto done = asio::co_spawn(
            io,
            [&stream, step]() -> asio::awaitable<spool::Result<Bytes>> {
                Bytes out;
                for (;;) {
                    auto chunk = co_await stream.next(step);
                    if (!chunk) co_return chunk.error();
                    if (chunk->empty()) co_return out;
                    if (chunk->size() > step) co_return spool::make_error_code(spool::errc::io_error);
                    out.insert(out.end(), chunk->begin(), chunk->end());
                }
            },
            asio::use_future);
        io.restart();
        io.run();
        auto r = done.get();
        INFO((r ? std::string("read") : r.error().message()));
        REQUIRE(r.has_value());
        return *r;
    }
};

}  // namespace

TEST_CASE("document stream: every size and read step gives the stored bytes", "[output][stream]") {
    StreamEnv env;
    constexpr std::size_t B = DocumentStream::kBatch;
    const std::size_t sizes[] = {0, 1, 65536, B - 1, B, B + 1, 3 * B + 12345};
    const std::size_t steps[] = {1 << 12, 65537, B, SIZE_MAX};
    std::uint32_t seed = 1;
    for (std::size_t n : sizes) {
        Bytes data = pattern(n, seed++);
        const auto id = env.store(data);
        for (std::size_t step : steps) {
            CAPTURE(n, step);
            auto stream = env.open(id);
            CHECK(env.read_all(*stream, step) == data);
        }
    }
}

TEST_CASE("document stream: a stream dropped with a batch in flight is safe", "[output][stream]") {
    StreamEnv env;
    Bytes data = pattern(5 * DocumentStream::kBatch + 7, 42);
    const auto id = env.store(data);
    auto stream = env.open(id);
    // One read: the first batch comes back and the second is being read ahead.
    auto first = asio::co_spawn(
        env.io,
        [&stream]() -> asio::awaitable<std::size_t> {
            auto chunk = co_await stream->next(100);
            co_return chunk ? chunk->size() : 0;
        },
        asio::use_future);
    env.io.run();
    CHECK(first.get() == 100);
    stream.reset();  // the read-ahead still holds the state; it ends on its own
    env.pool.join();
    env.io.restart();
    env.io.run();  // the read-ahead's completion runs against the kept state
    SUCCEED("no use after free (checked by the sanitizer build)");
}
