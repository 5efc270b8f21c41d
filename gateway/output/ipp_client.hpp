// SPDX-License-Identifier: Apache-2.0
// An IPP/IPPS client connection to one printer URI.
//
// Owns: one HTTP/1.1 connection (plain or TLS) to a printer, kept alive across
// requests and reopened once when the printer closed it; sending an encoded IPP
// request with or without a streamed document (one Content-Length body when the
// document's size is known, chunked encoding when it is not); reading and
// decoding the IPP response (bounded). Must not: retry, back off or touch job
// states (forwarder.cpp decides), or log.
//
// A cut send must end as an abort at the receiver, never as a shorter job it
// completes (docs/job-states.md, "The delivery record and fencing"). ippeveprinter
// (CUPS 2.4.2) completes a job with what it read when the body ends with a FIN, or
// with a reset between two chunks; it aborts it when the connection is reset
// inside the body. So the socket lingers 0 s (every close, and the process dying, sends
// RST, never FIN), and a document of known size goes in one Content-Length body,
// where any cut falls inside it. Its last byte leaves only once the document has
// ended at the announced size: a source that is longer or shorter fails the call
// and the reset cuts the body.
//
// A document of unknown size (converted on its way, or still arriving: cut-through)
// goes chunked, framed so that no cut can end the body between two chunks, where
// ippeveprinter completes the job with what it has ("safe chunking", ipp_client.cpp):
// big chunks, each announced only once its bytes are in hand; the last byte of a chunk
// is held back and leaves with the CRLF, the next chunk's header and that chunk's
// first byte, in one small write issued once the peer has acknowledged every byte
// before it (SIOCOUTQ 0), so it travels as one segment (one TLS record over ipps).
// The held-back last byte and the terminator leave only once the document has ended
// and, when a BodyEnd is given, it confirmed the end.
//
// Runs on the gateway's I/O thread. Deadlines: connect and TLS handshake 15 s,
// each write and the response 60 s.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "gateway/net/http_session.hpp"
#include "protocols/ipp/message.hpp"

namespace pg::output {

// A destination URI split for connecting: ipp:// and ipps:// (port 631 when
// absent), lpd://HOST[:515]/QUEUE[?options], socket://HOST[:9100][?options].
struct PrinterUri {
    std::string scheme;   // ipp | ipps | lpd | socket
    std::string query;    // after '?', for lpd and socket options; "" when none
    bool tls = false;     // ipps
    std::string host;     // without brackets
    std::string port;     // "631" when absent
    std::string path;     // "/" when absent
    std::string authority;  // HOST[:PORT] as written, for the Host header
};
std::optional<PrinterUri> parse_printer_uri(std::string_view uri);

// The end of a chunked body, confirmed by its producer: awaited once the document
// source has returned its end, before the body's last data byte and the terminating
// chunk leave. false cuts the body (the call fails, the connection is reset inside
// a chunk, so the receiver aborts the job). Cut-through uses it to send the end of a
// job only after the job was committed here.
class BodyEnd {
public:
    virtual ~BodyEnd() = default;
    virtual boost::asio::awaitable<bool> confirmed() = 0;
};

// What went wrong in an exchange. `connected` false: no byte of the request can
// have reached the printer (nothing to fence).
struct ClientError {
    std::string message;   // for job-state-message and logs: no user data
    bool connected = false;
};

class IppClient {
public:
    // `tls` is the client context (ipps only; verification as it is configured).
    IppClient(boost::asio::any_io_executor ex, boost::asio::ssl::context& tls, std::string uri, bool verify_host);
    ~IppClient();
    IppClient(const IppClient&) = delete;
    IppClient& operator=(const IppClient&) = delete;

    const std::string& uri() const { return uri_; }

    using CallResult = boost::system::result<ipp::Message, ClientError>;

    // Sends `request` without a document and returns the decoded response.
    boost::asio::awaitable<CallResult> call(const ipp::Message& request) { return call(request, nullptr, std::nullopt); }
    // Sends `request` and `document` (when not null), streamed as the body after the
    // attribute section, and returns the decoded response. `document_size`: the exact
    // number of bytes `document` yields, when known (Content-Length); nullopt sends it
    // chunked (safe chunking, see above). A document that yields more or fewer bytes
    // fails the call (connected, the connection reset before the body was complete).
    boost::asio::awaitable<CallResult> call(const ipp::Message& request, net::BodySource* document,
                                            std::optional<std::uint64_t> document_size) {
        return call(request, document, document_size, nullptr);
    }
    // The same; a chunked body (no `document_size`) ends only once `end` (when not
    // null) confirmed it.
    boost::asio::awaitable<CallResult> call(const ipp::Message& request, net::BodySource* document,
                                            std::optional<std::uint64_t> document_size, BodyEnd* end);
    // Largest chunk of a chunked body (default 4 MiB; at least 2 bytes): bytes of a
    // chunk are held in memory until it is announced. For tests and tuning.
    void set_chunk_limit(std::size_t bytes);
    // Closes the connection; a call in flight fails. Any thread of the executor.
    void close();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string uri_;
};

}  // namespace pg::output

// Needed by boost::system::result<T, ClientError>::value().
namespace pg::output {
[[noreturn]] void throw_exception_from_error(const ClientError& e, const boost::source_location& loc);
}
