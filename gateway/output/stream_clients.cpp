// SPDX-License-Identifier: Apache-2.0
// LPD and raw 9100 clients. See stream_clients.hpp.
#include "gateway/output/stream_clients.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <fmt/format.h>

#include "protocols/lpd/control_file.hpp"
#include "protocols/lpd/control_writer.hpp"

namespace pg::output {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kConnectTimeout = 15s;
constexpr auto kIoTimeout = 60s;

// RFC 1179 job numbers: three digits, rotating; started at random so two
// gateways (or a restart) do not reuse the same numbers at once.
unsigned next_job_number() {
    static std::atomic<unsigned> counter{static_cast<unsigned>(std::random_device{}() % 1000)};
    return counter.fetch_add(1) % 1000;
}

// This machine's name, for the control file's H line (the writer cuts it to 31
// bytes and sanitises it).
std::string local_host() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0) return {};
    return name;
}

// Control-file text: no newlines or NULs (names were sanitised at intake).
std::string field(std::string_view v, std::size_t max = 131) {
    std::string out;
    for (char c : v)
        if (c != '\n' && c != '\r' && c != '\0') out += c;
    return out.substr(0, max);
}

bool option(const PrinterUri& uri, std::string_view key, std::string_view value) {
    std::string_view q = uri.query;
    while (!q.empty()) {
        auto amp = q.find('&');
        std::string_view kv = q.substr(0, amp);
        if (kv.substr(0, kv.find('=')) == key && kv.find('=') != std::string_view::npos &&
            kv.substr(kv.find('=') + 1).find(value) != std::string_view::npos)
            return true;
        if (amp == std::string_view::npos) break;
        q.remove_prefix(amp + 1);
    }
    return false;
}

asio::awaitable<boost::system::result<beast::tcp_stream, ClientError>> open(asio::any_io_executor ex,
                                                                            const PrinterUri& uri) {
    using R = boost::system::result<beast::tcp_stream, ClientError>;
    tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(uri.host, uri.port, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return R(boost::system::in_place_error, ClientError{"cannot resolve " + uri.host + ": " + rec.message(), false});
    beast::tcp_stream stream(ex);
    stream.expires_after(kConnectTimeout);
    auto [cec, ep] = co_await stream.async_connect(results, asio::as_tuple(asio::use_awaitable));
    if (cec)
        co_return R(boost::system::in_place_error, ClientError{"cannot connect to " + uri.authority + ": " +
                                    (cec == beast::error::timeout ? std::string("timed out") : cec.message()),
                                false});
    co_return R(boost::system::in_place_value, std::move(stream));
}

asio::awaitable<boost::system::error_code> write(beast::tcp_stream& s, std::span<const std::byte> bytes) {
    s.expires_after(kIoTimeout);
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes.data(), bytes.size()),
                                              asio::as_tuple(asio::use_awaitable));
    co_return ec;
}

asio::awaitable<boost::system::error_code> write_text(beast::tcp_stream& s, const std::string& text) {
    co_return co_await write(s, std::as_bytes(std::span(text.data(), text.size())));
}

pjl::JobSettings pjl_settings(const StreamJob& job) {
    return pjl::JobSettings{job.title, job.user, job.copies, job.duplex, job.grayscale};
}

// Streams `doc` exactly; a source longer or shorter than its size is an error
// (unless the size is not known: a converted document).
asio::awaitable<std::optional<std::string>> stream_document(beast::tcp_stream& s, const StreamDocument& doc) {
    std::uint64_t sent = 0;
    for (;;) {
        auto chunk = co_await doc.body->next();
        if (!chunk) co_return "reading the document failed: " + chunk.error().message();
        if (chunk->empty()) break;
        sent += chunk->size();
        if (auto ec = co_await write(s, *chunk)) co_return "sending the document failed: " + ec.message();
    }
    if (doc.exact && sent != doc.size) co_return fmt::format("the document has {} bytes, not {}", sent, doc.size);
    co_return std::nullopt;
}

// The control file send_lpd writes for `job` (RFC 1179 §7, by the pure writer,
// which sanitises every name and keeps to the RFC's octet limits), with its data
// file names. `host` is this machine's name, `number` the job number.
struct ControlDraft {
    std::string control;
    std::vector<std::string> data_names;
};

boost::system::result<ControlDraft, ClientError> draft_control(const StreamJob& job, const std::string& host,
                                                               unsigned number) {
    using R = boost::system::result<ControlDraft, ClientError>;
    auto fail = [](std::string why) { return R(boost::system::in_place_error, ClientError{std::move(why), false}); };
    // CUPS's lpd backend keeps 15 bytes of the host in spool names ("dfA%03d%.15s").
    const std::string spool = lpd::spool_host(host, 15);
    lpd::ControlFile control_job;
    if (!host.empty()) control_job.host = host;
    control_job.user = job.user.empty() ? std::string("anonymous") : job.user;
    if (!job.title.empty()) control_job.job_name = job.title;
    ControlDraft out;
    for (std::size_t i = 0; i < job.documents.size(); ++i) {
        auto name = lpd::spool_file_name(false, i, number, spool);
        if (!name) return fail("cannot name data file " + std::to_string(i + 1) + ": " + name.error().message);
        out.data_names.push_back(*name);
        const std::string& n = job.documents[i].name.empty() ? job.title : job.documents[i].name;
        control_job.files.push_back(
            lpd::PrintFile{*name, 'l', 1, n.empty() ? std::nullopt : std::optional<std::string>(n)});
        control_job.unlink.push_back(*name);
    }
    if (out.data_names.empty()) return fail("the job has no document");
    auto written = lpd::write_control_file(control_job);
    if (!written) return fail("cannot write the control file: " + written.error().message);
    out.control = std::move(*written);
    return out;
}

}  // namespace

boost::system::result<LpdIdentity, ClientError> lpd_identity(const StreamJob& job) {
    using R = boost::system::result<LpdIdentity, ClientError>;
    auto draft = draft_control(job, local_host(), 0);
    if (!draft) return R(boost::system::in_place_error, draft.error());
    // Read back as any receiver reads it: the P, J and N values as they arrive.
    auto parsed = lpd::parse_control_file(draft->control);
    if (!parsed) return R(boost::system::in_place_error, ClientError{"cannot read back the control file", false});
    LpdIdentity id;
    id.user = parsed->user.value_or("");
    id.title = parsed->job_name.value_or("");
    const std::uint64_t wrapper = job.pjl ? pjl::write_header(pjl_settings(job)).size() + pjl::write_trailer().size() : 0;
    for (std::size_t i = 0; i < job.documents.size(); ++i) id.sizes.push_back(job.documents[i].size + wrapper);
    return id;
}

bool wants_pjl(const PrinterUri& uri) { return option(uri, "pjl", "on"); }

asio::awaitable<boost::system::result<std::string, ClientError>> query_lpd(asio::any_io_executor ex,
                                                                           const PrinterUri& uri,
                                                                           const std::string& user,
                                                                           const LpdQueryLimits& limits) {
    using R = boost::system::result<std::string, ClientError>;
    auto opened = co_await open(ex, uri);
    if (!opened) co_return R(boost::system::in_place_error, opened.error());
    beast::tcp_stream& s = *opened;
    auto fail = [](std::string why) { return R(boost::system::in_place_error, ClientError{std::move(why), true}); };
    // RFC 1179 §5.4: \4 queue SP list LF; the server answers and closes (no status byte).
    const std::string line = "\x04" + field(uri.path.substr(1), 127) + " " + field(user, 131) + "\n";
    if (auto ec = co_await write_text(s, line)) co_return fail("asking for the queue: " + ec.message());
    std::string answer;
    std::array<char, 4096> buf;
    // One deadline for the whole answer: a server that trickles bytes cannot hold us.
    s.expires_after(limits.answer_timeout);
    for (;;) {
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (n > limits.max_bytes - std::min(limits.max_bytes, answer.size()))
            co_return fail(fmt::format("the queue listing is larger than {} bytes", limits.max_bytes));
        answer.append(buf.data(), n);
        if (ec == asio::error::eof) break;
        if (ec == beast::error::timeout) co_return fail("the queue listing did not end in time");
        if (ec) co_return fail("reading the queue listing: " + ec.message());
    }
    co_return R(boost::system::in_place_value, std::move(answer));
}

asio::awaitable<StreamResult> send_lpd(asio::any_io_executor ex, const PrinterUri& uri, const StreamJob& job) {
    auto opened = co_await open(ex, uri);
    if (!opened) co_return StreamResult(opened.error());
    beast::tcp_stream& s = *opened;
    const std::string queue = uri.path.substr(1);
    const unsigned number = next_job_number();
    const std::string host = local_host();
    const std::string spool = lpd::spool_host(host, 15);
    auto ack = [&](std::string_view what) -> asio::awaitable<std::optional<std::string>> {
        std::byte b{1};
        s.expires_after(kIoTimeout);
        auto [ec, n] = co_await asio::async_read(s, asio::buffer(&b, 1), asio::as_tuple(asio::use_awaitable));
        if (ec) co_return fmt::format("no acknowledgement for {}: {}", what, ec.message());
        if (b != std::byte{0}) co_return fmt::format("the LPD server refused {} (code {})", what, static_cast<int>(b));
        co_return std::nullopt;
    };
    auto fail = [](std::string why) { return StreamResult(ClientError{std::move(why), true}); };

    if (auto ec = co_await write_text(s, "\x02" + field(queue, 127) + "\n")) co_return fail("sending: " + ec.message());
    if (auto e = co_await ack("the queue " + queue)) co_return fail(*e);

    auto draft = draft_control(job, host, number);
    if (!draft) co_return fail(draft.error().message);
    const std::string control = std::move(draft->control);
    const std::vector<std::string> data_names = std::move(draft->data_names);
    const std::string control_name = *lpd::spool_file_name(true, 0, number, spool);

    auto send_control = [&]() -> asio::awaitable<std::optional<std::string>> {
        if (auto ec = co_await write_text(s, fmt::format("\x02{} {}\n", control.size(), control_name)))
            co_return "sending: " + ec.message();
        if (auto e = co_await ack("the control file")) co_return e;
        if (auto ec = co_await write_text(s, control + std::string(1, '\0'))) co_return "sending: " + ec.message();
        co_return co_await ack("the control file's data");
    };
    // ?pjl=on: each data file is the document inside a PJL wrapper.
    const std::string pjl_head = job.pjl ? pjl::write_header(pjl_settings(job)) : std::string();
    const std::string pjl_tail = job.pjl ? pjl::write_trailer() : std::string();
    auto send_data = [&]() -> asio::awaitable<std::optional<std::string>> {
        for (std::size_t i = 0; i < job.documents.size(); ++i) {
            const auto& doc = job.documents[i];
            if (!doc.exact) co_return std::string("LPD needs each document's size before it is sent");
            const std::uint64_t size = doc.size + pjl_head.size() + pjl_tail.size();
            if (auto ec = co_await write_text(s, fmt::format("\x03{} {}\n", size, data_names[i])))
                co_return "sending: " + ec.message();
            if (auto e = co_await ack("a data file")) co_return e;
            if (!pjl_head.empty())
                if (auto ec = co_await write_text(s, pjl_head)) co_return "sending: " + ec.message();
            if (auto e = co_await stream_document(s, doc)) co_return e;
            if (!pjl_tail.empty())
                if (auto ec = co_await write_text(s, pjl_tail)) co_return "sending: " + ec.message();
            if (auto ec = co_await write_text(s, std::string(1, '\0'))) co_return "sending: " + ec.message();
            if (auto e = co_await ack("a data file's data")) co_return e;
        }
        co_return std::nullopt;
    };
    const bool data_first = option(uri, "order", "data");
    if (data_first) {
        if (auto e = co_await send_data()) co_return fail(*e);
        if (auto e = co_await send_control()) co_return fail(*e);
    } else {
        if (auto e = co_await send_control()) co_return fail(*e);
        if (auto e = co_await send_data()) co_return fail(*e);
    }
    boost::system::error_code ec;
    s.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return StreamResult(StreamReceipt{fmt::format("lpd:{:03}", number), true,
                                         fmt::format("accepted by the LPD server as job {:03}", number)});
}

asio::awaitable<StreamResult> send_socket(asio::any_io_executor ex, const PrinterUri& uri, const StreamJob& job) {
    auto opened = co_await open(ex, uri);
    if (!opened) co_return StreamResult(opened.error());
    beast::tcp_stream& s = *opened;
    auto fail = [](std::string why) { return StreamResult(ClientError{std::move(why), true}); };
    const bool pjl = job.pjl;
    if (pjl) {
        const std::string head = pjl::write_header(pjl_settings(job));
        if (auto ec = co_await write_text(s, head)) co_return fail("sending: " + ec.message());
    }
    for (const auto& doc : job.documents)
        if (auto e = co_await stream_document(s, doc)) co_return fail(*e);
    if (pjl) {
        const std::string tail = pjl::write_trailer();
        if (auto ec = co_await write_text(s, tail)) co_return fail("sending: " + ec.message());
    }
    boost::system::error_code ec;
    s.socket().shutdown(tcp::socket::shutdown_send, ec);
    // The printer closes when it has the job; what it sends meanwhile is status, read and dropped.
    std::array<std::byte, 4096> sink;
    s.expires_after(kIoTimeout);
    for (;;) {
        auto [rec, n] = co_await s.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
        if (rec == asio::error::eof)
            co_return StreamResult(StreamReceipt{"socket", true, "sent over 9100; the printer closed the connection"});
        if (rec) break;
    }
    co_return StreamResult(StreamReceipt{"socket", false,
                                         "sent over 9100; the printer did not close the connection in time "
                                         "(delivery unconfirmed)"});
}

}  // namespace pg::output
