// SPDX-License-Identifier: Apache-2.0
// RFC 1179 §5.3/§5.4 queue state answers read back: what another LPD server's
// lpq lists, as values. The gateway's LPD client asks a server queue which jobs it
// holds before and after a send (docs/job-states.md, "Reconciliation over LPD").
//
// Owns: AnswerForm, ListedFile, ListedJob, QueueListing, ListingLimits and
// parse_queue_listing.
// Must not: do I/O, decide whether a listed job is "ours" (the gateway matches),
// or trust the answer to be complete (QueueListing::is_listing says what it proves).
//
// Design note. RFC 1179 §5.3 and §5.4 leave the answer's layout to the server
// ("implementation defined"), so this parser knows the layouts of the servers we
// meet, and refuses what it does not recognise rather than guessing:
//
//   cups-lpd, long (\4)     QUEUE is ready
//                           <blank>
//                           alice: 1st                               [job 12 localhost]
//                                   Quarterly report 2027                   10240 bytes
//     (8-space indent; the job name cut to 39 bytes and padded; the size is
//     cupsd's job-k-octets times 1024; "N copies of NAME" when copies > 1;
//     "untitled" for a job without a name)
//   BSD lpd, long (\4)      alice: 1st                              [job 012hostname]
//                           <TAB>report.ps                        1234 bytes
//     (one line per data file with its N name and its exact size, "??? bytes" when
//     the file is gone; the job number is the §6.2 three digits, glued to the host)
//   printgate's own (reply.hpp) is the cups-lpd layout with a 40-code-point title.
//   short (\3)              Rank    Owner   Job     File(s)              Total Size
//                           1st     alice   12      Quarterly report     10240 bytes
//     (one line per job; cups-lpd cuts the owner to 7 bytes, so a short answer
//     cannot tell owners apart: the gateway asks for the long form)
//
// Either form may begin with status lines (printer state, BSD's "Warning: ..."),
// and says "no entries" when the queue it lists is empty. Lines end with LF (a CR
// before it is dropped); the last line may lack its LF (cups-lpd's error answers).
// What a line cannot be: one with a NUL or another control character (other than
// TAB), over max_line bytes, or, once the first job was listed, anything but a
// job, a file of the job or a blank line.
//
// Text is kept as the server sent it (bytes, not sanitised), minus column padding:
// names lose their trailing blanks, so a name that ended in blanks reads back
// without them. Callers compare, they never show or log these names.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/lpd/lpd.hpp"

namespace pg::lpd {

enum class AnswerForm : std::uint8_t {
    short_form,  // the answer to \3
    long_form,   // the answer to \4
};

// One file line of a long-form job (or the File(s) column of a short-form one).
struct ListedFile {
    std::string name;                    // trailing blanks removed; "" when the column was blank
    std::uint32_t copies = 1;            // "N copies of NAME" (1..9999)
    std::optional<std::uint64_t> bytes;  // nullopt: "??? bytes" (BSD: the data file is gone)

    friend bool operator==(const ListedFile&, const ListedFile&) = default;
};

struct ListedJob {
    std::string owner;           // long: before ": "; short: the Owner column (cut by the server)
    std::string rank;            // "active", or an ordinal ("1st", "22nd")
    std::uint64_t number = 0;    // the server's job number
    std::string host;            // long: after the number in "[job ...]" ("localhost"); short: ""
    std::vector<ListedFile> files;  // at least one in a long-form job a server lists; may be empty

    bool active() const { return rank == "active"; }
    // The files' sizes added up; nullopt when one is unknown or the job has no file.
    std::optional<std::uint64_t> total_bytes() const;

    friend bool operator==(const ListedJob&, const ListedJob&) = default;
};

struct QueueListing {
    std::vector<std::string> status;  // lines before the jobs ("lp is ready"), in order
    std::vector<ListedJob> jobs;      // in the order listed
    bool says_no_entries = false;     // the server said "no entries"
    bool has_header = false;          // short form: the "Rank Owner Job ..." header was there

    // Whether the answer proves the server listed its queue: it said "no entries",
    // or it listed at least one job. An answer of status lines only (cups-lpd's
    // "Unable to get printer ...", "get-jobs failed: ...", or BSD lpd listing
    // nothing for the user while other users' jobs are queued) proves nothing.
    bool is_listing() const { return says_no_entries || !jobs.empty(); }

    friend bool operator==(const QueueListing&, const QueueListing&) = default;
};

struct ListingLimits {
    std::size_t max_bytes = 256 * 1024;  // the whole answer (about 1,600 cups-lpd jobs)
    std::size_t max_line = 1024;         // one line, without its LF
    std::size_t max_jobs = 1000;
    std::size_t max_files_per_job = 64;
    std::size_t max_status_lines = 16;
};

// Parses a complete answer (the server closes the connection after it). Errors
// (ParseError: offset of the offending line's first byte, `line` 1-based):
//   answer_too_large  more than limits.max_bytes (offset = the limit)
//   line_too_long     a line over limits.max_line
//   too_many_lines    more status lines than limits.max_status_lines
//   too_many_jobs     more jobs than limits.max_jobs, or files than max_files_per_job
//   bad_answer        a control character, a malformed job or file line, a file
//                     line before any job, "no entries" beside jobs, an unknown
//                     line after the first job, a short-form job without a header
ParseResult<QueueListing> parse_queue_listing(std::string_view answer, AnswerForm form,
                                              const ListingLimits& limits = {});

}  // namespace pg::lpd
