// SPDX-License-Identifier: Apache-2.0
// LPD (RFC 1179) intake: receive-job, queue state, remove jobs.
//
// Owns: one LPD connection: reading the daemon command and receive-job
// subcommands (pg::lpd parsers, bounded lines and files), streaming data files
// into the spool, the acknowledgements. Must not: parse control files or format
// queue answers itself (protocols/lpd does), or write the index (pg::spool does).
//
// A job is committed when it is complete (its control file and every data file
// the control file prints have arrived), before the acknowledgement of the last
// file is sent: the final \0 means "accepted". An abort subcommand, a dropped or
// stalled connection, or an incomplete job at the end leaves nothing. Several data
// files become the parts of one multi-document job; several jobs may follow one
// another on one receive-job command.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace pg::app { class Gateway; }

namespace pg::net {

boost::asio::awaitable<void> lpd_accept_loop(app::Gateway& gw, boost::asio::ip::tcp::acceptor& acceptor);

}  // namespace pg::net
