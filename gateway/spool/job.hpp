// SPDX-License-Identifier: Apache-2.0
// A spooled job as the rest of the gateway sees it: identity, state and the
// (decrypted, in-memory) metadata. docs/job-states.md is the state machine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace pg::spool {

template <class T>
using Result = boost::system::result<T>;

// Durable job states (docs/job-states.md). `receiving` never reaches the index:
// a job exists in the index only from its commit on.
enum class JobState : int {
    held = 1,        // committed, waiting for a release (IPP pending-held)
    pending = 2,     // routed, waiting for its worker (IPP pending)
    processing = 3,  // being sent (IPP processing)
    completed = 9,   // IPP completed
    aborted = 8,     // IPP aborted
    canceled = 7,    // IPP canceled
};

// IPP job-state keyword: "pending-held", "pending", "processing", ...
std::string_view ipp_name(JobState s);
// The job-state-reasons keyword every transition to held records (a job kept for release).
inline constexpr const char* kHeldReason = "job-hold-until-specified";
std::optional<JobState> state_from_int(int v);
// RFC 8011 §5.3.7 enum value (3 pending, 4 pending-held, 5 processing, 7 canceled, 8 aborted, 9 completed).
int ipp_enum(JobState s);

// One document of a multi-document job (IPP Send-Document with last-document
// false). The job's spooled document is its parts one after another.
struct DocumentPart {
    std::string format;  // MIME type (sniffed when the client said octet-stream)
    std::string name;    // IPP document-name, when given
    std::uint64_t size = 0;

    friend bool operator==(const DocumentPart&, const DocumentPart&) = default;
};

// Everything about a job that says anything about a user or a document. Stored
// only encrypted (sealed JSON, see spool.cpp); plain in memory.
struct JobMeta {
    std::string queue;
    std::string user;             // owner, sanitised at intake
    std::string name;             // title
    std::string peer;             // "ADDR:PORT" of the submitting client
    std::string protocol;         // ipp | lpd | raw
    std::string document_format;  // MIME type when known, else application/octet-stream
    std::string document_name;    // IPP document-name, when given
    std::string attributes;       // job template attributes as a JSON object (copies, sides, media, ...)
    // Multi-document jobs only (two or more parts; empty = one document).
    std::vector<DocumentPart> documents;
    // SHA-256 (hex) of the spooled document, when the spool was asked to compute it
    // (server queues: duplicate suppression after a failover); "" otherwise.
    std::string digest;

    friend bool operator==(const JobMeta&, const JobMeta&) = default;
};

std::string encode_meta(const JobMeta& m);
Result<JobMeta> decode_meta(std::string_view json);

// LPD server queues (docs/job-states.md, "Reconciliation over LPD"): the jobs the
// destination's queue listing (lpq, RFC 1179 §5.4) showed, just before the last
// send started, that already looked like this job (same owner, title and size). A
// job that looks like it afterwards and is not one of these is the new one.
struct Lookalikes {
    bool known = false;               // the listing was answered in full; false = cannot tell
    std::int64_t listed_ms = 0;       // when it was asked (Unix epoch milliseconds)
    std::vector<std::uint64_t> jobs;  // the destination's job numbers, at most kMaxLookalikes

    static constexpr std::size_t kMaxLookalikes = 100;
    friend bool operator==(const Lookalikes&, const Lookalikes&) = default;
};

// Where a routed job goes and what its destination said. Stored as a plain JSON
// column beside the sealed metadata: it names printers and IPP keywords, never a
// user or a document (docs/job-states.md).
struct Delivery {
    std::string route;            // Config::printers key (a name, or a URI); empty while held
    std::uint32_t attempts = 0;   // sends started
    std::string remote_id;        // the destination's job id once it acknowledged the job; "" = not acknowledged
    std::string reason;           // job-state-reasons keyword for the current state; "" = none
    std::string message;          // job-state-message; sanitised, no user data
    std::int64_t impressions = -1;  // job-impressions-completed reported by the destination; -1 = unknown
    std::int64_t done_ms = 0;     // when the job reached completed/aborted/canceled
    // Fencing (docs/job-states.md): a send started and may have put bytes at the
    // destination without an acknowledgement (cut mid-transfer, or the daemon died
    // mid-send). Such a job is never taken back to held: it is reconciled with the
    // destination and resent only when the destination does not have it.
    bool in_doubt = false;
    std::int64_t attempt_ms = 0;  // when the last send started (reconciliation looks for jobs after it)
    // Why a held job is held when the gateway decided it: "outage" (server queue while
    // the upstream was offline), "duplicate" (same owner and document right after a
    // failover); "" = held by the queue's mode or the client.
    std::string held_by;
    // LPD server queues: what lpq listed before the last send (see Lookalikes).
    Lookalikes lookalikes;
};

std::string encode_delivery(const Delivery& d);
// Lenient: a missing or unreadable column is an empty Delivery.
Delivery decode_delivery(std::string_view json);

inline bool is_final(JobState s) {
    return s == JobState::completed || s == JobState::aborted || s == JobState::canceled;
}

struct JobRecord {
    std::uint64_t id = 0;
    JobState state = JobState::held;
    std::int64_t created_ms = 0;  // Unix epoch milliseconds
    std::int64_t updated_ms = 0;
    std::uint64_t size = 0;        // plaintext document bytes
    std::uint64_t sealed_size = 0; // bytes at rest
    bool inline_doc = false;       // document sealed inside the index row, not a file
    JobMeta meta;
    Delivery delivery;
};

// Spool errors: one category, so intake can map each to its protocol reply.
enum class errc {
    ok = 0,
    job_too_large = 1,   // spool.max_job_size
    quota_exceeded,      // spool.max_total_size
    low_disk_space,      // spool.min_free_space
    disk_full,           // ENOSPC / EDQUOT while writing
    io_error,            // other file or SQLite failure
    not_found,
    corrupt,             // authentication failed: tampered, truncated or wrong key
    shutting_down,
    bad_state,           // the job's state does not allow the operation
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

// RFC 3339 UTC with milliseconds: 2026-11-25T08:00:00.123Z
std::string rfc3339(std::int64_t unix_ms);

}  // namespace pg::spool

template <>
struct boost::system::is_error_code_enum<pg::spool::errc> : std::true_type {};
