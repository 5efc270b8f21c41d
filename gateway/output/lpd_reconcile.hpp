// SPDX-License-Identifier: Apache-2.0
// Reconciliation over LPD: whether an LPD server queue already has a job whose send
// was cut, judged from its queue listings (lpq, RFC 1179 §5.4) before and after.
//
// Owns: the matching rules (lookalikes_of, title_matches) and the verdict (judge).
// Pure: no I/O, no logging, no job states; the forwarder asks the server, records
// the listing before each send (spool::Lookalikes) and acts on the verdict.
//
// Design note (docs/job-states.md, "Reconciliation over LPD"). An LPD server gives
// a job no id the sender knows (cups-lpd renumbers it as a cupsd job), lists only
// jobs still queued, and shows the owner, the title (cut: cups-lpd shows 39 bytes)
// and the size (cups-lpd: cupsd's job-k-octets x 1024), never a time. So a job is
// recognised only by being NEW: a job that looks like ours (same owner, title and
// size) and was not among the lookalikes listed just before the send. A wrong
// match loses a print, a miss only repeats one, so every doubt means "send again":
// no listing before the send, an answer that proves no listing, an untitled job,
// and two or more new lookalikes. The forwarder adds one more: another job of ours
// that looks the same and went to the same queue since that listing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/output/stream_clients.hpp"
#include "gateway/spool/job.hpp"
#include "protocols/lpd/lpq_answer.hpp"

namespace pg::output {

// Whether a title the server lists is the title we sent: equal once trailing blanks
// are dropped (servers pad columns), or equal to the start of ours where the server
// cuts it: the first 39 bytes (cups-lpd's "%-39.39s") or 40 code points
// (printgate's own lpq). Never for an empty title.
bool title_matches(std::string_view listed, std::string_view sent);

// Whether two names could be listed alike by a server: equal in their first 39 bytes,
// trailing blanks dropped (the shortest cut title_matches allows; 40 code points are at
// least 40 bytes). A listed name that title_matches a title always passes this.
bool titles_may_look_alike(std::string_view a, std::string_view b);

// Whether another job of ours, which a server may list under any of `their_names` (its
// title, and its documents' names: BSD lpd lists the N line), could be taken for the
// job sent with `our_title`.
bool may_be_taken_for(const std::vector<std::string>& their_names, std::string_view our_title);

// The job numbers of `listing`'s jobs that look like `job`: owner equal, one file
// line (the job's title: cups-lpd, printgate; BSD lpd shows the N line, which is
// the title when the document has no name of its own), one copy, the title
// matching, and the size equal to the sum of the documents' sizes or to cupsd's
// rounding of it (1024 x the sum of each document's KiB, rounded up). Empty when
// the job is untitled.
std::vector<std::uint64_t> lookalikes_of(const lpd::QueueListing& listing, const LpdIdentity& job);

enum class Verdict {
    found,    // exactly one new lookalike: the server has the job (number)
    absent,   // no new lookalike in a complete listing: send it again
    unsure,   // cannot tell (why): send it again, never guess
};

struct Reconciliation {
    Verdict verdict = Verdict::unsure;
    std::uint64_t number = 0;  // found: the server's job number
    std::string why;           // for logs and job-state-message: no user data
};

// Judges a job in doubt from the lookalikes recorded before its last send and the
// listing now.
Reconciliation judge(const spool::Lookalikes& before, const lpd::QueueListing& now, const LpdIdentity& job);

// The lookalikes to record before a send, from the listing then: not known when the
// answer proves no listing or lists more lookalikes than a delivery record keeps.
spool::Lookalikes record_before(const lpd::QueueListing& listing, const LpdIdentity& job, std::int64_t now_ms);

}  // namespace pg::output
