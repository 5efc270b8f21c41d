// SPDX-License-Identifier: Apache-2.0
// The encrypted, crash-safe job spool.
//
// Owns: STATE_DIR/spool/ (index.db in SQLite WAL, jobs/<id>.job sealed
// documents), the job-key wrapping key, the group-commit thread, quotas.
// Must not: talk to the network or decide protocol replies; it returns errors
// (pg::spool::errc) and the gateway maps them.
//
// Design note (see docs/job-states.md):
//  * A job is invisible until commit(). Before that it is a JobWriter: a random
//    data key, sealed segments in memory (small jobs) or in jobs/<id>.job (large
//    ones, spilled past `inline_limit`). Nothing of it is in the index.
//  * commit() hands the writer to one committer thread. The thread takes every
//    commit queued meanwhile, fsyncs jobs/ once if any of them has a file (each
//    file was fdatasync'ed by its writer), inserts all rows in one transaction
//    and COMMITs (WAL, synchronous=FULL: one fsync). Then each caller hears
//    "committed". So N concurrent small jobs cost one fsync, not 2N.
//  * At start, recovery deletes files without an index row (jobs that died while
//    receiving) and loads the index, decrypting each job's metadata in memory.
//  * remove() shreds: the row (wrapped key included) is overwritten and deleted
//    (secure_delete), then the file is unlinked, then the WAL is checkpointed
//    and truncated, so the wrapped key survives nowhere.
//
// Threads: begin_job/list/find/usage from any thread. JobWriter and
// DocumentReader methods block (crypto, file I/O): call them from the blocking
// pool, never from an I/O thread. commit() callbacks run on the committer thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "auth/crypto/crypto.hpp"
#include "gateway/log/log.hpp"
#include "gateway/spool/job.hpp"
#include "gateway/spool/sqlite.hpp"

namespace pg::spool {

struct Limits {
    std::uint64_t max_job_size = 2ull << 30;
    std::uint64_t max_total_size = 20ull << 30;
    std::uint64_t min_free_space = 256ull << 20;
};

struct SpoolOptions {
    std::filesystem::path dir;  // STATE_DIR/spool
    crypto::Key master_key;
    Limits limits;
    std::size_t inline_limit = 128 * 1024;  // sealed bytes kept in the index row
    // Which jobs get a SHA-256 of their document (JobMeta::digest); null = none.
    // Called by begin_job on the caller's thread; must be thread-safe.
    std::function<bool(const JobMeta&)> digest_filter;
};

struct RecoveryReport {
    std::size_t jobs = 0;            // committed jobs loaded
    std::size_t orphans_removed = 0; // partial jobs from a previous run, deleted
    std::size_t corrupt = 0;         // jobs whose key or metadata failed authentication
};

class Spool;

// One durable state change (docs/job-states.md): checked against the job's
// current state and written in one transaction, then logged as `event`.
struct Transition {
    // The states the job may be in; anything else is bad_state. Empty = any
    // non-final state.
    std::vector<JobState> from;
    JobState to = JobState::held;
    std::optional<std::string> route;        // set (or, with "", clear) the route
    bool count_attempt = false;              // a send starts
    std::optional<std::string> remote_id;    // the destination acknowledged the job
    std::optional<std::string> reason;       // job-state-reasons keyword ("" clears)
    std::optional<std::string> message;      // job-state-message ("" clears)
    std::optional<std::int64_t> impressions;
    std::optional<bool> in_doubt;            // see Delivery::in_doubt
    std::optional<std::string> held_by;      // see Delivery::held_by ("" clears)
    std::optional<Lookalikes> lookalikes;    // see Delivery::lookalikes (replaces it)
    const char* event = nullptr;             // journal EVENT; null = none
};

// One job being received. Destroying it without commit discards it.
class JobWriter {
public:
    ~JobWriter();
    JobWriter(const JobWriter&) = delete;
    JobWriter& operator=(const JobWriter&) = delete;

    std::uint64_t id() const { return id_; }
    std::uint64_t size() const { return size_; }
    // Commit the job already routed to `printer` (state pending) instead of held:
    // a direct queue's routing is part of the commit, one durable step.
    void route_to(std::string printer) { initial_.route = std::move(printer); }
    // Commit it already being sent to its route (state processing, in doubt, one
    // attempt counted from `attempt_ms`): cut-through forwarding (output/cut_through.hpp)
    // started the send while the job arrived. Call after route_to.
    void sending_at_commit(std::int64_t attempt_ms, std::string message) {
        initial_.in_doubt = true;
        initial_.attempts = 1;
        initial_.attempt_ms = attempt_ms;
        initial_.reason = "job-printing";
        initial_.message = std::move(message);
    }
    // Commit it held, saying why (job-state-reasons keyword, message, Delivery::held_by).
    void hold_with(std::string reason, std::string message, std::string held_by) {
        initial_.route.clear();
        initial_.reason = std::move(reason);
        initial_.message = std::move(message);
        initial_.held_by = std::move(held_by);
    }
    const Delivery& initial_delivery() const { return initial_; }
    const JobMeta& meta() const { return meta_; }
    JobMeta& meta() { return meta_; }

    // Encrypts and stores `data`. Errors: job_too_large, quota_exceeded,
    // low_disk_space (below spool.min_free_space), disk_full (ENOSPC/EDQUOT), io_error. After an error the
    // writer is dead: discard it.
    Result<void> append(std::span<const std::byte> data);
    // Seals the final segment and makes the file durable (fdatasync).
    Result<void> finish();
    // Drops everything written; idempotent.
    void discard();

private:
    friend class Spool;
    JobWriter(Spool& spool, std::uint64_t id, crypto::Key key, JobMeta meta);
    Result<void> emit(std::span<const std::byte> sealed);
    Result<void> seal_pending(bool final);
    Result<void> check_space(std::uint64_t more);

    Spool& spool_;
    std::uint64_t id_;
    crypto::Key key_;
    JobMeta meta_;
    std::vector<std::byte> pending_;   // plaintext of the segment not yet sealed
    std::vector<std::byte> sealed_;    // scratch
    std::vector<std::byte> inline_;    // sealed segments while the job is small
    std::uint64_t segment_index_ = 0;
    std::uint64_t size_ = 0;
    std::uint64_t sealed_size_ = 0;
    std::uint64_t reserved_ = 0;       // bytes counted against the quota
    std::uint64_t since_space_check_ = 0;
    std::uint64_t writeback_from_ = 0;  // file offset up to which writeback was started
    // Early flushes (writer.cpp, "Flushing while the job arrives"): at most one
    // fdatasync of fd_ in flight on flusher_; flush_done_ set when it returned,
    // flush_errno_ its errno (0: success). flushed_to_: sealed_size_ when it started.
    void start_flush();
    Result<void> join_flush();
    std::thread flusher_;
    std::atomic<bool> flush_done_{false};
    std::atomic<int> flush_errno_{0};
    std::uint64_t flushed_to_ = 0;
    int fd_ = -1;
    bool spilled_ = false;  // jobs/<id>.job exists
    bool finished_ = false;
    bool committed_ = false;
    bool dead_ = false;
    Delivery initial_;  // route non-empty: commit as pending, routed there
    std::unique_ptr<crypto::Sha256> digest_;  // set when the spool's digest filter asked for it
};

// Sequential reader of one job's document: decrypts and authenticates segment by
// segment. Each chunk is authenticated before it is returned.
class DocumentReader {
public:
    ~DocumentReader();
    std::uint64_t size() const { return size_; }
    // The next plaintext chunk; an empty span at the end. corrupt on any
    // authentication failure (nothing of that segment is returned).
    Result<std::span<const std::byte>> next();

private:
    friend class Spool;
    DocumentReader() = default;
    crypto::Key key_;
    std::uint64_t job_id_ = 0;
    std::uint64_t size_ = 0;
    std::uint64_t segments_ = 0;
    std::uint64_t index_ = 0;
    int fd_ = -1;
    std::vector<std::byte> inline_;  // sealed blob for inline jobs
    std::vector<std::byte> sealed_;
    std::vector<std::byte> plain_;
};

class Spool {
public:
    // Creates directories (0700), opens the index, runs recovery, starts the
    // committer. Errors carry a message for the operator.
    static std::unique_ptr<Spool> open(SpoolOptions options, log::Logger& log, RecoveryReport& report,
                                       std::string& error);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    void set_limits(const Limits& limits);
    Limits limits() const;

    // Starts a job. Refuses (quota_exceeded, low_disk_space, shutting_down)
    // before any byte is read when the spool is already full.
    Result<std::unique_ptr<JobWriter>> begin_job(JobMeta meta);

    // Group commit (see the design note). The writer must be finished.
    // `done` runs on the committer thread with the committed record or an error
    // (then the job is gone).
    void commit(std::unique_ptr<JobWriter> writer, std::function<void(Result<JobRecord>)> done);

    std::vector<JobRecord> list() const;
    // Calls `f` for each job in id order under the spool's lock, without copying
    // (counts for Get-Printer-Attributes and status). `f` must not call the spool.
    void for_each(const std::function<void(const JobRecord&)>& f) const;
    std::optional<JobRecord> find(std::uint64_t id) const;
    // Re-reads the row from the index and re-authenticates key and metadata, so
    // tampering at rest is caught even while the daemon runs. Blocking.
    Result<std::unique_ptr<DocumentReader>> open_document(std::uint64_t id);
    // Durably moves a job to `state` (one transaction, fsynced). bad_state when the
    // job is already done (completed, aborted, canceled). Blocking.
    Result<JobRecord> set_state(std::uint64_t id, JobState state);
    // The one place a job's state changes after commit (routing, sending, done,
    // hold/release, cancel). not_found, bad_state (the job is not in t.from), io_error.
    // Entering a final state stamps delivery.done_ms. Blocking.
    Result<JobRecord> transition(std::uint64_t id, const Transition& t);
    // Finished jobs (completed, aborted, canceled) whose done_ms (or updated_ms)
    // is before `cutoff_ms`: candidates for the job-history expiry.
    std::vector<std::uint64_t> finished_before(std::int64_t cutoff_ms) const;
    // Held jobs (pending-held) held since before `cutoff_ms`: candidates for
    // spool.held_job_ttl. "Held since" is the job's last state change (updated_ms):
    // its commit for a job committed held, the Hold-Job or failover that held it
    // otherwise. Oldest first.
    std::vector<std::uint64_t> held_before(std::int64_t cutoff_ms) const;
    // Crypto-shreds a job (see the design note). Blocking.
    Result<void> remove(std::uint64_t id);

    struct Usage {
        std::uint64_t jobs = 0;
        std::uint64_t committed_bytes = 0;  // sealed bytes of committed jobs
        std::uint64_t reserved_bytes = 0;   // bytes of jobs being received
        std::uint64_t commits = 0;          // jobs committed since start
        std::uint64_t commit_batches = 0;   // fsync'ed transactions since start
    };
    Usage usage() const;

    // Refuse new jobs from now on; wakes the committer to drain and stop.
    void stop();
    // stop(), then wait until every queued commit has completed (blocking).
    void join();

private:
    friend class JobWriter;
    struct PendingCommit {
        std::unique_ptr<JobWriter> writer;
        std::function<void(Result<JobRecord>)> done;
    };

    Spool(SpoolOptions options, log::Logger& log);
    bool recover(RecoveryReport& report, std::string& error);
    void committer_loop();
    void commit_batch(std::vector<PendingCommit>& batch);
    std::filesystem::path job_path(std::uint64_t id) const;
    Result<void> reserve(std::uint64_t bytes);
    void release(std::uint64_t bytes);
    std::uint64_t free_disk_bytes() const;

    SpoolOptions options_;
    log::Logger& log_;
    crypto::Key kek_;
    int jobs_dir_fd_ = -1;

    mutable std::mutex db_mutex_;  // guards db_
    Database db_;

    mutable std::mutex mutex_;     // guards jobs_, limits_, counters below
    std::map<std::uint64_t, JobRecord> jobs_;
    Limits limits_;
    std::uint64_t committed_bytes_ = 0;
    std::uint64_t reserved_bytes_ = 0;
    std::uint64_t commits_ = 0;
    std::uint64_t batches_ = 0;
    std::atomic<std::uint64_t> next_id_{1};
    std::atomic<bool> stopping_{false};

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_;
    std::deque<PendingCommit> queue_;
    bool queue_stop_ = false;
    std::thread committer_;
};

// Master key: 32 bytes from $CREDENTIALS_DIRECTORY/master.key when that exists,
// else from `path`, created (0600, random) on first start. Refuses a key file
// that is group/other accessible or not exactly 32 bytes.
Result<crypto::Key> load_or_create_master_key(const std::filesystem::path& path, std::string& error,
                                              bool& created, std::string& source);

}  // namespace pg::spool
