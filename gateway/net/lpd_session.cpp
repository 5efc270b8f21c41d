// SPDX-License-Identifier: Apache-2.0
// LPD sessions. See lpd_session.hpp.
#include "gateway/net/lpd_session.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "gateway/app/gateway.hpp"
#include "gateway/net/accept.hpp"
#include "gateway/net/async.hpp"
#include "gateway/net/raw_session.hpp"
#include "gateway/service/intake.hpp"
#include "protocols/ipp/format.hpp"
#include "protocols/lpd/command.hpp"
#include "protocols/lpd/control_file.hpp"
#include "protocols/lpd/reply.hpp"

namespace pg::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t kChunk = 256 * 1024;
constexpr char kAck = '\0';
constexpr char kNak = '\1';

class Session {
public:
    Session(app::Gateway& gw, tcp::socket socket) : gw_(gw), socket_(std::move(socket)), idle_(socket_.get_executor()) {}

    tcp::socket& socket() { return socket_; }
    void abort() {
        aborted_ = true;
        boost::system::error_code ec;
        socket_.set_option(asio::socket_base::linger(true, 0), ec);
        socket_.close(ec);
    }

    asio::awaitable<void> run(std::string peer);

private:
    enum class Read { ok, eof, failed };
    // A line without its LF (a trailing CR is the parser's business). eof only at
    // a line boundary with nothing read.
    asio::awaitable<Read> read_line(std::string& line, std::size_t max);
    // Exactly `n` bytes, handed to `sink` chunk by chunk (on the I/O thread).
    template <class Sink>
    asio::awaitable<Read> read_exact(std::uint64_t n, Sink&& sink);
    asio::awaitable<std::size_t> fill();  // 0 = EOF or error (read_error_ set)
    asio::awaitable<bool> reply(std::string_view bytes);

    asio::awaitable<void> receive_job(const lpd::Command& cmd);
    asio::awaitable<void> queue_state(const lpd::Command& cmd);
    asio::awaitable<void> remove_jobs(const lpd::Command& cmd);
    void refuse(std::string_view why);

    app::Gateway& gw_;
    tcp::socket socket_;
    asio::steady_timer idle_;
    std::string peer_;
    std::vector<std::byte> buf_ = std::vector<std::byte>(kChunk);
    std::size_t begin_ = 0, end_ = 0;
    bool eof_ = false;
    bool timed_out_ = false;  // the last read ended by limits.idle_timeout, not by the peer
    bool aborted_ = false;
};

asio::awaitable<std::size_t> Session::fill() {
    if (eof_) co_return 0;
    if (begin_ == end_) begin_ = end_ = 0;
    if (end_ == buf_.size()) co_return 0;
    idle_.expires_after(gw_.config().limits.idle_timeout);
    auto r = co_await (socket_.async_read_some(asio::buffer(buf_.data() + end_, buf_.size() - end_),
                                               asio::as_tuple(asio::use_awaitable)) ||
                       idle_.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (r.index() == 1 || aborted_) {
        eof_ = true;
        timed_out_ = r.index() == 1;
        co_return 0;
    }
    auto [ec, n] = std::get<0>(r);
    end_ += n;
    if (ec) eof_ = true;
    co_return n;
}

asio::awaitable<Session::Read> Session::read_line(std::string& line, std::size_t max) {
    line.clear();
    for (;;) {
        auto* first = buf_.data() + begin_;
        auto* last = buf_.data() + end_;
        auto* lf = std::find(first, last, std::byte{'\n'});
        const std::size_t take = static_cast<std::size_t>(lf - first);
        line.append(reinterpret_cast<const char*>(first), take);
        begin_ += take;
        if (lf != last) {
            ++begin_;  // the LF
            co_return Read::ok;
        }
        if (line.size() > max) co_return Read::failed;
        if (co_await fill() == 0) co_return line.empty() ? Read::eof : Read::failed;
    }
}

template <class Sink>
asio::awaitable<Session::Read> Session::read_exact(std::uint64_t n, Sink&& sink) {
    while (n > 0) {
        if (begin_ == end_) {
            if (co_await fill() == 0) co_return Read::failed;
        }
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(n, end_ - begin_));
        if (!co_await sink(std::span<const std::byte>(buf_.data() + begin_, take))) co_return Read::failed;
        begin_ += take;
        n -= take;
    }
    co_return Read::ok;
}

asio::awaitable<bool> Session::reply(std::string_view bytes) {
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(bytes.data(), bytes.size()),
                                              asio::as_tuple(asio::use_awaitable));
    co_return !ec;
}

void Session::refuse(std::string_view why) {
    gw_.log().warn({.event = "lpd_refused", .peer = peer_, .proto = "lpd"}, "{}", log::escape(why, 512));
}

asio::awaitable<void> Session::run(std::string peer) {
    peer_ = std::move(peer);
    std::string line;
    auto got = co_await read_line(line, lpd::max_command_line);
    if (got != Read::ok) {
        if (got == Read::failed) refuse("no complete command line");
        co_return;
    }
    auto cmd = lpd::parse_command(line);
    if (!cmd) {
        refuse("bad command: " + cmd.error().message);
        co_await reply(std::string_view(&kNak, 1));
        co_return;
    }
    const auto cfg = gw_.config_ptr();
    if (!cfg->queues.count(cmd->queue)) {
        refuse("unknown queue '" + cmd->queue + "'");
        co_await reply(std::string_view(&kNak, 1));
        co_return;
    }
    switch (cmd->kind) {
    case lpd::CommandKind::print_waiting: co_await reply(std::string_view(&kAck, 1)); break;
    case lpd::CommandKind::receive_job: co_await receive_job(*cmd); break;
    case lpd::CommandKind::short_queue_state:
    case lpd::CommandKind::long_queue_state: co_await queue_state(*cmd); break;
    case lpd::CommandKind::remove_jobs: co_await remove_jobs(*cmd); break;
    }
}

// One job being received on a receive-job command.
struct Incoming {
    std::unique_ptr<spool::JobWriter> writer;
    std::optional<lpd::ControlFile> control;
    std::vector<std::string> names;              // data files received, in order
    std::vector<spool::DocumentPart> parts;      // their formats and sizes
    bool complete() const {
        if (!control) return false;
        return std::all_of(control->files.begin(), control->files.end(), [&](const lpd::PrintFile& f) {
            return std::find(names.begin(), names.end(), f.name) != names.end();
        });
    }
};

asio::awaitable<void> Session::receive_job(const lpd::Command& cmd) {
    const std::string queue = cmd.queue;
    if (!co_await reply(std::string_view(&kAck, 1))) co_return;
    const auto limits = gw_.spool().limits();
    lpd::SubcommandLimits sublimits;
    sublimits.max_data_bytes = limits.max_job_size;
    Incoming job;
    auto discard = [&]() -> asio::awaitable<void> {
        if (job.writer) {
            auto* w = job.writer.get();
            co_await run_blocking(gw_.pool(), [w] { w->discard(); });
        }
        job = Incoming{};
    };
    std::string line;
    bool peer_gone = false;  // the client half-closed after a complete file
    for (;;) {
        auto got = co_await read_line(line, lpd::max_command_line);
        if (got == Read::eof) break;
        if (got == Read::failed) {
            if (job.writer || job.control) refuse("connection ended inside a job; nothing kept");
            break;
        }
        auto sub = lpd::parse_subcommand(line, sublimits);
        if (!sub) {
            refuse("bad subcommand: " + sub.error().message);
            co_await reply(std::string_view(&kNak, 1));
            break;
        }
        if (sub->kind == lpd::SubcommandKind::abort) {
            co_await discard();
            if (!co_await reply(std::string_view(&kAck, 1))) break;
            continue;
        }
        if (sub->kind == lpd::SubcommandKind::control_file) {
            if (job.control) {
                refuse("a second control file for one job");
                co_await reply(std::string_view(&kNak, 1));
                break;
            }
            if (!co_await reply(std::string_view(&kAck, 1))) break;
            std::string text;
            auto collect = [&](std::span<const std::byte> b) -> asio::awaitable<bool> {
                text.append(reinterpret_cast<const char*>(b.data()), b.size());
                co_return true;
            };
            if (co_await read_exact(sub->count + 1, collect) != Read::ok) {
                refuse("connection ended inside the control file; nothing kept");
                break;
            }
            if (text.back() != '\0') {
                refuse("control file not followed by its NUL");
                co_await reply(std::string_view(&kNak, 1));
                break;
            }
            text.pop_back();
            auto parsed = lpd::parse_control_file(std::string_view(text));
            if (!parsed) {
                refuse("bad control file: " + parsed.error().message);
                co_await reply(std::string_view(&kNak, 1));
                break;
            }
            job.control = std::move(*parsed);
        } else {
            // Data file: into the spool as it arrives.
            if (!job.writer) {
                spool::JobMeta meta;
                meta.queue = queue;
                meta.peer = peer_;
                meta.protocol = "lpd";
                boost::system::error_code peer_ec;
                meta.user = service::owner_for_peer(gw_.config(), socket_.remote_endpoint(peer_ec).address());
                auto begun = gw_.spool().begin_job(std::move(meta));
                if (!begun) {
                    refuse("job refused: " + begun.error().message());
                    co_await reply(std::string_view(&kNak, 1));
                    break;
                }
                job.writer = std::move(*begun);
            }
            if (!co_await reply(std::string_view(&kAck, 1))) break;
            spool::JobWriter* w = job.writer.get();
            const std::uint64_t start = w->size();
            std::string format;
            spool::Result<void> appended;
            auto store = [&](std::span<const std::byte> b) -> asio::awaitable<bool> {
                if (format.empty()) format = std::string(ipp::detect_format(b));
                appended = co_await run_blocking(gw_.pool(), [w, b] { return w->append(b); });
                co_return appended.has_value();
            };
            Read r = Read::ok;
            if (sub->until_eof) {
                // Everything to the peer's half-close is this file.
                for (;;) {
                    if (begin_ == end_) {
                        if (co_await fill() == 0) break;
                    }
                    std::span<const std::byte> b(buf_.data() + begin_, end_ - begin_);
                    begin_ = end_;
                    if (!co_await store(b)) {
                        r = Read::failed;
                        break;
                    }
                }
            } else {
                r = co_await read_exact(sub->count, store);
                if (r == Read::ok) {
                    std::byte nul{1};
                    auto one = [&](std::span<const std::byte> b) -> asio::awaitable<bool> {
                        nul = b[0];
                        co_return true;
                    };
                    // CUPS's lpd backend in mode=stream sends the whole file and
                    // closes without the NUL: the file is complete, the peer gone.
                    // (Plain statements: GCC 12 miscompiles co_await inside && chains.)
                    std::size_t more = end_ - begin_;
                    if (more == 0) more = co_await fill();
                    if (more == 0 && eof_ && !timed_out_) peer_gone = true;
                    else r = co_await read_exact(1, one);
                    if (r == Read::ok && !peer_gone && nul != std::byte{0}) r = Read::failed;
                }
            }
            if (r != Read::ok || !appended) {
                refuse(appended ? "connection ended inside a data file; nothing kept"
                                : "job refused: " + appended.error().message());
                co_await discard();
                co_await reply(std::string_view(&kNak, 1));
                break;
            }
            job.names.push_back(sub->name);
            job.parts.push_back({format.empty() ? "application/octet-stream" : format, sub->name, w->size() - start});
        }
        if (!job.complete()) {
            if (sub->until_eof || peer_gone) break;  // the peer is gone; an incomplete job is dropped below
            if (!co_await reply(std::string_view(&kAck, 1))) break;
            continue;
        }
        // Complete: commit, then acknowledge the last file.
        const lpd::ControlFile& cf = *job.control;
        spool::JobMeta& meta = job.writer->meta();
        if (cf.user) meta.user = *cf.user;
        meta.name = std::string(cf.display_title());
        for (auto& part : job.parts) {
            auto it = std::find_if(cf.files.begin(), cf.files.end(),
                                   [&](const lpd::PrintFile& f) { return f.name == part.name; });
            if (it != cf.files.end()) {
                // The print line says what the data is where sniffing cannot: o is
                // PostScript; f, p and r are text.
                if (it->format == 'o') part.format = "application/postscript";
                if ((it->format == 'f' || it->format == 'p' || it->format == 'r') &&
                    part.format == "application/octet-stream")
                    part.format = "text/plain";
                if (it->source_name) part.name = *it->source_name;
            }
        }
        meta.document_format = job.parts.front().format;
        meta.document_name = job.parts.front().name;
        if (job.parts.size() > 1) meta.documents = job.parts;
        if (cf.total_copies() > 1)
            meta.attributes = "{\"copies\":" + std::to_string(std::min<std::uint64_t>(cf.total_copies() / cf.files.size(), 999)) + "}";
        const std::string job_queue = queue;
        log::Fields fields{.job_id = job.writer->id(), .queue = job_queue, .peer = peer_, .proto = "lpd"};
        auto committed = co_await service::finish_and_commit(gw_, std::move(job.writer), fields);
        job = Incoming{};
        if (!committed) {
            co_await reply(std::string_view(&kNak, 1));
            break;
        }
        if (sub->until_eof || peer_gone || !co_await reply(std::string_view(&kAck, 1))) break;
    }
    if (job.writer || job.control) {
        refuse("receive-job ended with an incomplete job; nothing kept");
        co_await discard();
    }
}

asio::awaitable<void> Session::queue_state(const lpd::Command& cmd) {
    std::vector<lpd::QueueEntry> entries;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.meta.queue != cmd.queue) return;
        if (j.state != spool::JobState::held && j.state != spool::JobState::pending &&
            j.state != spool::JobState::processing)
            return;
        const auto id = static_cast<std::uint32_t>(j.id);
        if (!lpd::selects(cmd.operands, j.meta.user, id)) return;
        lpd::QueueEntry e;
        e.active = j.state == spool::JobState::processing;
        e.owner = j.meta.user;
        e.job_id = id;
        // LPD names no requester: titles stay private, as for anonymous IPP.
        e.title = "";
        e.size = j.size;
        entries.push_back(std::move(e));
    });
    const bool busy = std::any_of(entries.begin(), entries.end(), [](const lpd::QueueEntry& e) { return e.active; });
    const std::string text = lpd::format_queue_state(
        cmd.queue, busy ? lpd::QueueStatus::printing : lpd::QueueStatus::ready, entries,
        cmd.kind == lpd::CommandKind::long_queue_state);
    co_await reply(text);
}

// \5: the agent removes its own jobs among those the operands select, or any of
// them from a peer in lpd.admin_peers (cancel, kept in the history like an IPP
// Cancel-Job).
asio::awaitable<void> Session::remove_jobs(const lpd::Command& cmd) {
    boost::system::error_code ec;
    const auto peer = socket_.remote_endpoint(ec).address();
    const auto cfg = gw_.config_ptr();
    const bool admin = !ec && std::any_of(cfg->lpd.admin_peers.begin(), cfg->lpd.admin_peers.end(),
                                          [&](const conf::PeerOwner& n) { return service::in_network(n, peer); });
    std::vector<std::uint64_t> ids;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.meta.queue != cmd.queue || spool::is_final(j.state) || (!admin && j.meta.user != cmd.agent)) return;
        if (lpd::selects(cmd.operands, j.meta.user, static_cast<std::uint32_t>(j.id))) ids.push_back(j.id);
    });
    for (auto id : ids) {
        spool::Transition t;
        t.to = spool::JobState::canceled;
        t.reason = "job-canceled-by-user";
        t.message = "removed over LPD by its owner";
        t.event = "job_canceled";
        co_await run_blocking(gw_.pool(), [this, id, &t] { return gw_.spool().transition(id, t); });
    }
    co_await reply(std::string_view(&kAck, 1));
}

asio::awaitable<void> lpd_session(app::Gateway& gw, tcp::socket socket) {
    auto session = std::make_shared<Session>(gw, std::move(socket));
    boost::system::error_code ec;
    auto remote = session->socket().remote_endpoint(ec);
    if (ec) co_return;
    const std::string peer = endpoint_string(remote);
    std::uint64_t id = gw.register_connection([session] { session->abort(); });
    if (id == 0) {
        gw.log().warn({.event = "connection_refused", .peer = peer, .proto = "lpd"},
                      "too many connections (limits.max_connections); closing");
        session->abort();
        co_return;
    }
    Registration registration{gw, id};
    co_await session->run(peer);
    session->socket().shutdown(tcp::socket::shutdown_send, ec);
    session->socket().close(ec);
}

}  // namespace

asio::awaitable<void> lpd_accept_loop(app::Gateway& gw, tcp::acceptor& acceptor) {
    return accept_loop(gw, acceptor, "lpd", [&gw](tcp::socket socket) { return lpd_session(gw, std::move(socket)); });
}

}  // namespace pg::net
