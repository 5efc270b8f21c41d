// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the whole IPP request path (clang-14 libFuzzer; with GCC it links
// into the corpus-replay test fuzz_replay.ipp_request): IppService::handle() frames,
// decodes and validates each request and runs its operation against a real Gateway
// whose spool lives in a throwaway directory (/dev/shm, else /tmp).
//
// The Gateway is built once, on the first input, as app/main.cpp builds it: a
// Config made in code (no listeners; queue `default` hold without a printer, queue
// `direct` routing to printer `office` at ipp://127.0.0.1:9/ipp/print; 1 MiB jobs;
// log level off), then start(). Gateway::run() is never called, and the forwarder
// is stopped at once, so no job is ever sent anywhere: wake() does nothing and the
// harness stays deterministic and off the network.
//
// Input: up to four requests separated by "@@NEXT@@". Each request is one variant
// byte, then the HTTP body (the IPP message and any document data). The variant:
//   bits 0-2  HTTP target: /ipp/print/default, /ipp/print/direct, /printers/default,
//             /, /jobs/1, /printers/direct, /ipp/print/nosuch, /ipp/print
//   bit 3     head.tls (came in on IPPS: ipps:// URIs)
//   bit 4     head.encrypted
//   bits 5-7  0: body in one chunk; 1: two chunks, split after the 8-byte header;
//             2: two halves; 3: three thirds; 4: three chunks, the first and last
//             one byte; 5: one chunk, then a read error instead of the end;
//             6: GET (no body); 7: POST with Content-Type text/plain
// Later requests of one input can name the newest job an earlier one created: the
// integer 0x7FFFFF01 (bytes 7F FF FF 01) and the decimal text "2147483393" are
// replaced by its id (the text zero-padded to the same length) before sending.
//
// Checks, for every reply: HTTP status 100..599; an application/ipp body is one
// complete, decodable IPP message with a supported version; a request that
// view() accepts gets an IPP reply echoing its request-id; a successful Print-Job
// or last Send-Document names a job the spool holds (acknowledged only once
// durable), a successful Create-Job names one it does not hold yet.
//
// After each input every job still waiting for documents is dropped
// (IppService::discard_incoming), every spooled job is removed, and the spool
// must then account for no job and no reserved byte. So inputs do not depend on
// each other: only job ids keep growing.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/system/result.hpp>
#include <cups/ipp.h>

#include "conf/config.hpp"
#include "gateway/app/gateway.hpp"
#include "gateway/log/log.hpp"
#include "gateway/net/http_session.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/ipp_service.hpp"
#include "gateway/spool/spool.hpp"
#include "protocols/ipp/frame.hpp"
#include "protocols/ipp/message.hpp"
#include "protocols/ipp/request.hpp"

namespace {

namespace asio = boost::asio;

constexpr std::string_view kSeparator = "@@NEXT@@";
constexpr std::size_t kMaxRequests = 4;
constexpr std::uint32_t kJobPlaceholder = 0x7FFFFF01u;
constexpr std::string_view kJobPlaceholderText = "2147483393";  // 0x7FFFFF01 in decimal

constexpr std::string_view kTargets[8] = {
    "/ipp/print/default", "/ipp/print/direct", "/printers/default", "/",
    "/jobs/1",            "/printers/direct",  "/ipp/print/nosuch", "/ipp/print",
};

void check(bool condition, const char* what) {
    if (condition) return;
    std::fprintf(stderr, "ipp_request_fuzz: check failed: %s\n", what);
    std::abort();
}

// The Gateway and its throwaway state directory, built on the first input and
// torn down at exit (so the replay test leaves nothing behind).
struct Harness {
    std::string root;
    std::unique_ptr<pg::log::Logger> log;
    std::unique_ptr<pg::app::Gateway> gateway;
};

Harness* harness = nullptr;

std::string make_root() {
    for (const char* base : {"/dev/shm", "/tmp"}) {
        std::string pattern = std::string(base) + "/pg-ipp-request-XXXXXX";
        if (::mkdtemp(pattern.data()) != nullptr) return pattern;
    }
    check(false, "mkdtemp in /dev/shm and /tmp");
    return {};
}

pg::conf::Config make_config(const std::string& root) {
    pg::conf::Config c;
    c.state_dir = root + "/state";
    pg::conf::PrinterConfig office;
    office.name = "office";
    office.uri = "ipp://127.0.0.1:9/ipp/print";  // nothing listens; never contacted
    office.profile.formats = {"application/pdf", "application/postscript", "image/pwg-raster"};
    office.profile.color = false;
    c.printers.emplace("office", office);
    pg::conf::QueueConfig hold;
    hold.name = "default";
    hold.description = "held until released";
    hold.mode = pg::conf::QueueMode::hold;
    c.queues.emplace("default", hold);
    pg::conf::QueueConfig direct;
    direct.name = "direct";
    direct.description = "straight to the office printer";
    direct.mode = pg::conf::QueueMode::direct;
    direct.printer = "office";
    c.queues.emplace("direct", direct);
    c.default_queue = "default";
    c.spool.max_job_size = 1u << 20;
    c.log.level = pg::conf::LogLevel::off;
    return c;
}

void tear_down() {
    if (harness == nullptr) return;
    harness->gateway.reset();
    harness->log.reset();
    std::error_code ec;
    std::filesystem::remove_all(harness->root, ec);
    delete harness;
    harness = nullptr;
}

pg::app::Gateway& gateway() {
    if (harness != nullptr) return *harness->gateway;
    harness = new Harness;
    harness->root = make_root();
    pg::conf::Config config = make_config(harness->root);
    harness->log = std::make_unique<pg::log::Logger>(pg::log::Target::stderr_text, config.log.level);
    pg::app::Gateway::Options options{"", harness->root, {}};
    harness->gateway = std::make_unique<pg::app::Gateway>(std::move(config), std::move(options), *harness->log);
    std::string error;
    if (!harness->gateway->start(error)) {
        std::fprintf(stderr, "ipp_request_fuzz: gateway start failed: %s\n", error.c_str());
        std::abort();
    }
    // Routed jobs stay pending: wake() is a no-op from now on.
    harness->gateway->forwarder().stop();
    std::atexit(tear_down);
    return *harness->gateway;
}

// Hands out the body in the chunks given, then the end (or a read error).
class ChunkedBody final : public pg::net::BodySource {
public:
    ChunkedBody(std::vector<std::span<const std::byte>> chunks, bool fail_at_end)
        : chunks_(std::move(chunks)), fail_at_end_(fail_at_end) {}

    asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        if (next_ < chunks_.size()) co_return chunks_[next_++];
        if (fail_at_end_) co_return boost::system::error_code(asio::error::connection_reset);
        co_return std::span<const std::byte>{};
    }

private:
    std::vector<std::span<const std::byte>> chunks_;
    bool fail_at_end_;
    std::size_t next_ = 0;
};

// Runs one exchange on the gateway's I/O context until the handler replies.
pg::net::HttpReply exchange(pg::app::Gateway& gw, const pg::net::HttpRequestHead& head, pg::net::BodySource& body) {
    bool done = false;
    std::exception_ptr failure;
    pg::net::HttpReply reply;
    asio::co_spawn(gw.io(), gw.ipp().handle(head, body),
                   [&](std::exception_ptr e, pg::net::HttpReply r) {
                       failure = e;
                       reply = std::move(r);
                       done = true;
                   });
    gw.io().restart();
    while (!done) check(gw.io().run_one() > 0, "the I/O context ran out of work before the reply");
    gw.io().poll();  // whatever the handler left ready
    if (failure) std::rethrow_exception(failure);  // no exception may leave a handler
    return reply;
}

// What the harness knows of a request it sends: view()'s verdict on its section.
struct Sent {
    std::optional<pg::ipp::Request> request;  // `message` is cleared: only the copied fields
    bool ipp = false;                         // POSTed as application/ipp
};

Sent inspect(std::span<const std::byte> body, bool ipp) {
    Sent s;
    s.ipp = ipp;
    pg::ipp::FrameParser frame;
    const auto fed = frame.feed(body);
    if (fed.status != pg::ipp::FrameStatus::complete) return s;
    auto decoded = pg::ipp::decode(body.first(fed.consumed));
    if (!decoded) return s;
    auto viewed = pg::ipp::view(*decoded);
    if (!viewed) return s;
    s.request = std::move(*viewed);
    s.request->message = nullptr;
    return s;
}

// The reply's IPP message, checked for framing; nullopt for a non-IPP reply.
std::optional<pg::ipp::Message> check_reply(const pg::net::HttpReply& reply, const Sent& sent) {
    check(reply.status >= 100 && reply.status <= 599, "HTTP status out of range");
    const bool ipp = reply.content_type == "application/ipp";
    if (sent.ipp && sent.request) check(ipp, "a valid IPP request got a non-IPP reply");
    if (!ipp) return std::nullopt;
    check(reply.status == 200, "an IPP reply with an HTTP status other than 200");
    pg::ipp::FrameLimits roomy;
    roomy.max_section_bytes = 16u << 20;
    roomy.max_attributes = 1u << 20;
    roomy.max_value_length = 65535;
    pg::ipp::FrameParser frame(roomy);
    const auto fed = frame.feed(reply.body);
    check(fed.status == pg::ipp::FrameStatus::complete, "the IPP reply does not frame");
    check(fed.consumed == reply.body.size(), "bytes after the IPP reply's end tag");
    auto decoded = pg::ipp::decode(reply.body, roomy);
    check(decoded.has_value(), "libcups cannot decode the IPP reply");
    check(pg::ipp::is_supported_version(decoded->version()), "the IPP reply's version is not supported");
    if (sent.request) {
        check(decoded->request_id() == sent.request->request_id, "the IPP reply does not echo request-id");
        check(decoded->version() == pg::ipp::reply_version(sent.request->version), "the IPP reply's version");
    }
    return std::move(*decoded);
}

std::optional<std::uint64_t> reply_job_id(const pg::ipp::Message& m) {
    ipp_attribute_t* a = ippFindAttribute(m.get(), "job-id", IPP_TAG_INTEGER);
    if (a == nullptr || ippGetGroupTag(a) != IPP_TAG_JOB) return std::nullopt;
    const int id = ippGetInteger(a, 0);
    check(id > 0, "a job-id below 1 in a reply");
    return static_cast<std::uint64_t>(id);
}

// Replaces the job placeholders (see the file header) with `job`.
void substitute_job(std::vector<std::byte>& body, std::uint64_t job) {
    auto big_endian = [](std::uint32_t v) {
        return std::array<std::byte, 4>{std::byte(v >> 24), std::byte(v >> 16), std::byte(v >> 8), std::byte(v)};
    };
    const auto placeholder = big_endian(kJobPlaceholder);
    const auto id = static_cast<std::uint32_t>(job);
    const auto value = big_endian(id);
    char digits[16];
    std::snprintf(digits, sizeof digits, "%010u", id);
    for (std::size_t i = 0; i + 4 <= body.size(); ++i)
        if (std::memcmp(body.data() + i, placeholder.data(), 4) == 0) std::memcpy(body.data() + i, value.data(), 4);
    const auto* text = reinterpret_cast<const std::byte*>(kJobPlaceholderText.data());
    for (std::size_t i = 0; i + kJobPlaceholderText.size() <= body.size(); ++i)
        if (std::memcmp(body.data() + i, text, kJobPlaceholderText.size()) == 0)
            std::memcpy(body.data() + i, digits, kJobPlaceholderText.size());
}

std::vector<std::span<const std::byte>> chunking(std::span<const std::byte> body, unsigned mode) {
    const std::size_t n = body.size();
    auto cut = [&](std::initializer_list<std::size_t> at) {
        std::vector<std::span<const std::byte>> out;
        std::size_t from = 0;
        for (std::size_t to : at) {
            to = std::min(std::max(to, from), n);
            if (to > from) out.push_back(body.subspan(from, to - from));
            from = to;
        }
        if (n > from) out.push_back(body.subspan(from));
        return out;
    };
    switch (mode) {
    case 1: return cut({8});
    case 2: return cut({n / 2});
    case 3: return cut({n / 3, 2 * n / 3});
    case 4: return cut({1, n == 0 ? 0 : n - 1});
    default: return cut({});
    }
}

// IPP_REQUEST_FUZZ_VERBOSE=1: one line per exchange on stderr, to see what a
// corpus file exercises.
bool verbose() {
    static const bool on = std::getenv("IPP_REQUEST_FUZZ_VERBOSE") != nullptr;
    return on;
}

void trace(const pg::net::HttpRequestHead& head, const Sent& sent, const pg::net::HttpReply& reply,
           const std::optional<pg::ipp::Message>& message) {
    std::string status_message;
    if (message) {
        ipp_attribute_t* a = ippFindAttribute(message->get(), "status-message", IPP_TAG_TEXT);
        if (a != nullptr && ippGetString(a, 0, nullptr) != nullptr) status_message = ippGetString(a, 0, nullptr);
    }
    std::fprintf(stderr, "%s %s op=0x%04x -> HTTP %u ipp=0x%04x %s\n", head.method.c_str(), head.target.c_str(),
                 sent.request ? static_cast<unsigned>(sent.request->operation) : 0u, reply.status,
                 message ? static_cast<unsigned>(message->operation_or_status()) : 0u, status_message.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    pg::app::Gateway& gw = gateway();
    const std::string_view input(reinterpret_cast<const char*>(data), size);

    std::vector<std::string_view> requests;
    std::size_t from = 0;
    while (requests.size() + 1 < kMaxRequests) {
        const auto at = input.find(kSeparator, from);
        if (at == std::string_view::npos) break;
        requests.push_back(input.substr(from, at - from));
        from = at + kSeparator.size();
    }
    requests.push_back(input.substr(from));

    std::optional<std::uint64_t> newest_job;
    std::vector<std::uint64_t> incoming;
    for (std::string_view request : requests) {
        if (request.empty()) continue;
        const auto variant = static_cast<std::uint8_t>(request.front());
        const auto* first = reinterpret_cast<const std::byte*>(request.data() + 1);
        std::vector<std::byte> body(first, first + (request.size() - 1));
        if (newest_job) substitute_job(body, *newest_job);

        const unsigned mode = variant >> 5;
        pg::net::HttpRequestHead head;
        head.method = mode == 6 ? "GET" : "POST";
        head.target = std::string(kTargets[variant & 7]);
        head.content_type = mode == 7 ? "text/plain" : "application/ipp";
        head.host = "printgate.test:631";
        head.peer = "127.0.0.1:40000";
        head.tls = (variant & 0x08) != 0;
        head.encrypted = (variant & 0x10) != 0;
        if (mode == 6) body.clear();
        head.has_body = !body.empty();

        const Sent sent = inspect(body, head.method == "POST" && mode != 7);
        ChunkedBody source(chunking(body, mode), mode == 5);
        const pg::net::HttpReply reply = exchange(gw, head, source);
        const auto message = check_reply(reply, sent);
        if (verbose()) trace(head, sent, reply, message);
        if (!message || !sent.request) continue;

        // A job in a successful reply: where the spool must (not) have it.
        const pg::ipp::Request& rq = *sent.request;
        const bool ok = message->operation_or_status() < 0x0100;
        const auto job = reply_job_id(*message);
        using pg::ipp::Operation;
        const bool commits = rq.is(Operation::print_job) || (rq.is(Operation::send_document) && rq.last_document.value_or(false));
        const bool opens = rq.is(Operation::create_job) || (rq.is(Operation::send_document) && !rq.last_document.value_or(true));
        if (ok && commits) {
            check(job.has_value(), "a successful Print-Job / last Send-Document names its job");
            check(gw.spool().find(*job).has_value(), "an acknowledged job is in the spool");
        }
        if (ok && opens) {
            check(job.has_value(), "a successful Create-Job / Send-Document names its job");
            check(!gw.spool().find(*job).has_value(), "a job waiting for documents is not in the spool yet");
            incoming.push_back(*job);
        }
        if (ok && job && (commits || rq.is(Operation::create_job))) newest_job = job;
    }

    // Leave nothing behind for the next input.
    std::sort(incoming.begin(), incoming.end());
    incoming.erase(std::unique(incoming.begin(), incoming.end()), incoming.end());
    // Jobs still waiting for documents are dropped (their owners vary with the input,
    // so a Cancel-Job could not name them all).
    gw.ipp().discard_incoming();
    for (const auto& job : gw.spool().list()) check(gw.spool().remove(job.id).has_value(), "spool remove");
    const auto usage = gw.spool().usage();
    check(usage.jobs == 0, "jobs left in the spool after cleanup");
    check(usage.committed_bytes == 0, "committed bytes still counted after every job was removed");
    check(usage.reserved_bytes == 0, "reserved bytes still counted after every writer ended");
    return 0;
}
