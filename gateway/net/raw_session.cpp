// SPDX-License-Identifier: Apache-2.0
#include "gateway/net/raw_session.hpp"

#include <array>
#include <functional>
#include <memory>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "gateway/app/gateway.hpp"
#include "gateway/net/accept.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/cut_through.hpp"
#include "gateway/service/intake.hpp"
#include "protocols/pjl/pjl.hpp"

namespace pg::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t kReadChunk = 256 * 1024;

// The owner and title a PJL header at the head of the stream names.
void apply_pjl(const pjl::HeaderScanner& scan, spool::JobMeta& meta) {
    if (auto owner = scan.header().owner()) meta.user = std::string(*owner);
    if (auto title = scan.header().title()) meta.name = std::string(*title);
}

struct Connection {
    explicit Connection(tcp::socket s) : socket(std::move(s)) {}
    tcp::socket socket;
    bool aborted = false;
    std::shared_ptr<output::CutThrough> cut;  // the job goes to its server queue as it arrives

    // Abortive close: the peer sees a reset, never a clean end it could take
    // for "job accepted".
    void reset() {
        boost::system::error_code ec;
        socket.set_option(asio::socket_base::linger(true, 0), ec);
        socket.close(ec);
    }
};

}  // namespace

std::string endpoint_string(const tcp::endpoint& ep) {
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    if (a.is_v6()) return fmt::format("[{}]:{}", a.to_string(), ep.port());
    return fmt::format("{}:{}", a.to_string(), ep.port());
}

asio::awaitable<void> raw_accept_loop(app::Gateway& gw, tcp::acceptor& acceptor, std::string queue) {
    return accept_loop(gw, acceptor, "raw", [&gw, queue](tcp::socket socket) {
        return raw_session(gw, std::move(socket), queue);
    });
}

asio::awaitable<void> raw_session(app::Gateway& gw, tcp::socket socket, std::string queue) {
    auto conn = std::make_shared<Connection>(std::move(socket));
    boost::system::error_code ec;
    auto remote = conn->socket.remote_endpoint(ec);
    if (ec) co_return;
    // Until the job is committed, any end of this socket, a crash or SIGKILL of the
    // process included, is a reset: a clean close (FIN) is how a 9100 client learns
    // its job was accepted, so the kernel must never send one for us before then.
    conn->socket.set_option(asio::socket_base::linger(true, 0), ec);
    const std::string peer = endpoint_string(remote);

    std::uint64_t conn_id = gw.register_connection([conn] {
        conn->aborted = true;
        if (conn->cut) conn->cut->cut();
        conn->reset();
    });
    if (conn_id == 0) {
        gw.log().warn({.event = "connection_refused", .peer = peer, .proto = "raw"},
                      "too many connections (limits.max_connections); closing");
        conn->reset();
        co_return;
    }
    Registration registration{gw, conn_id};

    const auto cfg = gw.config_ptr();
    if (queue.empty()) queue = cfg->default_queue;
    if (!cfg->queues.count(queue)) {
        gw.log().warn({.event = "job_refused", .queue = queue, .peer = peer, .proto = "raw"},
                      "queue no longer configured; refusing the job");
        conn->reset();
        co_return;
    }
    spool::JobMeta meta;
    meta.queue = queue;
    meta.user = service::owner_for_peer(*cfg, remote.address());
    meta.peer = peer;
    meta.protocol = "raw";
    meta.document_format = "application/octet-stream";

    auto begun = gw.spool().begin_job(std::move(meta));
    if (!begun) {
        gw.log().warn({.event = "job_refused", .queue = queue, .peer = peer, .proto = "raw"}, "job refused: {}",
                      begun.error().message());
        conn->reset();
        co_return;
    }
    std::unique_ptr<spool::JobWriter> writer = std::move(*begun);
    const log::Fields base{.queue = queue, .peer = peer, .proto = "raw"};
    log::Fields fields = base;
    fields.job_id = writer->id();
    // A server queue's job may go to the server while it arrives (cut_through.hpp).
    // Whatever ends this session before the commit abandons it (the route is given back).
    conn->cut = output::CutThrough::begin(gw, queue, writer->id(), peer);
    struct CloseCut {
        std::shared_ptr<output::CutThrough>& cut;
        ~CloseCut() {
            if (cut) cut->close_session();
        }
    } close_cut{conn->cut};
    auto& cut = conn->cut;

    // Uninitialised on purpose: zero-filling 256 KiB per connection cost ~10% CPU on small jobs.
    std::unique_ptr<std::byte[]> buf(new std::byte[kReadChunk]);
    // PJL at the head of the stream names the owner and title (drivers for
    // Windows, CUPS PJL PPDs); the bytes are stored unchanged.
    pjl::HeaderScanner pjl_scan;
    asio::steady_timer idle(conn->socket.get_executor());
    enum class End { eof, dropped, idle } end = End::eof;
    for (;;) {
        idle.expires_after(cfg->limits.idle_timeout);
        auto r = co_await (conn->socket.async_read_some(asio::buffer(buf.get(), kReadChunk), asio::as_tuple(asio::use_awaitable)) ||
                           idle.async_wait(asio::as_tuple(asio::use_awaitable)));
        if (conn->aborted) break;
        if (r.index() == 1) {
            end = End::idle;
            break;
        }
        auto [rec, n] = std::get<0>(r);
        if (n > 0 && !pjl_scan.is_done()) pjl_scan.feed(std::span<const std::byte>(buf.get(), n));
        if (n > 0 && cut && cut->active()) {
            const std::span<const std::byte> data(buf.get(), n);
            co_await cut->feed(data);
            if (!cut->started() && pjl_scan.is_done()) {
                apply_pjl(pjl_scan, writer->meta());
                cut->start(writer->meta());
            }
        }
        if (n > 0) {
            auto appended = co_await run_blocking(gw.pool(), [&writer, &buf, n = n] {
                return writer->append(std::span<const std::byte>(buf.get(), n));
            });
            if (!appended) {
                log::Fields refused = fields;
                refused.event = "job_refused";
                gw.log().warn(refused, "job refused after {} bytes: {}", writer->size(), appended.error().message());
                if (cut) cut->abandon("the job was refused here", false);
                co_await run_blocking(gw.pool(), [&writer] { writer->discard(); });
                conn->reset();
                co_return;
            }
        }
        if (conn->aborted) break;
        if (rec == asio::error::eof) {
            end = End::eof;
            break;
        }
        if (rec) {
            end = End::dropped;
            break;
        }
    }
    if (conn->aborted) {
        gw.log().warn(fields, "job aborted at shutdown after {} bytes; nothing kept", writer->size());
        co_await run_blocking(gw.pool(), [&writer] { writer->discard(); });
        co_return;
    }
    if (end != End::eof && writer->size() == 0) {
        gw.log().debug(base, "connection ended without data; no job");
        co_await run_blocking(gw.pool(), [&writer] { writer->discard(); });
        conn->reset();
        co_return;
    }
    if (end == End::idle)
        gw.log().info(fields, "client idle for {} ms; ending the job with what arrived",
                      cfg->limits.idle_timeout.count());
    else if (end == End::dropped)
        gw.log().info(fields, "client dropped the connection without half-close; keeping what arrived");

    if (!pjl_scan.is_done()) pjl_scan.finish();
    apply_pjl(pjl_scan, writer->meta());
    if (cut) {
        cut->input_ended();
        cut->start(writer->meta());  // when the PJL header took the whole document
    }
    std::function<void(spool::JobWriter&)> before_commit;
    if (cut) before_commit = [&cut](spool::JobWriter& w) { cut->prepare_commit(w); };
    auto committed = co_await service::finish_and_commit(gw, std::move(writer), fields, std::move(before_commit));
    if (!committed) {
        if (cut) cut->abandon("the job was not committed", false);
        conn->reset();
        co_return;
    }
    // The job is durable: from now on even a crash may end the connection cleanly (the
    // job is kept, in doubt if a cut-through send was under way), and a reset would only
    // make the client send it again.
    conn->socket.set_option(asio::socket_base::linger(false, 0), ec);
    // Sent cut-through: the end of the body goes now, after the commit, and the
    // server's answer is recorded before the client hears the job is safe.
    if (cut && committed->state == spool::JobState::processing) co_await cut->complete(*committed);
    // Close our side, cleanly: the client learns the job is safe.
    conn->socket.shutdown(tcp::socket::shutdown_send, ec);
    conn->socket.close(ec);
}

}  // namespace pg::net
