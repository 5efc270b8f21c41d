// SPDX-License-Identifier: Apache-2.0
// RFC 1179 §5.3/§5.4 queue state answers, in the lpq layout users and scripts know.
//
// Owns: QueueEntry, QueueStatus, format_queue_state, ordinal, selects.
// Must not: look jobs up, decide who may see what (the caller passes the title to
// show: another user's job name is hidden by the caller, as for IPP), do I/O.
//
// RFC 1179 leaves the text free ("the format of the listing is implementation
// defined"). Clients print it as received, so the layout follows what BSD lpd and
// cups-lpd answer, which people and scripts parse:
//
//   short (\3):  QUEUE is ready and printing
//                Rank    Owner      Job     File(s)                         Total Size
//                active  alice      17      report.pdf                      12345 bytes
//                1st     bob        18      (hidden)                        2048 bytes
//   long (\4):   QUEUE is ready and printing
//                <blank>
//                alice: active                            [job 17 host]
//                        2 copies of report.pdf                   12345 bytes
//   empty:       QUEUE is ready
//                no entries
//
// Owner and title columns are cut to their width (at a code point boundary),
// ranks and job numbers never (a wider line rather than a wrong number); columns
// are padded with spaces; widths count code points. Every text field goes through
// text::sanitize_name, so no job name can add a line. Lines end with LF.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "protocols/lpd/command.hpp"

namespace pg::lpd {

enum class QueueStatus : std::uint8_t {
    ready,     // accepting, idle
    printing,  // accepting, a job is active
    stopped,   // not accepting or paused: "is not ready"
};

struct QueueEntry {
    bool active = false;       // the job being processed: rank "active"
    std::string owner;         // user name
    std::uint32_t job_id = 0;
    std::string title;         // what to show under File(s); "" shows "untitled"
    std::uint64_t size = 0;    // bytes
    std::uint32_t copies = 1;  // long format: "N copies of title" when > 1
    std::string host;          // long format: originating host; "" leaves it out
};

// The answer to \3 (long_format false) or \4 (true), entries in queue order.
// Ranks: "active" for active entries; the others count 1st, 2nd, 3rd, 4th, ...
std::string format_queue_state(std::string_view queue, QueueStatus status, std::span<const QueueEntry> entries,
                               bool long_format);

// English ordinal: 1st 2nd 3rd 4th ... 11th 12th 13th ... 21st 22nd ... 111th.
std::string ordinal(std::uint64_t n);

// Whether a job is selected by the operands of \3, \4 or \5 (RFC 1179 §5.3-§5.5):
// no operands, or "all", selects every job; otherwise a job matches a job_number
// operand equal to its id or a user operand equal to its owner (byte for byte).
// Who may remove what (own jobs only, admins, BSD lprm's "no operand removes the
// agent's active job") is the gateway's policy on top of this.
bool selects(std::span<const Operand> operands, std::string_view owner, std::uint32_t job_id);

}  // namespace pg::lpd
