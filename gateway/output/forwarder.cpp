// SPDX-License-Identifier: Apache-2.0
// Forwarding workers. See forwarder.hpp and docs/job-states.md.
#include "gateway/output/forwarder.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <set>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <cups/ipp.h>
#include <fmt/format.h>

#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/convert.hpp"
#include "gateway/output/document_stream.hpp"
#include "gateway/output/forwarder_worker.hpp"
#include "gateway/output/release_plan.hpp"
#include "gateway/output/stream_clients.hpp"
#include "gateway/service/failover.hpp"
#include "gateway/upstream/monitor.hpp"

namespace pg::output {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using spool::JobState;

namespace {

// Print-Job answered busy (a printer that takes one job at a time, like
// ippeveprinter, while it prints the previous one): tries per attempt, waiting
// 50 ms, doubling to 2 s (about 10 s in all) before the attempt counts as failed.
constexpr int kBusyTries = 10;
constexpr auto kBusyFirst = std::chrono::milliseconds(50);
constexpr auto kBusyMax = std::chrono::milliseconds(2000);
constexpr auto kMaxBackoff = std::chrono::seconds(60);
constexpr auto kFollowFirst = 250ms;           // first Get-Job-Attributes after the send
constexpr auto kFollowMax = 5s;                // then growing to this

// One document of a job. The spooled stream is the job's documents one after
// another: each PartBody takes `size` bytes of it from the read-ahead stream.
class PartBody final : public net::BodySource {
public:
    PartBody(app::Gateway& gw, DocumentStream& stream, std::uint64_t id, std::uint64_t size)
        : gw_(gw), stream_(stream), id_(id), left_(size) {}

    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        // A job canceled while it is being sent stops here.
        if (auto r = gw_.spool().find(id_); !r || r->state == JobState::canceled)
            co_return boost::system::error_code(asio::error::operation_aborted);
        if (left_ == 0) co_return std::span<const std::byte>{};
        auto chunk = co_await stream_.next(static_cast<std::size_t>(std::min<std::uint64_t>(left_, SIZE_MAX)));
        if (!chunk) co_return chunk.error();
        if (chunk->empty()) co_return spool::make_error_code(spool::errc::corrupt);  // shorter than its parts
        left_ -= chunk->size();
        co_return *chunk;
    }

    // Reads and drops the whole part (a document the printer already has).
    asio::awaitable<boost::system::error_code> skip() {
        while (left_ > 0) {
            auto chunk = co_await stream_.next(static_cast<std::size_t>(std::min<std::uint64_t>(left_, SIZE_MAX)));
            if (!chunk) co_return chunk.error();
            if (chunk->empty()) co_return spool::make_error_code(spool::errc::corrupt);
            left_ -= chunk->size();
        }
        co_return boost::system::error_code{};
    }

private:
    app::Gateway& gw_;
    DocumentStream& stream_;
    std::uint64_t id_;
    std::uint64_t left_;
};

// The job's documents: its parts, or the one document.
std::vector<spool::DocumentPart> parts_of(const spool::JobRecord& job) {
    if (!job.meta.documents.empty()) return job.meta.documents;
    return {{job.meta.document_format, job.meta.document_name, job.size}};
}

// "12,13" -> {12, 13}: the printer's job ids of the documents it acknowledged.
std::vector<std::int32_t> remote_ids(const std::string& text) {
    std::vector<std::int32_t> out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        auto comma = text.find(',', pos);
        if (comma == std::string::npos) comma = text.size();
        out.push_back(static_cast<std::int32_t>(std::strtol(text.substr(pos, comma - pos).c_str(), nullptr, 10)));
        pos = comma + 1;
    }
    return out;
}

// A document converted on its way (convert.hpp): Ghostscript starts on the first
// next(), or earlier with prepare(), reading `part`. finish() must run before
// `part` goes away.
class ConvertedPart final : public net::BodySource {
public:
    ConvertedPart(asio::any_io_executor ex, PartBody& part, std::uint64_t size, ConvertOptions opts)
        : ex_(std::move(ex)), part_(part), size_(size), opts_(std::move(opts)) {}

    // Starts the conversion and waits for its first bytes; false when it failed.
    asio::awaitable<bool> prepare() {
        if (!conv_) conv_ = co_await Converter::start(ex_, part_, size_, opts_, limits_);
        co_return !conv_->failure();
    }
    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        const bool ready = co_await prepare();
        if (!ready) co_return boost::system::errc::make_error_code(boost::system::errc::io_error);
        co_return co_await conv_->next();
    }
    // Why the conversion itself failed so far (not counting a stop by finish()).
    std::optional<std::string> failure() const { return conv_ ? conv_->failure() : std::nullopt; }
    asio::awaitable<void> finish() {
        if (conv_) co_await conv_->finish();
    }
    const Converter* converter() const { return conv_.get(); }
    const ConvertOptions& options() const { return opts_; }

private:
    asio::any_io_executor ex_;
    PartBody& part_;
    std::uint64_t size_;
    ConvertOptions opts_;
    ConvertLimits limits_;  // the defaults (convert.hpp); named: see Converter::start
    std::unique_ptr<Converter> conv_;
};

ConvertOptions convert_options(const conf::PrinterProfile* profile, const std::string& from, const std::string& to) {
    ConvertOptions o;
    o.source_format = from;
    o.target_format = to;
    o.color = profile == nullptr || profile->color;
    // The profile's highest resolution when configured, else 300 dpi (fast, and
    // what every PCL printer takes).
    if (profile != nullptr && !profile->resolutions.empty())
        o.resolution = *std::max_element(profile->resolutions.begin(), profile->resolutions.end());
    return o;
}

std::string status_text(std::uint16_t status, const ipp::Message& m) {
    std::string msg = ipp::client::status_message(m);
    return fmt::format("{}{}{}", ippErrorString(static_cast<ipp_status_t>(status)), msg.empty() ? "" : ": ", msg);
}

// The first job-state-reasons keyword worth keeping ("none" and friends are not).
std::string first_reason(const std::vector<std::string>& reasons, std::string fallback) {
    for (const auto& r : reasons)
        if (r != "none" && r != "job-printing" && !r.empty()) return r;
    return fallback;
}

// One line per conversion: info when it worked, error when it failed (the job is
// aborted), and Ghostscript's stderr at debug level, bounded and escaped.
void log_conversion(log::Logger& log, const spool::JobRecord& job, const ConvertedPart& part,
                    const std::optional<std::string>& failure) {
    const Converter* c = part.converter();
    const auto& o = part.options();
    if (failure)
        log.error({.event = "job_convert", .job_id = job.id, .queue = job.meta.queue},
                  "job {}: conversion from {} to {} failed: {}", job.id, o.source_format, o.target_format,
                  log::escape(*failure));
    else
        log.info({.event = "job_convert", .job_id = job.id, .queue = job.meta.queue},
                 "job {}: converted from {} to {} ({} bytes)", job.id, o.source_format, o.target_format,
                 c ? c->bytes_out() : 0);
    if (c && !c->stderr_text().empty())
        log.debug({.event = "job_convert", .job_id = job.id, .queue = job.meta.queue}, "job {}: gs stderr{}: {}",
                  job.id, c->stderr_truncated() ? " (cut)" : "", log::escape(c->stderr_text(), 4096));
}

}  // namespace

std::string sent_job_name(const spool::JobRecord& job, std::string_view gateway_id) {
    // Blanks only: servers list nothing that could be matched, so it counts as untitled.
    if (job.meta.name.find_first_not_of(" \t") != std::string::npos) return job.meta.name;
    if (gateway_id.empty()) return fmt::format("untitled (printgate job {})", job.id);
    return fmt::format("untitled (printgate {} job {})", gateway_id, job.id);
}

// The job's ticket for `printer`: its sent_job_name, and copies, sides, colour and
// media as the job asked (JobMeta::attributes), narrowed by the printer's profile
// (job_options) and by what the printer says it supports (a value it does not list is left out, so its
// default applies rather than the job being refused).
ipp::client::JobTicket job_ticket(const spool::JobRecord& job, const conf::PrinterProfile* profile,
                                  const ipp::client::PrinterInfo& printer, std::string_view gateway_id) {
    ipp::client::JobTicket t;
    t.job_name = sent_job_name(job, gateway_id);
    t.document_name = job.meta.document_name;
    const JobOptions o = job_options(profile, job.meta.attributes);
    t.copies = o.copies;
    auto listed = [](const std::vector<std::string>& supported, const std::string& v) {
        return !v.empty() && (supported.empty() || std::find(supported.begin(), supported.end(), v) != supported.end());
    };
    if (listed(printer.sides, o.sides)) t.sides = o.sides;
    if (listed(printer.color_modes, o.color_mode)) t.print_color_mode = o.color_mode;
    if (listed(printer.media, o.media)) t.media = o.media;
    return t;
}

Forwarder::Forwarder(app::Gateway& gw)
    : gw_(gw),
      tls_verify_(asio::ssl::context::tls_client),
      tls_trust_(asio::ssl::context::tls_client),
      tls_server_(asio::ssl::context::tls_client) {
    for (auto* ctx : {&tls_verify_, &tls_trust_, &tls_server_}) {
        SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
        ctx->set_options(asio::ssl::context::no_compression);
    }
    boost::system::error_code ec;
    tls_verify_.set_default_verify_paths(ec);
    tls_verify_.set_verify_mode(asio::ssl::verify_peer);
    tls_trust_.set_verify_mode(asio::ssl::verify_none);
    // The server's queues are verified like its API: upstream.ca_file, else the system store.
    if (const auto& ca = gw.config().upstream.ca_file; !ca.empty()) tls_server_.load_verify_file(ca, ec);
    else tls_server_.set_default_verify_paths(ec);
    tls_server_.set_verify_mode(asio::ssl::verify_peer);
    // Test-only fault injection (tests/integration/test_upstream.py): die right after
    // a destination acknowledged a job, before the acknowledgement is recorded.
    if (const char* f = std::getenv("PG_FAULT_INJECT"); f && std::string_view(f) == "die_after_ack")
        die_after_ack_ = true;
}

Forwarder::~Forwarder() = default;

Forwarder::Worker& Forwarder::worker(const std::string& route) {
    auto it = workers_.find(route);
    if (it == workers_.end()) it = workers_.emplace(route, std::make_shared<Worker>(gw_.io(), route)).first;
    return *it->second;
}

void Forwarder::start() {
    std::vector<std::string> routes;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if ((j.state == JobState::pending || j.state == JobState::processing) && !j.delivery.route.empty())
            routes.push_back(j.delivery.route);
    });
    std::sort(routes.begin(), routes.end());
    routes.erase(std::unique(routes.begin(), routes.end()), routes.end());
    for (const auto& r : routes) wake(r);
}

void Forwarder::wake(const std::string& route) {
    if (stopping_) return;
    Worker& w = worker(route);
    if (w.running) {
        w.poked = true;
        if (w.status.current_job == 0 && w.backoff.count() == 0) w.wake.cancel();
        return;
    }
    w.running = true;
    asio::co_spawn(gw_.io(), run(workers_.at(route)), asio::detached);
}

void Forwarder::wake_all() {
    for (auto& [route, w] : workers_) {
        w->backoff = 0ms;
        w->wake.cancel();
        if (!w->running) wake(route);
    }
}

void Forwarder::stop() {
    stopping_ = true;
    for (auto& [route, w] : workers_) {
        w->wake.cancel();
        if (w->client) w->client->close();
    }
}

spool::Transition Forwarder::handed_over(const std::string& remote_ids, std::string message) {
    spool::Transition t;
    t.from = {JobState::processing};
    t.to = JobState::completed;
    t.remote_id = remote_ids;
    t.in_doubt = false;
    t.reason = "job-completed-successfully";
    t.message = std::move(message);
    t.event = "job_done";
    return t;
}

bool Forwarder::claim_cut_through(const std::string& route) {
    if (stopping_ || cut_routes_.count(route) != 0) return false;
    if (auto it = workers_.find(route); it != workers_.end() && it->second->status.busy()) return false;
    bool waiting = false;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.delivery.route == route && (j.state == JobState::pending || j.state == JobState::processing))
            waiting = true;
    });
    if (waiting) return false;
    cut_routes_.insert(route);
    return true;
}

void Forwarder::end_cut_through(const std::string& route) {
    if (cut_routes_.erase(route) != 0) wake(route);
}

asio::awaitable<void> Forwarder::cut_through_acknowledged(const spool::JobRecord& job, const std::string& route,
                                                          std::int32_t remote_id) {
    spool::Transition t = handed_over(std::to_string(remote_id), fmt::format("sent to {} as job {} (cut-through)", route, remote_id));
    auto acked = co_await change(job.id, std::move(t));
    if (!acked) co_return;
    ++server_forwards_;
    Worker& w = worker(route);
    w.status.reasons = {"none"};
    w.status.message.clear();
    w.failing_since.reset();
}

asio::awaitable<void> Forwarder::cut_through_failed(const spool::JobRecord& job, const std::string& route,
                                                    const std::string& why) {
    if (stopping_) co_return;  // processing and in doubt: the next start reconciles it
    co_await waits(worker(route), job, "offline-report", why, true, "raw");
}

void Forwarder::pause(const std::string& queue) { paused_.insert(queue); }

void Forwarder::resume(const std::string& queue) {
    if (paused_.erase(queue) == 0) return;
    // Its jobs may wait on any worker; start the ones that have work.
    std::vector<std::string> routes;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.meta.queue == queue && j.state == JobState::pending && !j.delivery.route.empty())
            routes.push_back(j.delivery.route);
    });
    for (const auto& r : routes) wake(r);
}

DestinationStatus Forwarder::status(const std::string& route) const {
    if (auto it = workers_.find(route); it != workers_.end()) return it->second->status;
    DestinationStatus s;
    s.route = route;
    s.uri = resolve(route).uri;
    s.reasons = {"none"};
    return s;
}

std::vector<DestinationStatus> Forwarder::statuses() const {
    std::vector<DestinationStatus> out;
    for (const auto& [route, w] : workers_) out.push_back(w->status);
    return out;
}

Forwarder::Destination Forwarder::resolve(const std::string& route) const {
    const auto cfg = gw_.config_ptr();
    if (service::is_server_route(route)) {
        const std::string queue(service::queue_of_server_route(route));
        auto q = cfg->queues.find(queue);
        if (q == cfg->queues.end() || q->second.mode != conf::QueueMode::server || q->second.server_queue.empty())
            return {"", false, "queue '" + queue + "' is no longer a server queue", true};
        return {q->second.server_queue, true, "", true};
    }
    if (auto it = cfg->printers.find(route); it != cfg->printers.end())
        return {it->second.uri, it->second.tls_verify, ""};
    if (route.find("://") != std::string::npos) {
        if (parse_printer_uri(route)) return {route, false, ""};
        return {route, false, "not an ipp:// or ipps:// URI"};
    }
    return {"", false, "printer '" + route + "' is not in the configuration"};
}

std::optional<spool::JobRecord> Forwarder::next_job(const std::string& route) const {
    std::optional<spool::JobRecord> best;
    if (cut_routes_.count(route) != 0) return best;  // a cut-through sends on it now
    std::uint64_t best_id = 0;
    bool best_processing = false;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.delivery.route != route) return;
        if (j.state != JobState::pending && j.state != JobState::processing) return;
        // A paused queue's jobs wait, unless a send already started (processing).
        if (j.state == JobState::pending && paused_.count(j.meta.queue) != 0) return;
        const bool processing = j.state == JobState::processing;
        // A job already processing (resumed after a restart) goes first, then id order.
        if (best_id == 0 || (processing && !best_processing)) {
            best_id = j.id;
            best_processing = processing;
        }
    });
    if (best_id != 0) best = gw_.spool().find(best_id);
    return best;
}

asio::awaitable<spool::Result<spool::JobRecord>> Forwarder::change(std::uint64_t id, spool::Transition t) {
    auto r = co_await net::run_blocking(gw_.pool(), [this, id, &t] { return gw_.spool().transition(id, t); });
    co_return r;
}

asio::awaitable<void> Forwarder::run(std::shared_ptr<Worker> wp) {
    Worker& w = *wp;
    while (!stopping_) {
        w.poked = false;
        auto job = next_job(w.route);
        if (!job) {
            w.status.current_job = 0;
            w.failing_since.reset();  // nothing to send: how long it failed no longer says anything
            if (w.poked) continue;
            // Idle: sleep until wake() (or stop()).
            w.wake.expires_at(asio::steady_timer::time_point::max());
            co_await w.wake.async_wait(asio::as_tuple(asio::use_awaitable));
            if (!next_job(w.route)) break;  // woken for nothing: let the worker end
            continue;
        }
        w.status.current_job = job->id;
        w.failed = false;
        Outcome o = co_await deliver(w, std::move(*job));
        w.status.current_job = 0;
        if (!w.failed) w.failing_since.reset();  // the destination answered
        if (o == Outcome::stopped || stopping_) break;
        if (o == Outcome::next) {
            w.backoff = 0ms;
            continue;
        }
        // retry: the destination is down, busy or refusing; the job waits in order.
        w.backoff = std::min<std::chrono::milliseconds>(kMaxBackoff, w.backoff.count() == 0 ? 1000ms : w.backoff * 2);
        w.wake.expires_after(w.backoff);
        co_await w.wake.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    w.running = false;
    w.status.current_job = 0;
    // A wake() that arrived while the worker was ending.
    if (!stopping_ && w.poked) wake(w.route);
}

asio::awaitable<Forwarder::Outcome> Forwarder::deliver(Worker& w, spool::JobRecord job) {
    const std::uint64_t id = job.id;
    const std::string queue = job.meta.queue;
    Destination dest = resolve(w.route);
    w.status.uri = dest.uri;
    // Fencing: whether an earlier attempt may have left bytes at the destination.
    bool doubt_before = job.delivery.in_doubt && job.delivery.remote_id.empty();
    // Parameters by reference: GCC 12 destroys by-value prvalue arguments of a
    // coroutine awaited in the same expression twice. `maybe_sent`: this attempt may
    // have put bytes at the destination (connected, request under way).
    auto back_to_pending = [&](const std::string& printer_reason, const std::string& why,
                               bool maybe_sent) -> asio::awaitable<Outcome> {
        const bool in_doubt = doubt_before || maybe_sent;
        auto o = co_await waits(w, job, printer_reason, why, in_doubt, "ipp");
        co_return o;
    };
    if (!dest.problem.empty()) co_return co_await back_to_pending("other", dest.problem, false);
    // What the printer takes, and what must be converted (release_plan.hpp). The
    // release points refuse a job the printer cannot take; one routed anyway (an
    // older route, a configuration reloaded since) is aborted here with the reason.
    const auto cfg = gw_.config_ptr();  // keeps `printer` alive across co_await
    const conf::PrinterConfig* printer_cfg = nullptr;
    if (!dest.server)
        if (auto it = cfg->printers.find(w.route); it != cfg->printers.end()) printer_cfg = &it->second;
    const conf::PrinterProfile* profile = printer_cfg ? &printer_cfg->profile : nullptr;
    JobReleasePlan plan;
    plan.ok = true;
    plan.convert_to.assign(parts_of(job).size(), "");
    if (printer_cfg) plan = release_plan(*printer_cfg, job.meta);
    if (!plan.ok) {
        gw_.log().warn({.event = "job_refused", .job_id = id, .queue = queue}, "job {}: {}", id, log::escape(plan.why));
        spool::Transition t;
        t.to = JobState::aborted;
        t.reason = "document-format-error";
        t.message = plan.why;
        t.event = "job_done";
        co_await change(id, std::move(t));
        co_return Outcome::next;
    }
    if (dest.server && remote_ids(job.delivery.remote_id).size() < parts_of(job).size()) {
        if (auto gate = co_await server_gate(w, job)) co_return *gate;
    }
    if (auto target = parse_printer_uri(dest.uri); target && (target->scheme == "lpd" || target->scheme == "socket"))
        co_return co_await deliver_stream(w, std::move(job), *target, profile, plan.convert_to);

    IppClient client(gw_.io().get_executor(), dest.server ? tls_server_ : dest.verify ? tls_verify_ : tls_trust_,
                     dest.uri, dest.verify);
    w.client = &client;
    struct Release {
        Worker& w;
        ~Release() { w.client = nullptr; }
    } release{w};
    ipp::client::Caller caller{dest.uri, job.meta.user, 0};
    auto next_id = [this] {
        if (next_request_id_ >= 0x7fffff00) next_request_id_ = 1;
        return next_request_id_++;
    };

    if (doubt_before && remote_ids(job.delivery.remote_id).size() < parts_of(job).size()) {
        // An earlier send was cut after it may have delivered: ask the destination
        // before sending again (docs/job-states.md, "Reconciliation").
        auto found = co_await reconcile(w, job, client, caller);
        if (stopping_) co_return Outcome::stopped;
        if (!found) co_return co_await back_to_pending("offline-report", w.status.message, false);
        if (*found > 0) {
            auto acked_before = remote_ids(job.delivery.remote_id);
            acked_before.push_back(*found);
            std::string ids;
            for (auto r : acked_before) ids += (ids.empty() ? "" : ",") + std::to_string(r);
            const bool all = acked_before.size() >= parts_of(job).size();
            spool::Transition t;
            t.from = {JobState::pending, JobState::processing};
            t.to = dest.server && all ? JobState::completed : JobState::processing;
            t.remote_id = ids;
            t.in_doubt = false;
            t.reason = dest.server && all ? "job-completed-successfully" : "job-printing";
            t.message = fmt::format("found at {} as job {} after an interrupted send; not sent again", w.route, *found);
            t.event = dest.server && all ? "job_done" : "job_sent";
            gw_.log().info({.event = "job_reconciled", .job_id = id, .queue = queue, .proto = "ipp"},
                           "job {} found at {} as job {}: not sent again", id, log::escape(w.route), *found);
            auto r = co_await change(id, std::move(t));
            if (!r) co_return Outcome::next;
            job = *r;
            if (dest.server) {
                ++server_forwards_;
                if (all) co_return Outcome::next;
            }
        } else {
            doubt_before = false;  // the destination does not have it: safe to send
            gw_.log().info({.event = "job_reconciled", .job_id = id, .queue = queue, .proto = "ipp"},
                           "job {} is not at {} after an interrupted send: sending it again", id,
                           log::escape(w.route));
        }
    }
    if (remote_ids(job.delivery.remote_id).size() < parts_of(job).size()) {
        // Not acknowledged by the destination: (re)send from the start.
        spool::Transition start;
        start.from = {JobState::pending, JobState::processing};
        start.to = JobState::processing;
        start.count_attempt = true;
        start.in_doubt = true;  // until this attempt ends cleanly or is acknowledged
        start.reason = "job-printing";
        start.message = "connecting to " + w.route;
        auto started = co_await change(id, std::move(start));
        if (!started) co_return Outcome::next;  // canceled or held meanwhile
        if (stopping_) co_return Outcome::stopped;

        caller.request_id = next_id();
        auto gpa = co_await client.call(ipp::client::get_printer_attributes(caller));
        if (stopping_) co_return Outcome::stopped;
        if (!gpa) co_return co_await back_to_pending("offline-report", gpa.error().message, false);
        if (!ipp::client::is_success(gpa->operation_or_status())) {
            const std::string why = "Get-Printer-Attributes: " + status_text(gpa->operation_or_status(), *gpa);
            co_return co_await back_to_pending("other", why, false);
        }
        auto printer = ipp::client::read_printer(*gpa);
        if (!printer.accepting || printer.state == 5) {
            const std::string why = printer.accepting ? "the printer is stopped" : "the printer is not accepting jobs";
            co_return co_await back_to_pending("paused", why, false);
        }
        // Each document goes as its own Print-Job (a multi-document job becomes one
        // printer job per document), in order; each acknowledgement is recorded
        // before the next document, so a restart resumes after the last one.
        const auto parts = parts_of(job);
        std::vector<std::string> formats;
        for (std::size_t i = 0; i < parts.size(); ++i) {
            const std::string& wanted = plan.convert_to[i].empty() ? parts[i].format : plan.convert_to[i];
            auto format = ipp::client::choose_format(printer, wanted);
            if (!format) {
                spool::Transition t;
                t.to = JobState::aborted;
                t.reason = "document-format-error";
                t.message = "the printer does not take " + wanted;
                t.event = "job_done";
                co_await change(id, std::move(t));
                co_return Outcome::next;
            }
            formats.push_back(*format);
        }
        auto acked_ids = remote_ids(job.delivery.remote_id);
        for (std::size_t index = acked_ids.size(); index < parts.size(); ++index) {
            auto ticket = job_ticket(job, profile, printer, gw_.config_ptr()->upstream.gateway_id);
            ticket.document_format = formats[index];
            ticket.document_name = parts[index].name;
            bool sent = false;
            for (int attempt = 1; attempt <= kBusyTries && !sent; ++attempt) {
                auto reader =
                    co_await net::run_blocking(gw_.pool(), [this, id] { return gw_.spool().open_document(id); });
                std::optional<DocumentStream> stream;
                if (reader) stream.emplace(gw_.io().get_executor(), gw_.pool(), std::move(*reader));
                boost::system::error_code read_error = reader ? boost::system::error_code{} : reader.error();
                for (std::size_t before = 0; stream && !read_error && before < index; ++before) {
                    PartBody earlier(gw_, *stream, id, parts[before].size);
                    read_error = co_await earlier.skip();
                }
                if (read_error) {
                    spool::Transition t;
                    t.to = JobState::aborted;
                    t.reason = "aborted-by-system";
                    t.message = "the spooled document cannot be read: " + read_error.message();
                    t.event = "job_done";
                    co_await change(id, std::move(t));
                    co_return Outcome::next;
                }
                PartBody body(gw_, *stream, id, parts[index].size);
                net::BodySource* source = &body;
                std::optional<ConvertedPart> converted;
                if (!plan.convert_to[index].empty()) {
                    // Converted before the printer is contacted: a document Ghostscript
                    // cannot read fails here, and the printer never sees it.
                    converted.emplace(gw_.io().get_executor(), body, parts[index].size,
                                      convert_options(profile, parts[index].format, plan.convert_to[index]));
                    const bool ready = co_await converted->prepare();
                    if (!ready) {
                        const auto failure = converted->failure();
                        co_await converted->finish();
                        log_conversion(gw_.log(), job, *converted, failure);
                        const std::string why = failure.value_or("the conversion failed");
                        co_return co_await conversion_failed(w, job, why);
                    }
                    source = &*converted;
                }
                // A spooled document goes with its size (one Content-Length body: a cut
                // send is aborted at the printer, see ipp_client.hpp); a converted one
                // has no size before its end and goes chunked.
                std::optional<std::uint64_t> known_size;
                if (!converted) known_size = parts[index].size;
                caller.request_id = next_id();
                auto pj = co_await client.call(ipp::client::print_job(caller, ticket), source, known_size);
                if (converted) {
                    // Its own failure (gs exit, deadline) counts; a stop by finish() after
                    // the printer went away does not.
                    const auto failure = converted->failure();
                    co_await converted->finish();
                    log_conversion(gw_.log(), job, *converted, failure);
                    if (failure && !stopping_) {
                        const std::string why = *failure;
                        co_return co_await conversion_failed(w, job, why);
                    }
                }
                if (stopping_) co_return Outcome::stopped;
                if (auto now = gw_.spool().find(id); !now || now->state == JobState::canceled) {
                    co_return Outcome::next;
                }
                if (!pj) co_return co_await back_to_pending("offline-report", pj.error().message, pj.error().connected);
                const auto st = pj->operation_or_status();
                if (ipp::client::is_success(st) && die_after_ack_) {
                    // Fault injection for the reconciliation test: the destination has
                    // the job, and we die before recording its acknowledgement.
                    gw_.log().flush();
                    std::_Exit(137);
                }
                if (ipp::client::is_success(st)) {
                    auto info = ipp::client::read_job(*pj);
                    acked_ids.push_back(info.job_id);
                    std::string ids;
                    for (auto r : acked_ids) ids += (ids.empty() ? "" : ",") + std::to_string(r);
                    // A server queue's job is the server's once acknowledged: it is
                    // done here (the user releases it there; nothing to follow).
                    const bool last_one = dest.server && index + 1 == parts.size();
                    std::string message = parts.size() == 1
                                              ? fmt::format("sent to {} as job {}", w.route, info.job_id)
                                              : fmt::format("document {} of {} sent to {} as job {}", index + 1,
                                                            parts.size(), w.route, info.job_id);
                    spool::Transition t = handed_over(ids, std::move(message));
                    if (!last_one) {
                        t.to = JobState::processing;
                        t.reason = "job-printing";
                        t.event = "job_sent";
                    }
                    auto acked = co_await change(id, std::move(t));
                    if (!acked) co_return Outcome::next;
                    if (last_one) {
                        ++server_forwards_;
                        w.status.reasons = {"none"};
                        w.status.message.clear();
                        co_return Outcome::next;
                    }
                    job = *acked;
                    sent = true;
                    w.status.reasons = {"none"};
                    w.status.message.clear();
                    break;
                }
                if (ipp::client::is_transient(st) && attempt < kBusyTries) {
                    // Busy: try again shortly, the job keeps its place.
                    w.wake.expires_after(std::min<std::chrono::milliseconds>(kBusyMax, kBusyFirst * (1 << (attempt - 1))));
                    co_await w.wake.async_wait(asio::as_tuple(asio::use_awaitable));
                    if (stopping_) co_return Outcome::stopped;
                    continue;
                }
                if (ipp::client::is_transient(st)) {
                    const std::string why = "Print-Job: " + status_text(st, *pj);
                    w.only_busy = true;  // it answers: a long job of someone else's, not an unreachable printer
                    co_return co_await back_to_pending("other", why, false);
                }
                spool::Transition t;
                t.to = JobState::aborted;
                t.reason = "aborted-by-system";
                t.message = "the printer refused the job: " + status_text(st, *pj);
                t.event = "job_done";
                co_await change(id, std::move(t));
                co_return Outcome::next;
            }
        }
    }
    co_return co_await follow(w, job, client, caller);
}

// LPD and 9100: no job to follow afterwards. The LPD server's last
// acknowledgement, or the 9100 printer's close, ends the job (completed); a 9100
// printer that keeps the connection open is recorded as unconfirmed.
asio::awaitable<Forwarder::Outcome> Forwarder::deliver_stream(Worker& w, spool::JobRecord job, PrinterUri target,
                                                              const conf::PrinterProfile* profile,
                                                              const std::vector<std::string>& convert_to) {
    const std::uint64_t id = job.id;
    const std::string queue = job.meta.queue;
    const auto parts = parts_of(job);
    // A server queue's job carries the name it is looked for under after a cut send
    // (an untitled one names this gateway and the job, as over IPP).
    const bool server_lpd = target.scheme == "lpd" && service::is_server_route(w.route);
    StreamJob sj;
    sj.user = job.meta.user;
    sj.title = server_lpd ? sent_job_name(job, gw_.config_ptr()->upstream.gateway_id) : job.meta.name;
    for (const auto& p : parts) sj.documents.push_back({p.name, p.size, nullptr});
    // Copies, sides and colour travel in the PJL wrapper, when the URI asks for one.
    sj.pjl = wants_pjl(target);
    const JobOptions options = job_options(profile, job.meta.attributes);
    sj.copies = options.copies;
    sj.duplex = pjl::duplex_from_sides(options.sides);
    sj.grayscale = pjl::grayscale_from_color_mode(options.color_mode);

    // LPD server queues: a send that was cut is reconciled with the server's queue
    // listing, and every send records what that listing showed just before it
    // (docs/job-states.md, "Reconciliation over LPD").
    std::optional<spool::Lookalikes> before;
    if (server_lpd) {
        before = spool::Lookalikes{};
        if (auto identity = lpd_identity(sj)) {
            if (job.delivery.in_doubt && job.delivery.remote_id.empty()) {
                auto settled = co_await reconcile_lpd(w, job, target, *identity);
                if (settled) co_return *settled;
            }
            auto listed = co_await list_before_send(w, job, target, *identity);
            if (listed.outcome) co_return *listed.outcome;
            before = std::move(listed.lookalikes);
        }
    }
    spool::Transition start;
    start.from = {JobState::pending, JobState::processing};
    start.to = JobState::processing;
    start.count_attempt = true;
    start.in_doubt = true;
    start.lookalikes = std::move(before);
    start.reason = "job-printing";
    start.message = "sending to " + w.route;
    if (!co_await change(id, std::move(start))) co_return Outcome::next;
    auto reader = co_await net::run_blocking(gw_.pool(), [this, id] { return gw_.spool().open_document(id); });
    if (!reader) {
        spool::Transition t;
        t.to = JobState::aborted;
        t.reason = "aborted-by-system";
        t.message = "the spooled document cannot be read: " + reader.error().message();
        t.event = "job_done";
        co_await change(id, std::move(t));
        co_return Outcome::next;
    }
    DocumentStream stream(gw_.io().get_executor(), gw_.pool(), std::move(*reader));
    std::vector<std::unique_ptr<PartBody>> bodies;
    std::vector<std::unique_ptr<ConvertedPart>> converted;
    // A named executor: GCC 12 destroys a prvalue argument of an awaited coroutine twice.
    asio::any_io_executor ex = gw_.io().get_executor();
    for (std::size_t i = 0; i < parts.size(); ++i) {
        bodies.push_back(std::make_unique<PartBody>(gw_, stream, id, parts[i].size));
        sj.documents[i].body = bodies.back().get();
        if (i < convert_to.size() && !convert_to[i].empty()) {
            // Converted while it is sent: its size is known only at the end, so
            // only 9100 takes it (release_plan refuses conversion for LPD).
            converted.push_back(std::make_unique<ConvertedPart>(
                ex, *bodies.back(), parts[i].size, convert_options(profile, parts[i].format, convert_to[i])));
            sj.documents[i].body = converted.back().get();
            sj.documents[i].exact = false;
        }
    }
    // The first document's conversion starts before the connection: a document
    // Ghostscript cannot read fails here, and the printer never sees it.
    if (!converted.empty() && sj.documents[0].body == converted.front().get()) {
        const bool ready = co_await converted.front()->prepare();
        if (!ready) {
            const auto failure = converted.front()->failure();
            co_await converted.front()->finish();
            log_conversion(gw_.log(), job, *converted.front(), failure);
            const std::string why = failure.value_or("the conversion failed");
            co_return co_await conversion_failed(w, job, why);
        }
    }
    StreamResult sent(ClientError{});
    if (target.scheme == "lpd") sent = co_await send_lpd(ex, target, sj);
    else sent = co_await send_socket(ex, target, sj);
    std::optional<std::string> conversion_failure;
    for (auto& c : converted) {
        const auto failure = c->failure();
        co_await c->finish();
        if (c->converter() != nullptr) log_conversion(gw_.log(), job, *c, failure);
        if (failure && !conversion_failure) conversion_failure = failure;
    }
    if (conversion_failure && !stopping_) {
        const std::string why = *conversion_failure;
        co_return co_await conversion_failed(w, job, why);
    }
    if (stopping_) co_return Outcome::stopped;
    if (auto now = gw_.spool().find(id); !now || now->state == JobState::canceled) {
        co_return Outcome::next;
    }
    if (!sent) {
        const std::string why = sent.error().message;
        // A send cut after connecting is in doubt: an LPD server queue is asked
        // before it is sent again; other LPD and 9100 destinations cannot be asked,
        // so it is sent again (docs/job-states.md).
        const bool doubt = job.delivery.in_doubt || sent.error().connected;
        co_return co_await stream_waits(w, job, why, doubt);
    }
    if (die_after_ack_) {
        // Fault injection for the reconciliation test: the server has the whole job,
        // and we die before recording it.
        gw_.log().flush();
        std::_Exit(137);
    }
    if (service::is_server_route(w.route)) ++server_forwards_;
    w.status.reasons = {"none"};
    w.status.message.clear();
    spool::Transition t;
    t.from = {JobState::processing};
    t.to = JobState::completed;
    t.in_doubt = false;
    t.remote_id = sent->remote_id;
    t.reason = sent->confirmed ? "job-completed-successfully" : "job-completed-with-warnings";
    t.message = sent->message;
    t.event = "job_done";
    co_await change(id, std::move(t));
    co_return Outcome::next;
}

asio::awaitable<Forwarder::Outcome> Forwarder::conversion_failed(Worker& w, const spool::JobRecord& job,
                                                                 const std::string& why) {
    w.status.reasons = {"none"};
    w.status.message.clear();
    spool::Transition t;
    t.to = JobState::aborted;
    t.reason = "document-unprintable-error";
    t.message = "the document could not be converted for " + w.route + ": " + why;
    t.event = "job_done";
    co_await change(job.id, std::move(t));
    co_return Outcome::next;
}

asio::awaitable<Forwarder::Outcome> Forwarder::waits(Worker& w, const spool::JobRecord& job,
                                                     const std::string& printer_reason, const std::string& why,
                                                     bool in_doubt, const char* proto) {
    w.status.reasons = {printer_reason};
    w.status.message = why;
    const auto now = std::chrono::steady_clock::now();
    // Busy is not unreachable: the wait for release.printer_wait starts again.
    if (std::exchange(w.only_busy, false)) w.failing_since.reset();
    else w.failed = true;
    if (!w.failing_since && w.failed) w.failing_since = now;
    const bool server = service::is_server_route(w.route);
    if (server && printer_reason == "offline-report") gw_.monitor().forward_failed(why);
    const auto cfg = gw_.config_ptr();
    const auto failing_for =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - w.failing_since.value_or(now));
    if (!server && w.failing_since && failing_for >= cfg->release.printer_wait) {
        // The printer stays unreachable: every released job waiting for it goes back to
        // held, so its owner can choose again (the one in hand and those queued behind
        // it, which would wait just as long). Not a direct queue's job (nobody stands
        // at a release point for it: it waits for its printer), never one in doubt
        // (fencing: bytes of it may be at the printer).
        const std::string message = "printer " + w.route + " unreachable for " +
                                    std::to_string(failing_for.count() / 1000) + " s (" + why +
                                    "); the job is held again: release it to this or another printer";
        auto released = [&](const spool::JobRecord& j) {
            const auto q = cfg->queues.find(j.meta.queue);
            return q == cfg->queues.end() || q->second.mode != conf::QueueMode::direct;
        };
        std::vector<std::uint64_t> back;
        if (released(job) && !in_doubt) back.push_back(job.id);
        gw_.spool().for_each([&](const spool::JobRecord& j) {
            if (j.id != job.id && j.delivery.route == w.route && j.state == JobState::pending &&
                !j.delivery.in_doubt && released(j))
                back.push_back(j.id);
        });
        bool this_one = false;
        for (const std::uint64_t id : back) {
            spool::Transition t;
            t.from = {JobState::pending, JobState::processing};
            t.to = JobState::held;
            t.route = "";
            t.in_doubt = false;
            t.reason = spool::kHeldReason;
            t.message = message;
            t.held_by = "printer_unreachable";
            t.event = "job_held";
            auto held = co_await change(id, std::move(t));
            if (!held) continue;
            gw_.log().warn({.event = "destination_unavailable", .job_id = id, .queue = held->meta.queue, .proto = proto},
                           "{}: {}; job {} goes back to held", log::escape(w.route), log::escape(why), id);
            if (id == job.id) this_one = true;
        }
        if (this_one) co_return Outcome::next;
    }
    gw_.log().warn({.event = "destination_unavailable", .job_id = job.id, .queue = job.meta.queue, .proto = proto},
                   "{}: {}; job {} waits", log::escape(w.route), log::escape(why), job.id);
    spool::Transition t;
    t.from = {JobState::pending, JobState::processing};
    t.to = JobState::pending;
    t.reason = "resources-are-not-ready";
    t.message = why;
    t.in_doubt = in_doubt;
    co_await change(job.id, std::move(t));
    co_return Outcome::retry;
}

asio::awaitable<std::optional<Forwarder::Outcome>> Forwarder::server_gate(Worker& w, const spool::JobRecord& job) {
    if (gw_.monitor().reachable()) co_return std::nullopt;
    w.status.reasons = {"offline-report"};
    w.status.message = std::string(service::kOutageMessage);
    if (job.state == JobState::pending) {
        // No co_await inside && (a GCC 12 coroutine miscompile).
        const bool held = co_await gw_.failover().hold_for_outage(job.id);
        if (held) co_return Outcome::next;
    }
    // In doubt (or resumed mid-send after a restart): it must not be released here,
    // so it waits for the server and is reconciled then.
    spool::Transition t;
    t.from = {JobState::pending, JobState::processing};
    t.to = JobState::pending;
    t.reason = "resources-are-not-ready";
    t.message = "central server unreachable; a send to it was interrupted, so this job waits for it";
    co_await change(job.id, std::move(t));
    co_return Outcome::retry;
}

asio::awaitable<std::optional<std::int32_t>> Forwarder::reconcile(Worker& w, const spool::JobRecord& job,
                                                                  IppClient& client, ipp::client::Caller& caller) {
    const auto parts = parts_of(job);
    const std::size_t index = remote_ids(job.delivery.remote_id).size();
    if (index >= parts.size()) co_return 0;
    const std::int64_t k_octets = static_cast<std::int64_t>((parts[index].size + 1023) / 1024);
    // Only jobs created since the attempt began (2 s of slack for clock skew and the
    // one-second resolution of dateTime). A wrong match would lose a print, a miss
    // only repeats one: when in doubt, do not match.
    const std::int64_t since = job.delivery.attempt_ms / 1000 - 2;
    // Remote ids our other jobs on this route already claim are not this job.
    std::set<std::int32_t> claimed;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.id != job.id && j.delivery.route == w.route)
            for (auto r : remote_ids(j.delivery.remote_id)) claimed.insert(r);
    });
    // The name it was sent with: an untitled job's names this gateway and job, so
    // another sender's untitled job of the same owner does not look like it.
    const std::string name = sent_job_name(job, gw_.config_ptr()->upstream.gateway_id);
    std::int32_t best = 0;
    int candidates = 0;
    for (const char* which : {"not-completed", "completed"}) {
        caller.request_id = next_request_id_++;
        auto r = co_await client.call(ipp::client::get_jobs(caller, which, 500));
        if (stopping_) co_return std::nullopt;
        if (!r) {
            w.status.message = "cannot ask the destination about an interrupted send: " + r.error().message;
            co_return std::nullopt;
        }
        if (!ipp::client::is_success(r->operation_or_status())) {
            w.status.message = "Get-Jobs: " + status_text(r->operation_or_status(), *r);
            co_return std::nullopt;
        }
        for (const auto& listed : ipp::client::read_jobs(*r)) {
            if (claimed.count(listed.job_id) != 0) continue;
            // A send cut mid-document leaves an aborted (or canceled) job there: not a
            // delivery. An unknown state cannot be trusted either.
            if (listed.state == 0 || listed.state == IPP_JSTATE_ABORTED || listed.state == IPP_JSTATE_CANCELED)
                continue;
            if (listed.owner != job.meta.user || listed.name != name) continue;
            if (listed.k_octets >= 0 && std::llabs(listed.k_octets - k_octets) > 1) continue;
            if (!listed.created_unix || *listed.created_unix < since) continue;  // cannot tell: no match
            ++candidates;
            best = listed.job_id;
        }
    }
    // Two candidates: one may be another sender's job of the same shape. Taking the
    // wrong one would lose this job; sending again at worst repeats it.
    if (candidates > 1) {
        gw_.log().warn({.event = "job_reconciled", .job_id = job.id, .queue = job.meta.queue, .proto = "ipp"},
                       "job {}: {} jobs at {} look like it; not guessing", job.id, candidates, log::escape(w.route));
        co_return 0;
    }
    co_return best;
}

asio::awaitable<Forwarder::Outcome> Forwarder::follow(Worker& w, const spool::JobRecord& job, IppClient& client,
                                                      const ipp::client::Caller& caller_in) {
    const std::uint64_t id = job.id;
    const auto remotes = remote_ids(job.delivery.remote_id);
    ipp::client::Caller caller = caller_in;
    // The job ends as its printer jobs did: completed only when each completed.
    std::int64_t impressions = 0;
    bool impressions_known = false;
    spool::Transition outcome;
    outcome.from = {JobState::processing};
    outcome.event = "job_done";
    outcome.to = JobState::completed;
    for (const std::int32_t remote : remotes) {
        auto delay = std::chrono::milliseconds(kFollowFirst);
        for (bool done = false; !done;) {
            auto now = gw_.spool().find(id);
            if (!now) co_return Outcome::next;
            if (now->state == JobState::canceled) {
                // Canceled here after the printer took it: cancel it there too (best effort).
                for (const std::int32_t r : remotes) {
                    caller.request_id = next_request_id_++;
                    co_await client.call(ipp::client::cancel_job(caller, r));
                }
                co_return Outcome::next;
            }
            if (spool::is_final(now->state)) co_return Outcome::next;
            caller.request_id = next_request_id_++;
            auto gja = co_await client.call(ipp::client::get_job_attributes(caller, remote));
            if (stopping_) co_return Outcome::stopped;
            if (!gja) {
                // The job is the printer's now: keep asking, never resend.
                w.status.reasons = {"offline-report"};
                w.status.message = gja.error().message;
                delay = std::min<std::chrono::milliseconds>(kMaxBackoff, delay * 2);
            } else {
                const auto st = gja->operation_or_status();
                auto info = ipp::client::read_job(*gja);
                if (st == IPP_STATUS_ERROR_NOT_FOUND) {
                    if (!outcome.reason) {
                        outcome.reason = "job-completed-successfully";
                        outcome.message = "the printer accepted the job and no longer lists it";
                    }
                    done = true;
                } else if (!ipp::client::is_success(st)) {
                    w.status.reasons = {"other"};
                    w.status.message = "Get-Job-Attributes: " + status_text(st, *gja);
                    delay = std::min<std::chrono::milliseconds>(kMaxBackoff, delay * 2);
                } else if (info.state == IPP_JSTATE_COMPLETED || info.state == IPP_JSTATE_ABORTED ||
                           info.state == IPP_JSTATE_CANCELED) {
                    done = true;
                    if (info.impressions_completed) {
                        impressions += *info.impressions_completed;
                        impressions_known = true;
                    }
                    // The worst outcome wins: aborted over canceled over completed.
                    const bool worse = (info.state == IPP_JSTATE_ABORTED && outcome.to != JobState::aborted) ||
                                       (info.state == IPP_JSTATE_CANCELED && outcome.to == JobState::completed);
                    if (info.state == IPP_JSTATE_COMPLETED && !outcome.reason) {
                        outcome.reason = first_reason(info.state_reasons, "job-completed-successfully");
                        outcome.message = info.state_message.empty() ? "printed" : info.state_message;
                    } else if (worse && info.state == IPP_JSTATE_ABORTED) {
                        outcome.to = JobState::aborted;
                        outcome.reason = first_reason(info.state_reasons, "aborted-by-system");
                        outcome.message = info.state_message.empty() ? "the printer aborted the job" : info.state_message;
                    } else if (worse) {
                        outcome.to = JobState::canceled;
                        outcome.reason = first_reason(info.state_reasons, "job-canceled-at-device");
                        outcome.message = info.state_message.empty() ? "canceled at the printer" : info.state_message;
                    }
                } else {
                    w.status.reasons = {"none"};
                    w.status.message.clear();
                    delay = std::min<std::chrono::milliseconds>(kFollowMax, delay * 2);
                }
            }
            if (done) break;
            w.wake.expires_after(delay);
            co_await w.wake.async_wait(asio::as_tuple(asio::use_awaitable));
            if (stopping_) co_return Outcome::stopped;
        }
    }
    if (impressions_known) outcome.impressions = impressions;
    if (!outcome.reason) outcome.reason = "job-completed-successfully";
    w.status.reasons = {"none"};
    w.status.message.clear();
    co_await change(id, std::move(outcome));
    co_return Outcome::next;
}

}  // namespace pg::output
