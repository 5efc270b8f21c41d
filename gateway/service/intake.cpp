// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/intake.hpp"

#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/failover.hpp"

namespace pg::service {

boost::asio::awaitable<spool::Result<spool::JobRecord>> finish_and_commit(app::Gateway& gw,
                                                                         std::unique_ptr<spool::JobWriter> writer,
                                                                         const log::Fields& fields) {
    std::function<void(spool::JobWriter&)> none;
    co_return co_await finish_and_commit(gw, std::move(writer), fields, std::move(none));
}

boost::asio::awaitable<spool::Result<spool::JobRecord>> finish_and_commit(
    app::Gateway& gw, std::unique_ptr<spool::JobWriter> writer, const log::Fields& fields,
    std::function<void(spool::JobWriter&)> before_commit) {
    auto finished = co_await net::run_blocking(gw.pool(), [&writer] { return writer->finish(); });
    if (!finished) {
        gw.log().warn(fields, "job refused: {}", finished.error().message());
        co_await net::run_blocking(gw.pool(), [&writer] { writer->discard(); });
        co_return finished.error();
    }
    // Direct and server queues route the job in the commit itself (after finish():
    // the duplicate check needs the document's digest).
    gw.failover().route_at_commit(*writer);
    if (before_commit) before_commit(*writer);
    const std::uint64_t size = writer->size();
    auto committed = co_await net::async_commit(gw.spool(), std::move(writer));
    if (!committed) {
        gw.log().warn(fields, "job not committed: {}", committed.error().message());
        co_return committed.error();
    }
    log::Fields f = fields;
    f.event = "job_committed";
    if (!committed->delivery.held_by.empty())
        gw.log().info(f, "job committed, {} bytes, held: {}", size, log::escape(committed->delivery.message));
    else
        gw.log().info(f, "job committed, {} bytes, state {}", size, spool::ipp_name(committed->state));
    if (committed->state == spool::JobState::pending) gw.forwarder().wake(committed->delivery.route);
    co_return committed;
}

bool in_network(const conf::PeerOwner& net_conf, const boost::asio::ip::address& peer_in) {
    auto peer = peer_in;
    if (peer.is_v6() && peer.to_v6().is_v4_mapped())
        peer = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, peer.to_v6());
    boost::system::error_code ec;
    auto net = boost::asio::ip::make_address(net_conf.address, ec);
    if (ec || net.is_v4() != peer.is_v4()) return false;
    if (peer.is_v4()) {
        const auto a = peer.to_v4().to_uint(), b = net.to_v4().to_uint();
        const std::uint32_t mask = net_conf.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - net_conf.prefix);
        return (a & mask) == (b & mask);
    }
    const auto a = peer.to_v6().to_bytes(), b = net.to_v6().to_bytes();
    for (unsigned bit = 0; bit < net_conf.prefix; ++bit) {
        const unsigned byte = bit / 8, shift = 7 - bit % 8;
        if (((a[byte] >> shift) & 1) != ((b[byte] >> shift) & 1)) return false;
    }
    return true;
}

std::string owner_for_peer(const conf::Config& config, const boost::asio::ip::address& peer) {
    for (const auto& o : config.peer_owners)
        if (in_network(o, peer)) return o.user;
    auto shown = peer;
    if (shown.is_v6() && shown.to_v6().is_v4_mapped())
        shown = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, shown.to_v6());
    return shown.to_string();
}

}  // namespace pg::service
