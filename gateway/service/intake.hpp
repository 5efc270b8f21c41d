// SPDX-License-Identifier: Apache-2.0
// Intake: the one place every protocol ends a received job: finish the writer,
// commit it (group commit), and log EVENT=job_committed or the refusal.
#pragma once

#include <functional>
#include <memory>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "conf/config.hpp"

#include "gateway/log/log.hpp"
#include "gateway/spool/spool.hpp"

namespace pg::app { class Gateway; }

namespace pg::service {

// Seals and syncs the document on the blocking pool, then commits. A job for a
// `mode: direct` queue is committed already routed to the queue's printer (unless
// its job-hold-until asks for a hold) and its forwarding worker is woken. On
// success the job is durable and visible. On failure the job is gone and the
// error logged.
boost::asio::awaitable<spool::Result<spool::JobRecord>> finish_and_commit(app::Gateway& gw,
                                                                         std::unique_ptr<spool::JobWriter> writer,
                                                                         const log::Fields& fields);
// The same; `before_commit` sees the finished writer after its route was decided,
// just before the commit (cut-through marks the job as being sent there).
boost::asio::awaitable<spool::Result<spool::JobRecord>> finish_and_commit(
    app::Gateway& gw, std::unique_ptr<spool::JobWriter> writer, const log::Fields& fields,
    std::function<void(spool::JobWriter&)> before_commit);

// The owner of a job whose protocol names none: the user peer_owners maps the
// peer's network to (most specific first), else the peer's address as text.
std::string owner_for_peer(const conf::Config& config, const boost::asio::ip::address& peer);
// Whether `peer` (v4-mapped v6 counts as v4) is inside the network `net`.
bool in_network(const conf::PeerOwner& net, const boost::asio::ip::address& peer);

}  // namespace pg::service
