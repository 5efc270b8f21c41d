// SPDX-License-Identifier: Apache-2.0
// Read-ahead over a spooled document. See document_stream.hpp.
#include "gateway/output/document_stream.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pg::output {

namespace asio = boost::asio;

struct DocumentStream::State : std::enable_shared_from_this<State> {
    State(asio::any_io_executor e, asio::thread_pool& p, std::unique_ptr<spool::DocumentReader> r)
        : io(std::move(e)), pool(p), reader(std::move(r)), wake(io) {}

    asio::any_io_executor io;
    asio::thread_pool& pool;
    // Touched by one pool task at a time (a fetch starts only when none is in flight).
    std::unique_ptr<spool::DocumentReader> reader;
    asio::steady_timer wake;  // cancelled when a batch comes back
    // The I/O thread's side.
    std::vector<std::byte> current;  // the batch being handed out
    std::size_t pos = 0;
    std::vector<std::byte> spare;    // the buffer the next fetch fills
    std::vector<std::byte> fetched;  // a batch back from the pool, not yet handed out
    std::optional<spool::Result<void>> outcome;  // set when `fetched` is back
    bool in_flight = false;
    bool last = false;  // `current` is the stream's last batch

    void fetch() {
        in_flight = true;
        auto buf = std::move(spare);
        asio::post(pool, [self = shared_from_this(), buf = std::move(buf)]() mutable {
            buf.clear();
            buf.reserve(kBatch);
            spool::Result<void> r;
            while (buf.size() < kBatch) {
                auto chunk = self->reader->next();
                if (!chunk) {
                    r = chunk.error();
                    break;
                }
                if (chunk->empty()) break;
                buf.insert(buf.end(), chunk->begin(), chunk->end());
            }
            auto io = self->io;
            asio::post(io, [self = std::move(self), buf = std::move(buf), r]() mutable {
                self->fetched = std::move(buf);
                self->outcome = r;
                self->in_flight = false;
                self->wake.cancel();
            });
        });
    }
};

DocumentStream::DocumentStream(asio::any_io_executor io, asio::thread_pool& pool,
                               std::unique_ptr<spool::DocumentReader> reader)
    : state_(std::make_shared<State>(std::move(io), pool, std::move(reader))) {}

DocumentStream::~DocumentStream() = default;

asio::awaitable<spool::Result<std::span<const std::byte>>> DocumentStream::next(std::size_t max) {
    State& s = *state_;
    if (s.pos == s.current.size()) {
        if (s.last) co_return std::span<const std::byte>{};
        if (!s.in_flight && !s.outcome) s.fetch();
        while (!s.outcome) {
            s.wake.expires_at(asio::steady_timer::time_point::max());
            co_await s.wake.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        const auto r = *s.outcome;
        s.outcome.reset();
        if (!r) co_return r.error();
        s.spare = std::move(s.current);
        s.current = std::move(s.fetched);
        s.pos = 0;
        // A short batch is the end of the stream; a full one may have more behind
        // it: read that while the caller sends this one.
        if (s.current.size() < kBatch) s.last = true;
        else s.fetch();
        if (s.current.empty()) co_return std::span<const std::byte>{};
    }
    const std::size_t n = std::min(max, s.current.size() - s.pos);
    std::span<const std::byte> out(s.current.data() + s.pos, n);
    s.pos += n;
    co_return out;
}

}  // namespace pg::output
