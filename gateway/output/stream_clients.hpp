// SPDX-License-Identifier: Apache-2.0
// The LPD (RFC 1179) and raw 9100 clients: send one job's documents to a printer
// or print server that speaks no IPP.
//
// Owns: one connection per job; the LPD control file (H, P, J, print, U and N
// lines, written by pg::lpd::write_control_file), job numbers 000-999 rotating,
// control file first (or data first with ?order=data,control), waiting for each
// acknowledgement; 9100: stream, half-close, wait for the printer's close, with an
// optional PJL job wrapper (?pjl=on) carrying the owner and title.
// Must not: touch job states or retry (the forwarder does).
//
// Deadlines: connect 15 s, each acknowledgement and each write 60 s, the 9100
// printer's close 60 s after the half-close.
#pragma once

#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include "gateway/net/http_session.hpp"
#include "gateway/output/ipp_client.hpp"

namespace pg::output {

// One document to send: its name (for LPD N lines) and exact size, and its bytes.
struct StreamDocument {
    std::string name;
    std::uint64_t size = 0;
    net::BodySource* body = nullptr;
};

struct StreamJob {
    std::string user;   // LPD P line / PJL USERNAME
    std::string title;  // LPD J line / PJL JOB NAME
    std::vector<StreamDocument> documents;
};

struct StreamReceipt {
    std::string remote_id;  // "lpd:NNN" or "socket"
    bool confirmed = false; // LPD: the server acknowledged every file; 9100: the printer closed in time
    std::string message;
};

using StreamResult = boost::system::result<StreamReceipt, ClientError>;

boost::asio::awaitable<StreamResult> send_lpd(boost::asio::any_io_executor ex, const PrinterUri& uri,
                                              const StreamJob& job);
boost::asio::awaitable<StreamResult> send_socket(boost::asio::any_io_executor ex, const PrinterUri& uri,
                                                 const StreamJob& job);

}  // namespace pg::output
