// SPDX-License-Identifier: Apache-2.0
// The LPD (RFC 1179) and raw 9100 clients: send one job's documents to a printer
// or print server that speaks no IPP.
//
// Owns: one connection per job; the LPD control file (H, P, J, print, U and N
// lines, written by pg::lpd::write_control_file), job numbers 000-999 rotating,
// control file first (or data first with ?order=data,control), waiting for each
// acknowledgement; 9100: stream, half-close, wait for the printer's close, with an
// optional PJL job wrapper (?pjl=on, 9100 and LPD) carrying the owner, title,
// copies, duplex and grey (pg::pjl::write_header).
// Must not: touch job states or retry (the forwarder does).
//
// Deadlines: connect 15 s, each acknowledgement and each write 60 s, the 9100
// printer's close 60 s after the half-close.
//
// Also the LPD queue query (RFC 1179 §5.4) the forwarder uses to reconcile a send
// to an LPD server queue that was cut (docs/job-states.md), and the identity (P, J,
// sizes) a job has at the server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include "gateway/net/http_session.hpp"
#include "gateway/output/ipp_client.hpp"
#include "protocols/pjl/writer.hpp"

namespace pg::output {

// One document to send: its name (for LPD N lines) and exact size, and its bytes.
// A converted document's size is unknown until it has been sent (exact false):
// 9100 streams it; LPD cannot (the data file's length goes first), so the
// forwarder never gives send_lpd one.
struct StreamDocument {
    std::string name;
    std::uint64_t size = 0;
    net::BodySource* body = nullptr;
    bool exact = true;
};

struct StreamJob {
    std::string user;   // LPD P line / PJL USERNAME
    std::string title;  // LPD J line / PJL JOB NAME
    std::vector<StreamDocument> documents;
    // PJL job settings (copies, duplex, grey), written when the URI says ?pjl=on:
    // 9100 wraps the whole job, LPD each data file (its size counts the wrapper).
    std::optional<std::int32_t> copies;
    std::optional<pjl::Duplex> duplex;
    bool grayscale = false;
    bool pjl = false;  // set from the URI by send_lpd/send_socket; lpd_identity reads it
};

// Whether `uri` asks for a PJL wrapper (?pjl=on).
bool wants_pjl(const PrinterUri& uri);

struct StreamReceipt {
    std::string remote_id;  // "lpd:NNN" or "socket"
    bool confirmed = false; // LPD: the server acknowledged every file; 9100: the printer closed in time
    std::string message;
};

using StreamResult = boost::system::result<StreamReceipt, ClientError>;

// What an LPD server is told about `job`, read back from the control file send_lpd
// writes (so sanitised and cut exactly as sent): the P line's user, the J line's
// title ("" when the job has none) and each document's size.
struct LpdIdentity {
    std::string user;
    std::string title;
    std::vector<std::uint64_t> sizes;
};
// Errors: the job has no document, or its control file cannot be written.
boost::system::result<LpdIdentity, ClientError> lpd_identity(const StreamJob& job);

// Bounds of one queue query (query_lpd).
struct LpdQueryLimits {
    std::size_t max_bytes = 256 * 1024;               // the whole answer (lpd::ListingLimits' default)
    std::chrono::milliseconds answer_timeout{10'000};  // from the question sent to the server's close
};

// Asks the LPD server at `uri` (its queue is the path) for `user`'s jobs in the
// long form (RFC 1179 §5.4, "\4queue user\n") and returns the answer's bytes, as
// sent until the server closed. Nothing is parsed here (lpd::parse_queue_listing).
// Deadlines: connect 15 s, then limits.answer_timeout for the whole answer. Errors:
// connected false when no connection could be made (the server cannot be reached);
// connected true when it did not answer in full: reset, timeout, or more than
// limits.max_bytes.
boost::asio::awaitable<boost::system::result<std::string, ClientError>> query_lpd(boost::asio::any_io_executor ex,
                                                                                  const PrinterUri& uri,
                                                                                  const std::string& user,
                                                                                  const LpdQueryLimits& limits);

boost::asio::awaitable<StreamResult> send_lpd(boost::asio::any_io_executor ex, const PrinterUri& uri,
                                              const StreamJob& job);
boost::asio::awaitable<StreamResult> send_socket(boost::asio::any_io_executor ex, const PrinterUri& uri,
                                                 const StreamJob& job);

}  // namespace pg::output
