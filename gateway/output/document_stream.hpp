// SPDX-License-Identifier: Apache-2.0
// A spooled job's plaintext, read ahead while it is being sent.
//
// Owns: the job's DocumentReader and up to two batches of plaintext (kBatch bytes
// each): the one being handed out and the next, decrypted on the blocking pool
// while the caller writes the current one to the network. Memory per send is
// bounded (about 2 x kBatch) whatever the job size.
//
// Why: sending a big job segment by segment (decrypt 64 KiB on the pool, hop back,
// write, repeat) left the socket idle during every decrypt and paid a thread hop
// per 64 KiB; reading ahead keeps both busy (bench/upstream.sh, 200 MiB figure).
//
// Threads: create() and next() on the I/O thread (one coroutine at a time).
// The pool work holds a shared_ptr to the stream's state, so dropping the
// stream while a batch is being read is safe: the batch finishes and is freed.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "gateway/spool/spool.hpp"

namespace pg::output {

class DocumentStream {
public:
    static constexpr std::size_t kBatch = 1 << 20;

    DocumentStream(boost::asio::any_io_executor io, boost::asio::thread_pool& pool,
                   std::unique_ptr<spool::DocumentReader> reader);
    ~DocumentStream();
    DocumentStream(const DocumentStream&) = delete;
    DocumentStream& operator=(const DocumentStream&) = delete;

    // The next bytes of the spooled stream, at most `max` (> 0); an empty span at
    // its end. The span stays valid until the next call. corrupt or io_error as
    // DocumentReader::next() reports them.
    boost::asio::awaitable<spool::Result<std::span<const std::byte>>> next(std::size_t max);

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace pg::output
