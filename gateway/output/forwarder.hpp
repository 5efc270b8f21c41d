// SPDX-License-Identifier: Apache-2.0
// The forwarding pipeline: one worker per destination sends its routed jobs, in
// order, from the spool to the printer, and follows each until the printer says
// it is done.
//
// Owns: the workers (coroutines on the I/O thread), their backoff, the
// destination status shown as printer-state-reasons, and the send/follow steps
// of docs/job-states.md (pending -> processing -> acknowledged -> completed |
// aborted | canceled), each through Spool::transition.
// Must not: write the index directly, or decide routes (intake, Release-Job and
// printgatectl do, then call wake()).
//
// Fencing: a job is retried from the start only while the destination has not
// acknowledged it (no remote job id recorded). Once acknowledged, a restart only
// follows it (Get-Job-Attributes); it is never sent twice. A send cut after bytes
// may have reached the destination (in doubt) is reconciled first: IPP Get-Jobs
// (reconcile), or for LPD server queues the queue listing (forwarder_lpd.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "gateway/output/ipp_client.hpp"
#include "gateway/output/stream_clients.hpp"
#include "gateway/spool/spool.hpp"
#include "protocols/ipp/client.hpp"
#include "protocols/lpd/lpq_answer.hpp"

namespace pg::app { class Gateway; }

namespace pg::output {

struct DestinationStatus {
    std::string route;
    std::string uri;
    std::vector<std::string> reasons;  // printer-state-reasons, {"none"} when fine
    std::string message;               // why, when not fine (no user data)
    std::uint64_t current_job = 0;     // being sent or followed; 0 = none
    bool busy() const { return current_job != 0; }
};

// The job-name an IPP send carries: the job's title, or, for an untitled job, one that
// names this gateway and the job ("untitled (printgate GATEWAY_ID job N)"), so that
// reconciliation can tell it from another sender's untitled job of the same owner. A
// title of blanks only counts as untitled.
std::string sent_job_name(const spool::JobRecord& job, std::string_view gateway_id);
// The job's ticket for `printer`: its sent_job_name, and copies, sides, colour and
// media as the job asked (JobMeta::attributes), narrowed by the printer's profile (may
// be null) and by what the printer says it supports.
ipp::client::JobTicket job_ticket(const spool::JobRecord& job, const conf::PrinterProfile* profile,
                                  const ipp::client::PrinterInfo& printer, std::string_view gateway_id);

class Forwarder {
public:
    explicit Forwarder(app::Gateway& gw);
    ~Forwarder();

    // Starts a worker for every route that has pending or processing jobs (after
    // spool recovery). I/O thread.
    void start();
    // A job was routed to `route`: run its worker now if it is idle. I/O thread.
    void wake(const std::string& route);
    // Wakes every worker (configuration reloaded). I/O thread.
    void wake_all();
    // Stops every worker; a send in flight is cut (its job stays unacknowledged and
    // is sent again at the next start). I/O thread.
    void stop();

    // Pause-Printer/Resume-Printer: jobs of a paused queue wait (pending) until it
    // is resumed; a send already started finishes. In memory: a restart resumes.
    void pause(const std::string& queue);
    void resume(const std::string& queue);
    bool paused(const std::string& queue) const { return paused_.count(queue) != 0; }

    // The destination status of `route` (reasons {"none"} when no worker has run).
    DestinationStatus status(const std::string& route) const;
    std::vector<DestinationStatus> statuses() const;
    // Jobs a server queue acknowledged since start (/metrics).
    std::uint64_t server_forwards() const { return server_forwards_; }

    // Cut-through (cut_through.hpp). claim_cut_through takes `route` for a job sent
    // while it arrives, when no job of the route waits or is being sent and no other
    // cut-through holds it; the route's worker then sends nothing until
    // end_cut_through, which wakes it. I/O thread.
    bool claim_cut_through(const std::string& route);
    void end_cut_through(const std::string& route);
    // PG_FAULT_INJECT=die_after_ack (tests only): die once a destination acknowledged a job.
    bool die_after_ack() const { return die_after_ack_; }
    // The TLS context of server queues over ipps.
    boost::asio::ssl::context& server_tls() { return tls_server_; }
    // After the commit of a job sent cut-through (processing, in doubt): the server
    // queue acknowledged it as `remote_id` (the job is done here, as a forward), or
    // the send failed (`why`): the job waits for the worker, in doubt, which
    // reconciles it before sending it again, and it counts as a failed forward.
    boost::asio::awaitable<void> cut_through_acknowledged(const spool::JobRecord& job, const std::string& route,
                                                          std::int32_t remote_id);
    boost::asio::awaitable<void> cut_through_failed(const spool::JobRecord& job, const std::string& route,
                                                    const std::string& why);


private:
    struct Worker;
    enum class Outcome { next, retry, stopped };
    struct Destination {
        std::string uri;
        bool verify = false;
        std::string problem;  // non-empty: the route names no usable printer
        bool server = false;  // a server queue's route (service::server_route)
    };

    boost::asio::awaitable<void> run(std::shared_ptr<Worker> w);
    boost::asio::awaitable<Outcome> deliver(Worker& w, spool::JobRecord job);
    // `profile` may be null (no printers entry); `convert_to` has one entry per
    // document ("" = as it is; release_plan.hpp).
    boost::asio::awaitable<Outcome> deliver_stream(Worker& w, spool::JobRecord job, PrinterUri target,
                                                   const conf::PrinterProfile* profile,
                                                   const std::vector<std::string>& convert_to);
    // A conversion failed (Ghostscript's exit, the deadline): the job is aborted with
    // `why`; converting again would fail again.
    boost::asio::awaitable<Outcome> conversion_failed(Worker& w, const spool::JobRecord& job, const std::string& why);
    boost::asio::awaitable<Outcome> follow(Worker& w, const spool::JobRecord& job, IppClient& client,
                                           const ipp::client::Caller& caller);
    // Server routes: whether the upstream lets this job go now. Offline, a job that
    // never reached the server is taken back to held (next); one in doubt waits (retry).
    boost::asio::awaitable<std::optional<Outcome>> server_gate(Worker& w, const spool::JobRecord& job);
    // A job in doubt (a send cut after bytes may have reached the destination): asks
    // the destination (IPP Get-Jobs, the owner's jobs) for a job with its owner, name
    // and size created since the attempt began. The job id found, 0 when none, or
    // nullopt when the destination could not tell (then the job waits).
    boost::asio::awaitable<std::optional<std::int32_t>> reconcile(Worker& w, const spool::JobRecord& job,
                                                                  IppClient& client, ipp::client::Caller& caller);
    // LPD server queues (forwarder_lpd.cpp; docs/job-states.md, "Reconciliation over
    // LPD"). What the server's queue listing said: reachable false = no connection
    // (the job waits); no listing = it answered, but nothing that proves a listing.
    struct QueueAnswer {
        bool reachable = false;
        std::optional<lpd::QueueListing> listing;
        std::string why;  // when there is no usable listing: no user data
    };
    boost::asio::awaitable<QueueAnswer> ask_lpd_queue(const PrinterUri& target, const std::string& user);
    // The destination cannot take the job now: logs it, counts a failed forward on
    // server routes, and puts the job back to pending, in doubt as given (retry).
    // A job released to a printer (its queue is not direct) that is not in doubt goes
    // back to held instead once the printer has failed for release.printer_wait, so
    // its owner can release it to another printer (next). `printer_reason` is the
    // printer-state-reasons keyword shown meanwhile.
    boost::asio::awaitable<Outcome> waits(Worker& w, const spool::JobRecord& job, const std::string& printer_reason,
                                          const std::string& why, bool in_doubt, const char* proto);
    boost::asio::awaitable<Outcome> stream_waits(Worker& w, const spool::JobRecord& job, const std::string& why,
                                                 bool in_doubt) {
        return waits(w, job, "offline-report", why, in_doubt, "lpd");
    }
    // A job in doubt: nullopt = the server does not have it, or cannot tell: send it
    // again; next = found there (completed here); retry = the server cannot be
    // reached (the job waits); stopped.
    boost::asio::awaitable<std::optional<Outcome>> reconcile_lpd(Worker& w, const spool::JobRecord& job,
                                                                 const PrinterUri& target, const LpdIdentity& id);
    // Before a send: the lookalikes to record with the attempt, or an outcome when
    // the server cannot be reached (the job waits) or the forwarder stops.
    struct BeforeSend {
        std::optional<Outcome> outcome;
        spool::Lookalikes lookalikes;
    };
    boost::asio::awaitable<BeforeSend> list_before_send(Worker& w, const spool::JobRecord& job,
                                                        const PrinterUri& target, const LpdIdentity& id);
    // Another job of ours that looks like `job` (owner, title, size) and went to the
    // same destination since `since_ms`, or is still on its way: its copy at the
    // server would look new too.
    bool sibling_since(const spool::JobRecord& job, const std::string& uri, std::int64_t since_ms) const;
    Destination resolve(const std::string& route) const;
    std::optional<spool::JobRecord> next_job(const std::string& route) const;
    boost::asio::awaitable<spool::Result<spool::JobRecord>> change(std::uint64_t id, spool::Transition t);
    Worker& worker(const std::string& route);
    // The transition of a job its server queue acknowledged as its last document.
    static spool::Transition handed_over(const std::string& remote_ids, std::string message);

    app::Gateway& gw_;
    boost::asio::ssl::context tls_verify_;
    boost::asio::ssl::context tls_trust_;
    boost::asio::ssl::context tls_server_;  // server queues over ipps: upstream.ca_file or the system store
    std::map<std::string, std::shared_ptr<Worker>> workers_;
    std::int32_t next_request_id_ = 1;
    std::set<std::string> paused_;
    bool stopping_ = false;
    std::uint64_t server_forwards_ = 0;
    std::set<std::string> cut_routes_;  // routes a cut-through holds
    bool die_after_ack_ = false;  // PG_FAULT_INJECT=die_after_ack (tests only): IPP, LPD and 9100
};

}  // namespace pg::output
