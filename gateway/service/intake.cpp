// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/intake.hpp"

#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"

namespace pg::service {

boost::asio::awaitable<spool::Result<spool::JobRecord>> finish_and_commit(app::Gateway& gw,
                                                                         std::unique_ptr<spool::JobWriter> writer,
                                                                         const log::Fields& fields) {
    auto finished = co_await net::run_blocking(gw.pool(), [&writer] { return writer->finish(); });
    if (!finished) {
        gw.log().warn(fields, "job refused: {}", finished.error().message());
        co_await net::run_blocking(gw.pool(), [&writer] { writer->discard(); });
        co_return finished.error();
    }
    const std::uint64_t size = writer->size();
    auto committed = co_await net::async_commit(gw.spool(), std::move(writer));
    if (!committed) {
        gw.log().warn(fields, "job not committed: {}", committed.error().message());
        co_return committed.error();
    }
    log::Fields f = fields;
    f.event = "job_committed";
    gw.log().info(f, "job committed, {} bytes, state {}", size, spool::ipp_name(committed->state));
    co_return committed;
}

}  // namespace pg::service
