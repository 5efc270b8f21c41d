// SPDX-License-Identifier: Apache-2.0
// IPP operations (RFC 8011 §4) on the gateway's queues. See ipp_service.hpp.
//
// A request body is the IPP attribute section followed by document data. The
// section is framed by pg::ipp::FrameParser in a bounded buffer (FrameLimits:
// 256 KiB), decoded by libcups, validated into a typed pg::ipp::Request; any
// document data after it streams into the spool chunk by chunk.
#include "gateway/service/ipp_service.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <cups/ipp.h>
#include <fmt/format.h>

#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/failover.hpp"
#include "gateway/service/intake.hpp"
#include "gateway/service/ipp_exchange.hpp"
#include "gateway/upstream/monitor.hpp"
#include "gateway/service/ipp_printer.hpp"
#include "protocols/compress/inflate.hpp"
#include "protocols/ipp/format.hpp"
#include "protocols/ipp/frame.hpp"
#include "protocols/ipp/message.hpp"
#include "protocols/ipp/request.hpp"
#include "protocols/ipp/response.hpp"

namespace pg::service {

namespace asio = boost::asio;
using ipp::Status;

namespace {

constexpr auto kIncomingTimeout = std::chrono::minutes(5);

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

using namespace ipp_detail;

IppService::IppService(app::Gateway& gw) : gw_(gw), up_since_(unix_now()) {}
IppService::~IppService() = default;

asio::awaitable<net::HttpReply> IppService::handle(const net::HttpRequestHead& head, net::BodySource& body) {
    if (head.method == "GET" || head.method == "HEAD") {
        if (head.target == "/" || head.target.starts_with("/ipp/print") || head.target.starts_with("/printers"))
            co_return plain(200, "printgate IPP print service\n");
        co_return plain(404, "not found\n");
    }
    if (head.method != "POST") {
        auto r = plain(405, "method not allowed\n");
        r.headers.emplace_back("Allow", "GET, HEAD, POST");
        co_return r;
    }
    if (!head.content_type.starts_with("application/ipp")) co_return plain(400, "expected application/ipp\n");

    // Frame the attribute section.
    ipp::FrameParser frame;
    std::vector<std::byte> section;
    std::vector<std::byte> leftover;
    for (;;) {
        auto chunk = co_await body.next();
        if (!chunk) co_return plain(400, "request body: " + chunk.error().message() + "\n");
        if (chunk->empty()) break;
        auto fed = frame.feed(*chunk);
        section.insert(section.end(), chunk->begin(), chunk->begin() + static_cast<std::ptrdiff_t>(fed.consumed));
        if (fed.status == ipp::FrameStatus::complete) {
            leftover.assign(chunk->begin() + static_cast<std::ptrdiff_t>(fed.consumed), chunk->end());
            break;
        }
        if (fed.status == ipp::FrameStatus::error) break;
    }
    if (!frame.is_complete()) {
        std::string why = frame.has_error() ? frame.error().message : "body ended inside the attribute section";
        gw_.log().warn({.event = "ipp_bad_request", .peer = head.peer, .proto = "ipp"}, "{}", log::escape(why));
        if (!frame.header_done()) co_return plain(400, "malformed IPP request\n");
        // RFC 8011 §4.1.1: a malformed request gets client-error-bad-request.
        ipp::Version v = ipp::is_supported_version(frame.version()) ? frame.version() : ipp::Version{2, 0};
        ipp::Response r(Status::client_error_bad_request, static_cast<std::int32_t>(frame.request_id()), v);
        r.set_status_message(why);
        co_return ipp_reply(r, true);
    }
    auto decoded = ipp::decode(section);
    if (!decoded) {
        ipp::Version v = ipp::is_supported_version(frame.version()) ? frame.version() : ipp::Version{2, 0};
        ipp::Response r(Status::client_error_bad_request, static_cast<std::int32_t>(frame.request_id()), v);
        r.set_status_message(decoded.error().message);
        co_return ipp_reply(r, true);
    }
    Exchange ex(head, body);
    ex.message = std::move(*decoded);
    auto viewed = ipp::view(ex.message);
    if (!viewed) co_return ipp_reply(ipp::error_response(ex.message, viewed.error()));
    ex.request = std::move(*viewed);
    ex.request.message = &ex.message;
    ex.leftover = std::move(leftover);
    ex.response = ipp::Response(Status::successful_ok, ex.request.request_id, ipp::reply_version(ex.request.version));
    co_return co_await dispatch(ex);
}

asio::awaitable<net::HttpReply> IppService::dispatch(Exchange& ex) {
    const auto cfg = gw_.config_ptr();
    ex.host = ex.head.host.empty() ? "localhost" : ex.head.host;
    ex.user = ex.request.requesting_user_name.value_or("anonymous");
    if (ex.user.empty()) ex.user = "anonymous";
    expire_incoming();

    // RFC 8011 §4.1.5: printer operations need printer-uri; job operations need
    // printer-uri + job-id, or job-uri. CUPS' own operations need neither.
    using ipp::Operation;
    bool cups_op = ex.request.is(Operation::cups_get_default) || ex.request.is(Operation::cups_get_printers);
    if (!cups_op && !ex.request.printer_uri && !ex.request.job_uri) {
        ex.fail(Status::client_error_bad_request, "missing printer-uri");
        co_return ipp_reply(ex.response);
    }
    // Target queue: from printer-uri (or the HTTP path), RFC 8011 §4.1.5.
    std::string path = uri_path(ex.request.printer_uri.value_or(ex.head.target));
    bool printer_less = cups_op || (!ex.request.printer_uri && ex.request.job_uri);
    // The exact default paths first: "/ipp/print/" is the default queue, not queue "".
    if (path == "/" || path == "/ipp/print" || path == "/ipp/print/" || path.empty()) ex.queue = cfg->default_queue;
    else if (path.starts_with("/ipp/print/")) ex.queue = path.substr(11);
    else if (path.starts_with("/printers/")) ex.queue = path.substr(10);
    else if (path.starts_with("/jobs")) ex.queue = cfg->default_queue;
    if (!ex.queue.empty() && ex.queue.back() == '/') ex.queue.pop_back();
    if (!printer_less && !cfg->queues.count(ex.queue)) {
        ex.fail(Status::client_error_not_found, "The printer or class does not exist.");
        co_return ipp_reply(ex.response);
    }
    ex.printer_uri = ex.queue_uri(ex.queue);
    if (auto refused = co_await authenticate(ex)) co_return std::move(*refused);

    switch (static_cast<Operation>(ex.request.operation)) {
    case Operation::print_job: co_await print_job(ex); break;
    case Operation::validate_job: validate_job(ex); break;
    case Operation::create_job: co_await create_job(ex); break;
    case Operation::send_document: co_await send_document(ex); break;
    case Operation::cancel_job: co_await cancel_job(ex); break;
    case Operation::hold_job: co_await hold_job(ex); break;
    case Operation::release_job: co_await release_job(ex); break;
    case Operation::pause_printer: pause_printer(ex, true); break;
    case Operation::resume_printer: pause_printer(ex, false); break;
    case Operation::get_job_attributes: get_job_attributes(ex); break;
    case Operation::get_jobs: get_jobs(ex); break;
    case Operation::get_printer_attributes: get_printer_attributes(ex); break;
    case Operation::cups_get_default: cups_get_printers(ex, true); break;
    case Operation::cups_get_printers: cups_get_printers(ex, false); break;
    default:
        ex.fail(Status::server_error_operation_not_supported, "operation not supported");
        break;
    }
    co_return ipp_reply(ex.response, ex.close);
}

std::size_t IppService::discard_incoming() {
    const std::size_t n = incoming_.size();
    incoming_.clear();
    return n;
}

void IppService::expire_incoming() {
    auto now = std::chrono::steady_clock::now();
    for (auto it = incoming_.begin(); it != incoming_.end();) {
        if (now - it->second.created > kIncomingTimeout && !it->second.parts.empty()) {
            asio::co_spawn(gw_.io(), commit_abandoned(std::move(it->second.writer), std::move(it->second.parts)),
                           asio::detached);
            it = incoming_.erase(it);
        } else if (now - it->second.created > kIncomingTimeout) {
            gw_.log().info({.event = "job_discarded", .job_id = it->first, .proto = "ipp"},
                           "Create-Job without Send-Document for {} s; discarded",
                           std::chrono::duration_cast<std::chrono::seconds>(kIncomingTimeout).count());
            it = incoming_.erase(it);
        } else {
            ++it;
        }
    }
}

namespace {
// The request's `compression` (RFC 8011 §4.2.1.1): none, gzip or deflate.
std::string compression_of(const ipp::Message& m) {
    ipp_attribute_t* a = ippFindAttribute(m.get(), "compression", IPP_TAG_ZERO);
    if (!a || ippGetGroupTag(a) != IPP_TAG_OPERATION) return "none";
    const char* v = ippGetString(a, 0, nullptr);
    return v ? v : "";
}
}  // namespace

// The profile of the queue's printer (null without one). Points into the running
// configuration: use it before the next co_await (a SIGHUP reload swaps it).
const conf::PrinterProfile* IppService::queue_profile(const std::string& queue) const {
    const auto& cfg = *gw_.config_ptr();
    auto q = cfg.queues.find(queue);
    if (q == cfg.queues.end() || q->second.printer.empty()) return nullptr;
    auto p = cfg.printers.find(q->second.printer);
    return p == cfg.printers.end() ? nullptr : &p->second.profile;
}

void IppService::validate_job(Exchange& ex) {
    std::string compression = compression_of(ex.message);
    if (compression != "none" && compression != "gzip" && compression != "deflate") {
        ex.fail(Status::client_error_compression_not_supported, "compression not supported");
        ex.response.add_unsupported_group().add_keyword("compression", compression);
        return;
    }
    const auto& fmt = ex.request.document_format;
    if (fmt && !is_supported_format(*fmt, queue_profile(ex.queue))) {
        ex.fail(Status::client_error_document_format_not_supported, "document-format not supported");
        ex.response.add_unsupported_group().add_mime_media_type("document-format", *fmt);
    }
}

asio::awaitable<bool> IppService::stream_document(Exchange& ex, spool::JobWriter& writer) {
    auto fail = [&](const boost::system::error_code& ec) {
        if (ec == spool::errc::job_too_large)
            ex.fail(Status::client_error_request_entity_too_large, ec.message());
        else
            ex.fail(Status::server_error_temporary_error, ec.message());
        ex.close = true;  // the rest of the body is not worth reading
    };
    // CUPS clients send application/octet-stream and leave detection to the server:
    // look at the first bytes of the (decompressed) document.
    auto& format = writer.meta().document_format;
    bool detect = format.empty() || format == "application/octet-stream";
    const std::string compression = compression_of(ex.message);
    std::unique_ptr<compress::Inflater> inflater;
    if (compression == "gzip") inflater = std::make_unique<compress::Inflater>(compress::Format::gzip);
    if (compression == "deflate") inflater = std::make_unique<compress::Inflater>(compress::Format::deflate);
    std::string inflate_error;
    // Runs on the pool: decompress (when asked), sniff, append.
    auto consume = [&](std::span<const std::byte> data) -> spool::Result<void> {
        spool::Result<void> appended;
        auto store = [&](std::span<const std::byte> plain) {
            if (detect && !plain.empty()) {
                format = ipp::detect_format(plain);
                detect = false;
            }
            appended = writer.append(plain);
            return appended.has_value();
        };
        if (!inflater) {
            store(data);
            return appended;
        }
        if (!inflater->feed(data, store) && appended) {
            inflate_error = inflater->error();
            return spool::errc::bad_state;
        }
        return appended;
    };
    auto consumed = [&](const spool::Result<void>& r) {
        if (r) return true;
        if (!inflate_error.empty()) {
            ex.fail(Status::client_error_compression_error, "compressed document: " + inflate_error);
            ex.close = true;
        } else {
            fail(r.error());
        }
        return false;
    };
    if (!ex.leftover.empty()) {
        auto r = co_await net::run_blocking(gw_.pool(), [&] { return consume(ex.leftover); });
        if (!consumed(r)) co_return false;
    }
    for (;;) {
        auto chunk = co_await ex.body.next();
        if (!chunk) {
            ex.fail(Status::client_error_bad_request, "document data: " + chunk.error().message());
            ex.close = true;
            co_return false;
        }
        if (chunk->empty()) break;
        auto r = co_await net::run_blocking(gw_.pool(), [&] { return consume(*chunk); });
        if (!consumed(r)) co_return false;
    }
    if (inflater && !inflater->finished()) {
        ex.fail(Status::client_error_compression_error, "compressed document ends early");
        co_return false;
    }
    co_return true;
}

namespace {

spool::JobMeta job_meta(const ipp::Request& rq, const std::string& queue, const std::string& user,
                        const std::string& peer) {
    spool::JobMeta m;
    m.queue = queue;
    m.user = user;
    m.name = rq.job_name.value_or(rq.document_name.value_or(""));
    m.peer = peer;
    m.protocol = "ipp";
    m.document_format = rq.document_format.value_or("application/octet-stream");
    m.document_name = rq.document_name.value_or("");
    boost::json::object a;
    if (rq.copies) a["copies"] = *rq.copies;
    if (rq.sides) a["sides"] = *rq.sides;
    if (rq.print_color_mode) a["print-color-mode"] = *rq.print_color_mode;
    if (rq.media) a["media"] = *rq.media;
    if (rq.job_hold_until) a["job-hold-until"] = *rq.job_hold_until;
    m.attributes = boost::json::serialize(a);
    return m;
}

}  // namespace

// The documents of a multi-document job, into its metadata (the first part names
// the job's format).
static void set_parts(spool::JobWriter& writer, const std::vector<spool::DocumentPart>& parts) {
    if (parts.empty()) return;
    writer.meta().document_format = parts.front().format;
    writer.meta().document_name = parts.front().name;
    if (parts.size() > 1) writer.meta().documents = parts;
}

// Streams one document into `writer`; false (reply set, job discarded and logged) on failure.
asio::awaitable<bool> IppService::receive_document(Exchange& ex, spool::JobWriter& writer) {
    if (co_await stream_document(ex, writer)) co_return true;
    const std::string queue = writer.meta().queue;
    gw_.log().warn({.event = "job_refused", .job_id = writer.id(), .queue = queue, .peer = ex.head.peer,
                    .proto = "ipp"},
                   "job refused after {} bytes: {}", writer.size(), ex.response.status_message());
    co_await net::run_blocking(gw_.pool(), [&writer] { writer.discard(); });
    co_return false;
}

asio::awaitable<void> IppService::receive_and_commit(Exchange& ex, std::unique_ptr<spool::JobWriter> writer,
                                                     std::vector<spool::DocumentPart>* parts) {
    // Fields hold string_views: keep the queue name alive past the writer (the commit destroys it).
    const std::string queue = writer->meta().queue;
    log::Fields fields{.job_id = writer->id(), .queue = queue, .peer = ex.head.peer, .proto = "ipp"};
    const std::uint64_t start = writer->size();
    if (!co_await receive_document(ex, *writer)) co_return;
    if (parts != nullptr) {
        // The last document of a multi-document job; it may carry no data at all.
        if (writer->size() > start || parts->empty())
            parts->push_back({writer->meta().document_format, ex.request.document_name.value_or(""),
                              writer->size() - start});
        set_parts(*writer, *parts);
    }
    auto committed = co_await finish_and_commit(gw_, std::move(writer), fields);
    if (!committed) {
        ex.fail(Status::server_error_temporary_error, committed.error().message());
        co_return;
    }
    const bool routed = committed->state == spool::JobState::pending;
    auto& g = ex.response.add_job_group();
    g.add_integer("job-id", static_cast<std::int32_t>(committed->id))
        .add_uri("job-uri", ex.job_uri(committed->id))
        .add_enum("job-state", spool::ipp_enum(committed->state))
        .add_keywords("job-state-reasons", {routed ? "job-queued" : "job-hold-until-specified"})
        .add_text("job-state-message", !committed->delivery.message.empty() ? committed->delivery.message
                                       : routed                              ? "queued for the printer"
                                                                             : "held for release");
}

// A multi-document job whose client stopped sending documents for
// multiple-operation-time-out: what arrived is committed, as cupsd does.
asio::awaitable<void> IppService::commit_abandoned(std::unique_ptr<spool::JobWriter> writer,
                                                   std::vector<spool::DocumentPart> parts) {
    const std::string queue = writer->meta().queue;
    const std::string peer = writer->meta().peer;
    log::Fields fields{.job_id = writer->id(), .queue = queue, .peer = peer, .proto = "ipp"};
    gw_.log().info(fields, "no last document within {} s; committing the {} document(s) received",
                   std::chrono::duration_cast<std::chrono::seconds>(kIncomingTimeout).count(), parts.size());
    set_parts(*writer, parts);
    co_await finish_and_commit(gw_, std::move(writer), fields);
}

std::unique_ptr<spool::JobWriter> IppService::begin_job(Exchange& ex) {
    validate_job(ex);
    if (ex.response.status() != Status::successful_ok) return nullptr;
    auto begun = gw_.spool().begin_job(job_meta(ex.request, ex.queue, ex.user, ex.head.peer));
    if (!begun) {
        ex.fail(Status::server_error_not_accepting_jobs, begun.error().message());
        gw_.log().warn({.event = "job_refused", .queue = ex.queue, .peer = ex.head.peer, .proto = "ipp"},
                       "job refused: {}", begun.error().message());
        return nullptr;
    }
    return std::move(*begun);
}

asio::awaitable<void> IppService::print_job(Exchange& ex) {
    if (auto writer = begin_job(ex)) co_await receive_and_commit(ex, std::move(writer), nullptr);
}

asio::awaitable<void> IppService::create_job(Exchange& ex) {
    auto writer = begin_job(ex);
    if (!writer) co_return;
    std::uint64_t id = writer->id();
    incoming_[id] = Incoming{std::move(writer), std::chrono::steady_clock::now(), {}};
    auto& g = ex.response.add_job_group();
    g.add_integer("job-id", static_cast<std::int32_t>(id))
        .add_uri("job-uri", ex.job_uri(id))
        .add_enum("job-state", 4)
        .add_keywords("job-state-reasons", {"job-incoming"});
    co_return;
}


asio::awaitable<void> IppService::send_document(Exchange& ex) {
    auto id = target_job(ex.request);
    if (!id) {
        ex.fail(Status::client_error_bad_request, "job-id or job-uri required");
        co_return;
    }
    auto it = incoming_.find(*id);
    if (it == incoming_.end()) {
        auto rec = gw_.spool().find(*id);
        ex.fail(rec ? Status::client_error_not_possible : Status::client_error_not_found,
                rec ? "job already has its document" : "no such job (or it timed out waiting for its document)");
        co_return;
    }
    if (it->second.writer && it->second.writer->meta().user != ex.user &&
        !is_operator(ex, it->second.writer->meta().queue)) {
        ex.fail(Status::client_error_not_authorized, "only the job's owner may send its documents");
        co_return;
    }
    if (!ex.request.last_document) {
        ex.fail(Status::client_error_bad_request, "last-document is required");
        co_return;
    }
    if (ex.request.document_format && !is_supported_format(*ex.request.document_format, queue_profile(ex.queue))) {
        ex.fail(Status::client_error_document_format_not_supported, "document-format not supported");
        co_return;
    }
    if (auto c = compression_of(ex.message); c != "none" && c != "gzip" && c != "deflate") {
        ex.fail(Status::client_error_compression_not_supported, "compression not supported");
        co_return;
    }
    // The job leaves incoming_ while its document streams (a second Send-Document
    // meanwhile is told it is not possible) and comes back for the next one.
    Incoming in = std::move(it->second);
    incoming_.erase(it);
    spool::JobWriter& writer = *in.writer;
    writer.meta().document_format = ex.request.document_format.value_or("application/octet-stream");
    if (ex.request.document_name && writer.meta().name.empty()) writer.meta().name = *ex.request.document_name;
    if (*ex.request.last_document) {
        co_await receive_and_commit(ex, std::move(in.writer), &in.parts);
        co_return;
    }
    const std::uint64_t start = writer.size();
    if (!co_await receive_document(ex, writer)) co_return;
    in.parts.push_back({writer.meta().document_format, ex.request.document_name.value_or(""), writer.size() - start});
    in.created = std::chrono::steady_clock::now();
    const std::uint64_t job = writer.id();
    const auto documents = in.parts.size();
    incoming_.emplace(job, std::move(in));
    auto& g = ex.response.add_job_group();
    g.add_integer("job-id", static_cast<std::int32_t>(job))
        .add_uri("job-uri", ex.job_uri(job))
        .add_enum("job-state", 4)
        .add_keywords("job-state-reasons", {"job-incoming"})
        .add_text("job-state-message", fmt::format("{} document(s) received; waiting for the last", documents));
}


void IppService::get_printer_attributes(Exchange& ex) {
    const auto cfg = gw_.config_ptr();
    PrinterContext p;
    p.queue = ex.queue;
    p.description = cfg->queues.at(ex.queue).description;
    p.uri = ex.printer_uri;
    p.more_info = ex.queue_uri(ex.queue, true);
    p.uuid = queue_uuid(cfg->state_dir, ex.queue);
    p.up_since = up_since_;
    p.now = unix_now();
    p.tls = ex.head.tls;
    const auto& qc = cfg->queues.at(ex.queue);
    p.direct = qc.mode == conf::QueueMode::direct;
    p.profile = queue_profile(ex.queue);
    p.basic_auth = qc.auth == conf::QueueAuth::basic;
    p.paused = gw_.forwarder().paused(ex.queue);
    if (qc.mode == conf::QueueMode::server) {
        // Users see the failover on the printer object (RFC 8011 §5.4.12 other-warning).
        if (!gw_.monitor().reachable()) {
            p.state_reasons.push_back("other-warning");
            p.state_message = std::string(kOutageMessage);
        } else {
            auto st = gw_.forwarder().status(server_route(ex.queue));
            p.processing = st.busy();
            p.state_message = gw_.monitor().state() == upstream::State::degraded
                                  ? "accepting jobs; the central server answers slowly, jobs still go to it"
                                  : "accepting jobs; jobs go to the central server";
        }
    } else if (!qc.printer.empty()) {
        auto st = gw_.forwarder().status(qc.printer);
        p.processing = st.busy();
        for (const auto& r : st.reasons)
            if (r != "none") p.state_reasons.push_back(r);
        if (!st.message.empty()) p.state_message = st.message;
    }
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.meta.queue == ex.queue && (j.state == spool::JobState::held || j.state == spool::JobState::pending ||
                                         j.state == spool::JobState::processing))
            ++p.queued_jobs;
    });
    Wanted wanted(ex.request.requested_attributes, {"all"});
    add_printer_attributes(ex.response.add_printer_group(), p, wanted);
}

void IppService::cups_get_printers(Exchange& ex, bool only_default) {
    const auto cfg = gw_.config_ptr();
    for (const auto& [name, q] : cfg->queues) {
        if (only_default && name != cfg->default_queue) continue;
        ex.queue = name;
        ex.printer_uri = ex.queue_uri(name);
        get_printer_attributes(ex);
    }
}

void IppService::get_jobs(Exchange& ex) {
    std::string which = ex.request.which_jobs.value_or("not-completed");
    if (which != "not-completed" && which != "completed" && which != "all") {
        ex.fail(Status::client_error_attributes_or_values_not_supported, "which-jobs value not supported");
        ex.response.add_unsupported_group().add_keyword("which-jobs", which);
        return;
    }
    bool mine = ex.request.my_jobs.value_or(false);
    const bool op = is_operator(ex, ex.queue);
    std::int32_t limit = ex.request.limit.value_or(0x7fffffff);
    Wanted wanted(ex.request.requested_attributes, {"job-id", "job-uri"});
    auto jobs = gw_.spool().list();
    // Newest first for completed jobs, oldest first otherwise (as cupsd).
    if (which == "completed") std::reverse(jobs.begin(), jobs.end());
    std::int32_t n = 0;
    std::int64_t now = unix_now();
    for (const auto& j : jobs) {
        if (j.meta.queue != ex.queue) continue;
        bool done = j.state == spool::JobState::completed || j.state == spool::JobState::aborted ||
                    j.state == spool::JobState::canceled;
        if ((which == "not-completed" && done) || (which == "completed" && !done)) continue;
        if (mine && j.meta.user != ex.user) continue;
        if (n++ >= limit) break;
        JobView v{&j, ex.job_uri(j.id), ex.printer_uri, up_since_, now, j.meta.user == ex.user || op};
        add_job_attributes(ex.response.add_job_group(), v, wanted);
    }
}

void IppService::get_job_attributes(Exchange& ex) {
    auto id = target_job(ex.request);
    if (!id) {
        ex.fail(Status::client_error_bad_request, "job-id or job-uri required");
        return;
    }
    auto rec = gw_.spool().find(*id);
    if (!rec) {
        if (incoming_.count(*id)) {
            auto& g = ex.response.add_job_group();
            g.add_integer("job-id", static_cast<std::int32_t>(*id))
                .add_enum("job-state", 4)
                .add_keywords("job-state-reasons", {"job-incoming"});
            return;
        }
        ex.fail(Status::client_error_not_found, "no such job");
        return;
    }
    Wanted wanted(ex.request.requested_attributes, {"all"});
    std::string printer_uri = ex.queue_uri(rec->meta.queue);
    JobView v{&*rec, ex.job_uri(rec->id), printer_uri, up_since_, unix_now(),
              rec->meta.user == ex.user || is_operator(ex, rec->meta.queue)};
    add_job_attributes(ex.response.add_job_group(), v, wanted);
}

}  // namespace pg::service
