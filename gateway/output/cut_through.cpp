// SPDX-License-Identifier: Apache-2.0
// Cut-through forwarding. See cut_through.hpp and docs/job-states.md.
#include "gateway/output/cut_through.hpp"

#include <cstdlib>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cups/ipp.h>
#include <fmt/format.h>

#include "gateway/app/gateway.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/failover.hpp"
#include "gateway/upstream/monitor.hpp"
#include "protocols/ipp/client.hpp"

namespace pg::output {

namespace asio = boost::asio;
using spool::JobState;

// The buffer, handed to the IppClient as the document: a block at a time, the end
// once the input ended; an error once abandoned (the call fails, the connection is
// reset inside a chunk).
class CutThrough::Source final : public net::BodySource {
public:
    explicit Source(CutThrough& c) : c_(c) {}
    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        if (c_.lent_) {
            c_.buffered_ -= c_.blocks_.front().size();
            c_.blocks_.pop_front();
            c_.lent_ = false;
            c_.space_.cancel();
        }
        for (;;) {
            if (c_.abandoned_) co_return boost::system::error_code(asio::error::operation_aborted);
            if (!c_.blocks_.empty()) {
                c_.lent_ = true;
                co_return std::span<const std::byte>(c_.blocks_.front());
            }
            if (c_.input_ended_) co_return std::span<const std::byte>{};
            c_.data_.expires_at(asio::steady_timer::time_point::max());
            co_await c_.data_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

private:
    CutThrough& c_;
};

// The body's end: confirmed once the job is committed here.
class CutThrough::End final : public BodyEnd {
public:
    explicit End(CutThrough& c) : c_(c) {}
    asio::awaitable<bool> confirmed() override {
        for (;;) {
            if (c_.abandoned_) co_return false;
            if (c_.released_) co_return true;
            c_.data_.expires_at(asio::steady_timer::time_point::max());
            co_await c_.data_.async_wait(asio::as_tuple(asio::use_awaitable));
        }
    }

private:
    CutThrough& c_;
};

std::shared_ptr<CutThrough> CutThrough::begin(app::Gateway& gw, const std::string& queue_name, std::uint64_t job_id,
                                              const std::string& peer) {
    const auto cfg = gw.config_ptr();
    if (!cfg->upstream.enabled() || !cfg->upstream.cut_through) return nullptr;
    const auto q = cfg->queues.find(queue_name);
    if (q == cfg->queues.end() || q->second.mode != conf::QueueMode::server) return nullptr;
    const auto target = parse_printer_uri(q->second.server_queue);
    if (!target || (target->scheme != "ipp" && target->scheme != "ipps")) return nullptr;
    if (!gw.monitor().enabled() || gw.monitor().state() != upstream::State::online) return nullptr;
    std::string route = service::server_route(queue_name);
    if (!gw.forwarder().claim_cut_through(route)) return nullptr;
    return std::make_shared<CutThrough>(gw, queue_name, std::move(route), q->second.server_queue, job_id, peer);
}

CutThrough::CutThrough(app::Gateway& gw, std::string queue, std::string route, std::string uri, std::uint64_t job_id,
                       std::string peer)
    : gw_(gw),
      queue_(std::move(queue)),
      route_(std::move(route)),
      uri_(std::move(uri)),
      job_id_(job_id),
      peer_(std::move(peer)),
      data_(gw.io()),
      space_(gw.io()),
      finished_(gw.io()) {}

log::Fields CutThrough::fields(std::string_view event) const {
    return {.event = event, .job_id = job_id_, .queue = queue_, .peer = peer_, .proto = "raw"};
}

asio::awaitable<void> CutThrough::feed(std::span<const std::byte> data) {
    if (abandoned_ || data.empty()) co_return;
    const auto since = std::chrono::steady_clock::now();
    const auto deadline = since + kStallLimit;
    struct Waited {
        std::chrono::steady_clock::duration& total;
        std::chrono::steady_clock::time_point since;
        ~Waited() { total += std::chrono::steady_clock::now() - since; }
    };
    std::optional<Waited> waited;
    while (!abandoned_ && buffered_ > 0 && buffered_ + data.size() > kBufferBytes) {
        if (!waited) waited.emplace(Waited{full_wait_, since});
        if (std::chrono::steady_clock::now() >= deadline) {
            abandon(fmt::format("the server queue took no data for {} ms", kStallLimit.count()), true);
            co_return;
        }
        space_.expires_at(deadline);
        co_await space_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (abandoned_) co_return;
    blocks_.emplace_back(data.begin(), data.end());
    buffered_ += data.size();
    fed_ += data.size();
    data_.cancel();
}

void CutThrough::start(const spool::JobMeta& meta) {
    if (started_ || abandoned_) return;
    started_ = true;
    started_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    gw_.log().debug(fields("job_forwarding"), "job {}: cut-through to {} starts", job_id_, log::escape(route_));
    auto self = shared_from_this();  // named: GCC 12 mishandles prvalue coroutine arguments
    asio::co_spawn(gw_.io(), run(self, meta), asio::detached);
}

void CutThrough::input_ended() {
    input_ended_ = true;
    data_.cancel();
}

bool CutThrough::prepare_commit(spool::JobWriter& writer) {
    if (abandoned_) return false;
    const spool::Delivery& d = writer.initial_delivery();
    if (!started_ || d.route != route_ || !d.held_by.empty()) {
        abandon(started_ ? "the job is not routed to the server queue at its commit" : "the send never started",
                false);
        return false;
    }
    writer.sending_at_commit(started_ms_, "sending to " + route_ + " (cut-through)");
    committing_ = true;
    return true;
}

asio::awaitable<void> CutThrough::complete(const spool::JobRecord& job) {
    auto self = shared_from_this();
    released_ = true;
    data_.cancel();
    while (!done_) {
        finished_.expires_at(asio::steady_timer::time_point::max());
        co_await finished_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (remote_id_ && gw_.forwarder().die_after_ack()) {
        // Fault injection for the reconciliation test: the server has the whole job,
        // committed here in doubt, and we die before recording the acknowledgement.
        gw_.log().flush();
        std::_Exit(137);
    }
    if (remote_id_) {
        gw_.log().info(fields("job_forwarded"),
                       "job {} forwarded cut-through to {} as job {}, {} bytes (the intake waited {} ms for the "
                       "server queue)",
                       job.id, log::escape(route_), *remote_id_, job.size,
                       std::chrono::duration_cast<std::chrono::milliseconds>(full_wait_).count());
        co_await gw_.forwarder().cut_through_acknowledged(job, route_, *remote_id_);
    } else {
        const std::string why = "cut-through: " + (error_.empty() ? std::string("the send was cut") : error_);
        co_await gw_.forwarder().cut_through_failed(job, route_, why);
    }
    give_back_route();
}

void CutThrough::abandon(const std::string& why, bool fault) {
    if (abandoned_ || released_) return;
    reset_upstream();
    if (committing_) return;  // complete() records it
    gw_.log().warn(fields("cut_through_abandoned"),
                   "job {}: cut-through to {} abandoned after {} bytes: {}; the job is stored and forwarded", job_id_,
                   log::escape(route_), fed_, log::escape(why));
    if (fault) gw_.monitor().forward_failed(why);
    give_back_route();
}

void CutThrough::close_session() {
    if (released_) return;  // complete() gives the route back
    if (!abandoned_ && !committing_) {
        abandon("the intake ended without a commit", false);
        return;
    }
    reset_upstream();
    give_back_route();
}

void CutThrough::cut() {
    if (!committing_) {
        abandon("the gateway is shutting down", false);
        return;
    }
    // Committed (or about to be): the job is in doubt; the next start reconciles it.
    reset_upstream();
}

void CutThrough::reset_upstream() {
    abandoned_ = true;
    if (client_) client_->close();
    data_.cancel();
    space_.cancel();
}

void CutThrough::give_back_route() {
    if (!route_claimed_) return;
    route_claimed_ = false;
    gw_.forwarder().end_cut_through(route_);
}

void CutThrough::failed(const std::string& why, bool fault) {
    if (error_.empty()) error_ = why;
    if (!released_) abandon(why, fault);
}

asio::awaitable<void> CutThrough::run(std::shared_ptr<CutThrough> self, spool::JobMeta meta) {
    IppClient client(gw_.io().get_executor(), gw_.forwarder().server_tls(), uri_, true);
    client_ = &client;
    Source source(*this);
    End end(*this);
    ipp::client::Caller caller{uri_, meta.user, 1};
    auto gpa = co_await client.call(ipp::client::get_printer_attributes(caller));
    std::optional<std::string> format;
    if (abandoned_) {
        failed("abandoned", false);
    } else if (!gpa) {
        failed(gpa.error().message, true);
    } else if (!ipp::client::is_success(gpa->operation_or_status())) {
        failed(fmt::format("Get-Printer-Attributes: {}",
                           ippErrorString(static_cast<ipp_status_t>(gpa->operation_or_status()))),
               false);
    } else {
        const auto printer = ipp::client::read_printer(*gpa);
        format = ipp::client::choose_format(printer, meta.document_format);
        if (!printer.accepting || printer.state == 5) {
            failed(printer.accepting ? "the server queue is stopped" : "the server queue is not accepting jobs", false);
        } else if (!format) {
            failed("the server queue does not take " + meta.document_format, false);
        } else {
            spool::JobRecord job;
            job.id = job_id_;
            job.meta = meta;
            auto ticket = job_ticket(job, nullptr, printer, gw_.config_ptr()->upstream.gateway_id);
            ticket.document_format = *format;
            ticket.document_name = meta.document_name;
            caller.request_id = 2;
            const ipp::Message request = ipp::client::print_job(caller, ticket);
            std::optional<std::uint64_t> no_size;
            auto pj = co_await client.call(request, &source, no_size, &end);
            if (!pj) {
                failed(pj.error().message, !abandoned_);
            } else if (!ipp::client::is_success(pj->operation_or_status())) {
                failed(fmt::format("Print-Job: {}", ippErrorString(static_cast<ipp_status_t>(pj->operation_or_status()))),
                       false);
            } else if (released_) {
                remote_id_ = ipp::client::read_job(*pj).job_id;
            } else {
                failed("the server queue answered before the end of the document", true);
            }
        }
    }
    client_ = nullptr;
    blocks_.clear();  // abandoned, or all sent: nothing more goes out
    buffered_ = 0;
    lent_ = false;
    space_.cancel();
    done_ = true;
    finished_.cancel();
    (void)self;
}

}  // namespace pg::output
