// SPDX-License-Identifier: Apache-2.0
// IPP client connection. See ipp_client.hpp.
#include "gateway/output/ipp_client.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/throw_exception.hpp>
#include <openssl/ssl.h>

#include "protocols/ipp/frame.hpp"

namespace pg::output {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto kConnectTimeout = 15s;
constexpr auto kIoTimeout = 60s;
constexpr std::size_t kMaxResponse = 4 * 1024 * 1024;
constexpr std::size_t kChunkLimit = 4 * 1024 * 1024;
// Polling SIOCOUTQ before a chunk boundary: from this, doubling to kAckPollMax.
constexpr auto kAckPollFirst = std::chrono::microseconds(100);
constexpr auto kAckPollMax = std::chrono::milliseconds(2);

std::string fmt_hex(std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    do {
        out.insert(out.begin(), kDigits[n % 16]);
        n /= 16;
    } while (n != 0);
    return out;
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

void throw_exception_from_error(const ClientError& e, const boost::source_location& loc) {
    boost::throw_exception(std::runtime_error(e.message), loc);
}

std::optional<PrinterUri> parse_printer_uri(std::string_view uri) {
    PrinterUri u;
    const auto sep = uri.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    u.scheme = std::string(uri.substr(0, sep));
    if (u.scheme != "ipp" && u.scheme != "ipps" && u.scheme != "lpd" && u.scheme != "socket") return std::nullopt;
    u.tls = u.scheme == "ipps";
    std::string_view rest = uri.substr(sep + 3);
    if (u.scheme == "lpd" || u.scheme == "socket") {
        if (auto q = rest.find('?'); q != std::string_view::npos) {
            u.query = std::string(rest.substr(q + 1));
            rest = rest.substr(0, q);
        }
    }
    const auto slash = rest.find_first_of("/");
    u.authority = std::string(rest.substr(0, slash));
    u.path = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
    if (u.scheme == "lpd" && (u.path.size() < 2 || u.path.find('/', 1) != std::string::npos)) return std::nullopt;
    std::string_view a = u.authority;
    if (a.empty()) return std::nullopt;
    if (a.front() == '[') {
        const auto close = a.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        u.host = std::string(a.substr(1, close - 1));
        if (close + 1 < a.size()) {
            if (a[close + 1] != ':') return std::nullopt;
            u.port = std::string(a.substr(close + 2));
        }
    } else if (const auto colon = a.rfind(':'); colon != std::string_view::npos) {
        u.host = std::string(a.substr(0, colon));
        u.port = std::string(a.substr(colon + 1));
    } else {
        u.host = std::string(a);
    }
    if (u.host.empty()) return std::nullopt;
    if (u.port.empty()) u.port = u.scheme == "lpd" ? "515" : u.scheme == "socket" ? "9100" : "631";
    return u;
}

struct IppClient::Impl {
    asio::any_io_executor ex;
    asio::ssl::context& tls_ctx;
    std::optional<PrinterUri> target;
    bool verify_host = false;
    std::optional<beast::tcp_stream> plain;
    std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    bool open = false;
    std::size_t chunk_limit = kChunkLimit;

    Impl(asio::any_io_executor e, asio::ssl::context& t) : ex(std::move(e)), tls_ctx(t) {}

    beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

    void reset() {
        boost::system::error_code ec;
        if (plain) plain->socket().close(ec);
        if (secure) beast::get_lowest_layer(*secure).socket().close(ec);
        plain.reset();
        secure.reset();
        buffer.clear();
        open = false;
    }

    asio::awaitable<std::optional<ClientError>> connect() {
        reset();
        tcp::resolver resolver(ex);
        auto [rec, results] = co_await resolver.async_resolve(target->host, target->port,
                                                              asio::as_tuple(asio::use_awaitable));
        if (rec) co_return ClientError{"cannot resolve " + target->host + ": " + rec.message(), false};
        if (target->tls) secure.emplace(ex, tls_ctx);
        else plain.emplace(ex);
        lowest().expires_after(kConnectTimeout);
        auto [cec, ep] = co_await lowest().async_connect(results, asio::as_tuple(asio::use_awaitable));
        if (cec) {
            reset();
            co_return ClientError{"cannot connect to " + target->authority + ": " +
                                      (cec == beast::error::timeout ? std::string("timed out") : cec.message()),
                                  false};
        }
        lowest().socket().set_option(tcp::no_delay(true));
        // Linger 0 s: close() and the process dying reset the connection (see the
        // header: a reset inside the body aborts the job at the receiver, a FIN does not).
        boost::system::error_code lec;
        lowest().socket().set_option(asio::socket_base::linger(true, 0), lec);
        if (lec) {
            reset();
            co_return ClientError{"cannot set SO_LINGER on the connection to " + target->authority + ": " +
                                      lec.message(),
                                  false};
        }
        if (secure) {
            if (!is_ip_literal(target->host)) SSL_set_tlsext_host_name(secure->native_handle(), target->host.c_str());
            if (verify_host) secure->set_verify_callback(asio::ssl::host_name_verification(target->host));
            lowest().expires_after(kConnectTimeout);
            auto [hec] = co_await secure->async_handshake(asio::ssl::stream_base::client,
                                                          asio::as_tuple(asio::use_awaitable));
            if (hec) {
                reset();
                // The TCP connection was open, but no IPP byte was sent.
                co_return ClientError{"TLS handshake with " + target->authority + " failed: " + hec.message(), false};
            }
        }
        open = true;
        co_return std::nullopt;
    }

    template <class Fields>
    void set_headers(Fields& req) const {
        req.set(http::field::host, target->authority);
        req.set(http::field::content_type, "application/ipp");
        req.set(http::field::user_agent, "printgate");
        req.keep_alive(true);
    }

    // No document, or one of known size: one Content-Length body.
    template <class Stream>
    asio::awaitable<boost::system::result<ipp::Message, ClientError>> exchange(
        Stream& s, const std::vector<std::byte>& section, net::BodySource* document,
        std::optional<std::uint64_t> document_size, bool& response_started) {
        using Result = boost::system::result<ipp::Message, ClientError>;
        http::request<http::buffer_body> req{http::verb::post, target->path, 11};
        set_headers(req);
        const bool sized = document && document_size;
        if (sized) req.content_length(section.size() + *document_size);
        else req.content_length(section.size());
        http::request_serializer<http::buffer_body> sr{req};
        auto write = [&](const void* data, std::size_t n, bool more) -> asio::awaitable<boost::system::error_code> {
            req.body().data = const_cast<void*>(data);
            req.body().size = n;
            req.body().more = more;
            lowest().expires_after(kIoTimeout);
            auto [ec, w] = co_await http::async_write(s, sr, asio::as_tuple(asio::use_awaitable));
            (void)w;
            if (ec == http::error::need_buffer) ec = {};
            co_return ec;
        };
        // Content-Length: `left` counts the body's bytes not yet written; the last one
        // is held back (`last`) until the document has ended, so a document longer
        // than announced never completes the body at the receiver.
        std::uint64_t left = sized ? section.size() + *document_size : 0;
        std::optional<std::byte> last;
        auto put = [&](const std::byte* data, std::size_t n) -> asio::awaitable<boost::system::error_code> {
            left -= n;
            if (n > 0 && left == 0) last = data[--n];
            if (n == 0) co_return boost::system::error_code{};
            co_return co_await write(data, n, true);
        };
        boost::system::error_code sent;
        if (sized) sent = co_await put(section.data(), section.size());
        else sent = co_await write(section.data(), section.size(), false);
        if (sent) co_return Result(ClientError{"sending the request failed: " + sent.message(), true});
        if (sized) {
            for (;;) {
                auto chunk = co_await document->next();
                if (!chunk) co_return Result(ClientError{"reading the document failed: " + chunk.error().message(), true});
                if (chunk->empty()) break;
                if (chunk->size() > left)
                    co_return Result(ClientError{"the document is longer than its announced size", true});
                sent = co_await put(chunk->data(), chunk->size());
                if (sent) co_return Result(ClientError{"sending the document failed: " + sent.message(), true});
            }
            if (!last) co_return Result(ClientError{"the document is shorter than its announced size", true});
            if (last) {
                if (auto ec = co_await write(&*last, 1, true))
                    co_return Result(ClientError{"sending the document failed: " + ec.message(), true});
            }
            if (auto ec = co_await write(nullptr, 0, false))
                co_return Result(ClientError{"sending the document failed: " + ec.message(), true});
        }
        co_return co_await read_response(s, response_started);
    }

    // Whether every byte written on the connection so far was acknowledged by the peer
    // (SIOCOUTQ: bytes not yet acknowledged), waiting for it up to kIoTimeout.
    asio::awaitable<boost::system::error_code> wait_acknowledged() {
        const int fd = lowest().socket().native_handle();
        asio::steady_timer timer(ex);
        const auto deadline = std::chrono::steady_clock::now() + kIoTimeout;
        std::chrono::microseconds delay = kAckPollFirst;
        for (;;) {
            if (!open) co_return boost::system::error_code(asio::error::operation_aborted);  // closed meanwhile
            int queued = 0;
            if (::ioctl(fd, SIOCOUTQ, &queued) != 0)
                co_return boost::system::error_code(errno, boost::system::system_category());
            if (queued == 0) co_return boost::system::error_code{};
            if (std::chrono::steady_clock::now() >= deadline) co_return boost::system::error_code(asio::error::timed_out);
            timer.expires_after(delay);
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            delay = std::min<std::chrono::microseconds>(kAckPollMax, delay * 2);
        }
    }

    // A document of unknown size: safe chunking (ipp_client.hpp). The body is the IPP
    // request followed by the document, cut in chunks of up to chunk_limit bytes, each
    // announced once its bytes are in hand. A chunk's last byte is held back; the
    // boundary to the next chunk goes as one small write, [last byte] CRLF SIZE CRLF
    // [the next chunk's first byte], once every byte before it is acknowledged, so the
    // receiver's stream can end inside a chunk, never between two. A boundary is only
    // written for a next chunk of at least 2 bytes (its last one is held back in turn).
    template <class Stream>
    asio::awaitable<boost::system::result<ipp::Message, ClientError>> exchange_chunked(
        Stream& s, const std::vector<std::byte>& section, net::BodySource& document, BodyEnd* end,
        bool& response_started) {
        using Result = boost::system::result<ipp::Message, ClientError>;
        http::request<http::empty_body> req{http::verb::post, target->path, 11};
        set_headers(req);
        req.chunked(true);
        http::request_serializer<http::empty_body> sr{req};
        lowest().expires_after(kIoTimeout);
        auto [hec, hn] = co_await http::async_write_header(s, sr, asio::as_tuple(asio::use_awaitable));
        (void)hn;
        if (hec) co_return Result(ClientError{"sending the request failed: " + hec.message(), true});
        auto write = [&](std::span<const std::byte> bytes) -> asio::awaitable<boost::system::error_code> {
            lowest().expires_after(kIoTimeout);
            auto [ec, w] = co_await asio::async_write(s, asio::buffer(bytes.data(), bytes.size()),
                                                      asio::as_tuple(asio::use_awaitable));
            (void)w;
            co_return ec;
        };
        auto append_text = [](std::vector<std::byte>& out, std::string_view text) {
            for (const char c : text) out.push_back(static_cast<std::byte>(c));
        };
        auto size_line = [](std::size_t n) { return fmt_hex(n) + "\r\n"; };
        std::vector<std::byte> next(section.begin(), section.end());  // the next chunk's bytes
        next.reserve(chunk_limit + 256 * 1024);
        std::optional<std::byte> held;  // the current chunk's last byte, not yet sent
        std::vector<std::byte> boundary;
        bool ended = false;
        for (;;) {
            while (!ended && next.size() < chunk_limit) {
                auto chunk = co_await document.next();
                if (!chunk) co_return Result(ClientError{"reading the document failed: " + chunk.error().message(), true});
                if (chunk->empty()) ended = true;
                else next.insert(next.end(), chunk->begin(), chunk->end());
            }
            if (next.size() < 2 && held) break;  // ended; 0 or 1 byte left: it goes with the end
            const std::string line = size_line(next.size());
            boundary.clear();
            if (held) {
                if (auto ec = co_await wait_acknowledged())
                    co_return Result(ClientError{"sending the document failed: " + ec.message(), true});
                boundary.push_back(*held);
                append_text(boundary, "\r\n");
                append_text(boundary, line);
                boundary.push_back(next.front());
                const std::span<const std::byte> small(boundary), rest = std::span<const std::byte>(next).subspan(1, next.size() - 2);
                if (auto ec = co_await write(small))
                    co_return Result(ClientError{"sending the document failed: " + ec.message(), true});
                if (auto ec = co_await write(rest))
                    co_return Result(ClientError{"sending the document failed: " + ec.message(), true});
            } else {
                // The first chunk: nothing before it can end at a boundary.
                append_text(boundary, line);
                boundary.insert(boundary.end(), next.begin(), next.end() - 1);
                const std::span<const std::byte> first(boundary);
                if (auto ec = co_await write(first))
                    co_return Result(ClientError{"sending the request failed: " + ec.message(), true});
            }
            held = next.back();
            next.clear();
            if (ended) break;
        }
        if (end) {
            const bool confirmed = co_await end->confirmed();
            if (!confirmed) co_return Result(ClientError{"the end of the document was not confirmed", true});
        }
        // The end: the held byte, a last one-byte chunk if any, the terminating chunk.
        boundary.clear();
        boundary.push_back(*held);
        append_text(boundary, "\r\n");
        if (!next.empty()) {
            append_text(boundary, size_line(next.size()));
            boundary.insert(boundary.end(), next.begin(), next.end());
            append_text(boundary, "\r\n");
        }
        append_text(boundary, "0\r\n\r\n");
        const std::span<const std::byte> tail(boundary);
        if (auto ec = co_await write(tail))
            co_return Result(ClientError{"sending the document failed: " + ec.message(), true});
        co_return co_await read_response(s, response_started);
    }

    template <class Stream>
    asio::awaitable<boost::system::result<ipp::Message, ClientError>> read_response(Stream& s, bool& response_started) {
        using Result = boost::system::result<ipp::Message, ClientError>;
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxResponse);
        lowest().expires_after(kIoTimeout);
        auto [rec, n] = co_await http::async_read(s, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)n;
        response_started = parser.got_some();
        if (rec) {
            co_return Result(ClientError{
                "reading the response failed: " + (rec == beast::error::timeout ? std::string("timed out") : rec.message()),
                true});
        }
        auto& res = parser.get();
        if (!res.keep_alive()) reset();
        if (res.result() != http::status::ok) {
            co_return Result(ClientError{"the printer answered HTTP " + std::to_string(res.result_int()) + " " +
                                             std::string(res.reason()),
                                         true});
        }
        const std::string& body = res.body();
        std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(body.data()), body.size());
        ipp::FrameLimits limits;
        limits.max_section_bytes = kMaxResponse;
        limits.max_attributes = 100000;
        ipp::FrameParser frame(limits);
        auto fed = frame.feed(bytes);
        if (fed.status != ipp::FrameStatus::complete)
            co_return Result(ClientError{"the printer sent a malformed IPP response", true});
        auto decoded = ipp::decode(bytes.first(fed.consumed), limits);
        if (!decoded) co_return Result(ClientError{"the printer sent an undecodable IPP response", true});
        co_return Result(std::move(*decoded));
    }
};

IppClient::IppClient(asio::any_io_executor ex, asio::ssl::context& tls, std::string uri, bool verify_host)
    : impl_(std::make_unique<Impl>(std::move(ex), tls)), uri_(std::move(uri)) {
    impl_->target = parse_printer_uri(uri_);
    impl_->verify_host = verify_host;
}

IppClient::~IppClient() { impl_->reset(); }

void IppClient::close() { impl_->reset(); }

void IppClient::set_chunk_limit(std::size_t bytes) { impl_->chunk_limit = std::max<std::size_t>(bytes, 2); }

asio::awaitable<IppClient::CallResult> IppClient::call(const ipp::Message& request, net::BodySource* document,
                                                       std::optional<std::uint64_t> document_size, BodyEnd* end) {
    using Result = CallResult;
    if (!impl_->target || (impl_->target->scheme != "ipp" && impl_->target->scheme != "ipps"))
        co_return Result(ClientError{"not an ipp:// or ipps:// URI", false});
    auto section = ipp::encode(request);
    if (!section) co_return Result(ClientError{"cannot encode the IPP request", false});
    // A kept-alive connection the printer closed meanwhile fails on first use;
    // requests without a document are repeated once on a new connection.
    for (int attempt = 0; attempt < 2; ++attempt) {
        const bool reused = impl_->open;
        if (!impl_->open) {
            if (auto err = co_await impl_->connect()) co_return Result(std::move(*err));
        }
        bool started = false;
        Result r(ClientError{});
        // Separate statements: GCC 12 mishandles co_await inside a conditional expression.
        if (document && !document_size) {
            if (impl_->secure) r = co_await impl_->exchange_chunked(*impl_->secure, *section, *document, end, started);
            else r = co_await impl_->exchange_chunked(*impl_->plain, *section, *document, end, started);
        } else if (impl_->secure) {
            r = co_await impl_->exchange(*impl_->secure, *section, document, document_size, started);
        } else {
            r = co_await impl_->exchange(*impl_->plain, *section, document, document_size, started);
        }
        if (r) co_return r;
        impl_->reset();
        if (!reused || started || document) co_return r;
    }
    co_return Result(ClientError{"the printer closed the connection", true});
}

}  // namespace pg::output
