// SPDX-License-Identifier: Apache-2.0
// Coroutine glue: run blocking work on the pool, await a spool commit.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "gateway/spool/spool.hpp"

namespace pg::net {

namespace asio = boost::asio;

// Runs `f()` on the blocking pool and resumes the caller on its own executor.
template <class F>
asio::awaitable<std::invoke_result_t<F>> run_blocking(asio::thread_pool& pool, F f) {
    using R = std::invoke_result_t<F>;
    co_return co_await asio::co_spawn(
        pool, [f = std::move(f)]() mutable -> asio::awaitable<R> { co_return f(); }, asio::use_awaitable);
}

// Hands a finished writer to the spool's group commit and waits for the outcome.
inline asio::awaitable<spool::Result<spool::JobRecord>> async_commit(spool::Spool& spool,
                                                                      std::unique_ptr<spool::JobWriter> w) {
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(spool::Result<spool::JobRecord>)>(
        [&spool](auto handler, std::unique_ptr<spool::JobWriter> writer) {
            auto h = std::make_shared<decltype(handler)>(std::move(handler));
            spool.commit(std::move(writer), [h](spool::Result<spool::JobRecord> r) {
                auto ex = asio::get_associated_executor(*h);
                asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
            });
        },
        asio::use_awaitable, std::move(w));
}

}  // namespace pg::net
