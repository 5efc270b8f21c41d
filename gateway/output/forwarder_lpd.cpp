// SPDX-License-Identifier: Apache-2.0
// The forwarder's LPD server queue steps: the queue listing before each send, and
// the reconciliation of a send that was cut (docs/job-states.md, "Reconciliation
// over LPD"; the rules are pure, in lpd_reconcile.hpp).
//
// Must not: guess. A job is taken for delivered only on exactly one new lookalike
// in a listing that proves itself complete, with a listing recorded before the
// send; everything else sends it again, and a server that cannot be reached keeps
// the job waiting, in doubt.
#include <chrono>

#include <fmt/format.h>

#include "gateway/app/gateway.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/output/forwarder_worker.hpp"
#include "gateway/output/lpd_reconcile.hpp"
#include "gateway/upstream/monitor.hpp"

namespace pg::output {

namespace asio = boost::asio;
using spool::JobState;

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

asio::awaitable<Forwarder::QueueAnswer> Forwarder::ask_lpd_queue(const PrinterUri& target, const std::string& user) {
    QueueAnswer a;
    const lpd::ListingLimits limits;
    // A named executor: GCC 12 destroys a prvalue argument of an awaited coroutine twice.
    asio::any_io_executor ex = gw_.io().get_executor();
    LpdQueryLimits bounds;
    bounds.max_bytes = limits.max_bytes;
    auto raw = co_await query_lpd(ex, target, user, bounds);
    if (!raw) {
        a.reachable = raw.error().connected;
        a.why = raw.error().message;
        co_return a;
    }
    a.reachable = true;
    auto parsed = lpd::parse_queue_listing(*raw, lpd::AnswerForm::long_form, limits);
    if (!parsed) {
        a.why = fmt::format("the server's queue listing is unreadable ({}, line {})", parsed.error().message,
                            parsed.error().line);
        co_return a;
    }
    if (!parsed->is_listing()) a.why = "the server's answer does not list its queue";
    a.listing = std::move(*parsed);
    co_return a;
}

bool Forwarder::sibling_since(const spool::JobRecord& job, const std::string& uri, std::int64_t since_ms) const {
    bool found = false;
    const std::string& gateway_id = gw_.config_ptr()->upstream.gateway_id;
    const std::string sent = sent_job_name(job, gateway_id);
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (found || j.id == job.id || j.delivery.route.empty() || j.delivery.attempt_ms == 0) return;
        if (j.meta.user != job.meta.user) return;
        // Sizes are not compared: a server lists them rounded (cupsd: whole KiB) and with
        // a PJL wrapper whose length follows the title, so unequal sizes may list alike.
        std::vector<std::string> names{sent_job_name(j, gateway_id)};
        if (!j.meta.document_name.empty()) names.push_back(j.meta.document_name);
        for (const auto& d : j.meta.documents)
            if (!d.name.empty()) names.push_back(d.name);
        if (!may_be_taken_for(names, sent)) return;
        // Finished before the listing: its copy, if any, was listed then.
        if (j.delivery.done_ms != 0 && j.delivery.done_ms < since_ms) return;
        if (resolve(j.delivery.route).uri == uri) found = true;
    });
    return found;
}

asio::awaitable<std::optional<Forwarder::Outcome>> Forwarder::reconcile_lpd(Worker& w, const spool::JobRecord& job,
                                                                            const PrinterUri& target,
                                                                            const LpdIdentity& id) {
    const std::uint64_t job_id = job.id;
    const std::string& queue = job.meta.queue;
    auto asked = co_await ask_lpd_queue(target, id.user);
    if (stopping_) co_return Outcome::stopped;
    if (!asked.reachable) {
        // As IPP: a server that cannot be asked keeps the job waiting, in doubt.
        const std::string why = "cannot ask the LPD server about an interrupted send: " + asked.why;
        co_return co_await stream_waits(w, job, why, true);
    }
    Reconciliation r;
    if (!asked.listing) r = {Verdict::unsure, 0, asked.why};
    else r = judge(job.delivery.lookalikes, *asked.listing, id);
    const std::string uri = resolve(w.route).uri;
    if (r.verdict == Verdict::found && sibling_since(job, uri, job.delivery.lookalikes.listed_ms))
        r = {Verdict::unsure, 0, "another job of ours like it went to the same queue since; not guessing"};

    if (r.verdict != Verdict::found) {
        if (r.verdict == Verdict::absent)
            gw_.log().info({.event = "job_reconciled", .job_id = job_id, .queue = queue, .proto = "lpd"},
                           "job {} is not at {} after an interrupted send ({}): sending it again", job_id,
                           log::escape(w.route), r.why);
        else
            gw_.log().warn({.event = "job_reconciled", .job_id = job_id, .queue = queue, .proto = "lpd"},
                           "job {}: cannot tell whether {} has it after an interrupted send ({}): sending it again",
                           job_id, log::escape(w.route), log::escape(r.why));
        co_return std::nullopt;
    }
    spool::Transition t;
    t.from = {JobState::pending, JobState::processing};
    t.to = JobState::completed;
    t.remote_id = fmt::format("lpq:{}", r.number);
    t.in_doubt = false;
    t.reason = "job-completed-successfully";
    t.message = fmt::format("found at {} as job {} after an interrupted send; not sent again", w.route, r.number);
    t.event = "job_done";
    gw_.log().info({.event = "job_reconciled", .job_id = job_id, .queue = queue, .proto = "lpd"},
                   "job {} found at {} as job {}: not sent again", job_id, log::escape(w.route), r.number);
    auto done = co_await change(job_id, std::move(t));
    if (done) ++server_forwards_;
    w.status.reasons = {"none"};
    w.status.message.clear();
    co_return Outcome::next;
}

asio::awaitable<Forwarder::BeforeSend> Forwarder::list_before_send(Worker& w, const spool::JobRecord& job,
                                                                   const PrinterUri& target, const LpdIdentity& id) {
    BeforeSend out;
    const std::uint64_t job_id = job.id;
    const std::string& queue = job.meta.queue;
    const std::int64_t asked_ms = wall_ms();
    auto asked = co_await ask_lpd_queue(target, id.user);
    if (stopping_) {
        out.outcome = Outcome::stopped;
        co_return out;
    }
    if (!asked.reachable) {
        // Nothing of the job left: it waits as after a refused send.
        const std::string why = asked.why;
        out.outcome = co_await stream_waits(w, job, why, job.delivery.in_doubt);
        co_return out;
    }
    if (asked.listing) out.lookalikes = record_before(*asked.listing, id, asked_ms);
    if (!out.lookalikes.known && !id.title.empty())
        gw_.log().info({.event = "lpd_listing", .job_id = job_id, .queue = queue, .proto = "lpd"},
                       "job {}: {} did not list its queue before the send ({}); if this send is cut, the job is "
                       "sent again",
                       job_id, log::escape(w.route),
                       log::escape(asked.why.empty() ? std::string("too many lookalikes") : asked.why));
    co_return out;
}

}  // namespace pg::output
