// SPDX-License-Identifier: Apache-2.0
// Cut-through forwarding: a raw 9100 job of a `mode: server` queue goes to the
// server queue while it arrives (docs/job-states.md, "Cut-through").
//
// Owns: the bounded buffer between the intake loop and the forward side (a tee: the
// intake appends each read to its JobWriter and feeds the same bytes here), the
// forward side (one IppClient: Get-Printer-Attributes, then Print-Job with a safely
// chunked body whose end waits for the commit), and abandoning it.
// Must not: write the index (the session commits, the Forwarder records the outcome),
// or answer the 9100 client.
//
// The order at the end of intake (raw_session.cpp): finish the writer, commit the job
// already being sent to the server queue (processing, in doubt:
// JobWriter::sending_at_commit), and only then let the body's end go (complete());
// the forwarder records the acknowledgement, and only then is the 9100 client
// answered. A crash before the commit leaves no job here and a cut body at the
// server, which aborts it (safe chunking, ipp_client.hpp); a crash after it leaves a
// job in doubt, reconciled at the next start like any interrupted forward.
//
// Anything that goes wrong before the commit (the server refuses or stalls, the
// buffer stays full longer than kStallLimit, the route at commit is no longer the
// server's) abandons the cut-through: the upstream connection is reset (the server
// aborts its job), it is logged once, and the job commits as an ordinary job that
// the forwarder sends later. The 9100 client never sees it.
//
// Threads: I/O thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/log/log.hpp"
#include "gateway/output/ipp_client.hpp"
#include "gateway/spool/spool.hpp"

namespace pg::app { class Gateway; }

namespace pg::output {

class CutThrough : public std::enable_shared_from_this<CutThrough> {
public:
    // Bytes buffered between the intake and the forward side (the safe chunking holds
    // up to one more chunk, IppClient's chunk limit).
    static constexpr std::size_t kBufferBytes = 8u << 20;
    // How long the intake waits for room in the buffer before abandoning.
    static constexpr std::chrono::milliseconds kStallLimit{2000};

    // A cut-through for the raw job `job_id` of `queue` from `peer`, when one may start
    // now: upstream.cut_through, a server queue reached over ipp:// or ipps://, the
    // upstream monitor online, and no job of the queue waiting or being forwarded (the
    // route is claimed: Forwarder::claim_cut_through). Null otherwise.
    static std::shared_ptr<CutThrough> begin(app::Gateway& gw, const std::string& queue, std::uint64_t job_id,
                                             const std::string& peer);
    CutThrough(app::Gateway& gw, std::string queue, std::string route, std::string uri, std::uint64_t job_id,
               std::string peer);
    CutThrough(const CutThrough&) = delete;
    CutThrough& operator=(const CutThrough&) = delete;

    bool active() const { return !abandoned_; }
    bool started() const { return started_; }

    // Copies `data` for the forward side. Waits while the buffer is full, at most
    // kStallLimit, then abandons. Never fails the intake.
    boost::asio::awaitable<void> feed(std::span<const std::byte> data);
    // The owner and title are known (the PJL header scanned): the send starts. Once.
    void start(const spool::JobMeta& meta);
    // Every byte of the document was fed.
    void input_ended();
    // Just before the commit of `writer` (finished, routed by Failover::route_at_commit):
    // when the cut-through lives and the job is routed to the server queue, marks it
    // to be committed being sent and returns true; abandons otherwise.
    bool prepare_commit(spool::JobWriter& writer);
    // After the commit of a prepared job: lets the body's end go, waits for the
    // server's answer and has the forwarder record it. Gives the route back.
    boost::asio::awaitable<void> complete(const spool::JobRecord& job);
    // Resets the upstream connection and gives the route back (unless a prepared
    // commit is under way: complete() then records the failure). Logs once. `fault`:
    // the server failed (a failed forward for the monitor), not the intake. Idempotent.
    void abandon(const std::string& why, bool fault);
    // Shutdown: cuts the upstream connection now, whatever the phase.
    void cut();
    // The intake session ends: unless complete() ran, the upstream connection is reset
    // and the route given back (a commit that failed, a session cut short). Idempotent.
    void close_session();

private:
    class Source;
    class End;
    boost::asio::awaitable<void> run(std::shared_ptr<CutThrough> self, spool::JobMeta meta);
    void failed(const std::string& why, bool fault);
    void give_back_route();
    void reset_upstream();  // closes the connection (a reset), wakes every waiter
    log::Fields fields(std::string_view event) const;

    app::Gateway& gw_;
    std::string queue_;
    std::string route_;
    std::string uri_;
    std::uint64_t job_id_;
    std::string peer_;
    std::int64_t started_ms_ = 0;    // when the send began (Delivery::attempt_ms)
    std::deque<std::vector<std::byte>> blocks_;
    std::size_t buffered_ = 0;       // bytes in blocks_
    bool lent_ = false;              // blocks_.front() is lent to the client
    std::uint64_t fed_ = 0;
    std::chrono::steady_clock::duration full_wait_{};  // the intake waited for room in the buffer
    bool started_ = false;
    bool input_ended_ = false;
    bool committing_ = false;        // prepare_commit said yes: complete() follows
    bool released_ = false;          // the commit happened: the end may go
    bool abandoned_ = false;
    bool done_ = false;              // the forward side ended
    bool route_claimed_ = true;
    std::optional<std::int32_t> remote_id_;  // the server's job id, once it acknowledged
    std::string error_;
    IppClient* client_ = nullptr;    // while the forward side runs
    boost::asio::steady_timer data_;   // the forward side waits: data, end, release
    boost::asio::steady_timer space_;  // the intake waits: room in the buffer
    boost::asio::steady_timer finished_;  // complete() waits: the forward side ended
};

}  // namespace pg::output
