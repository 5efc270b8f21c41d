// SPDX-License-Identifier: Apache-2.0
// Spool: index, recovery, group commit, shredding. See spool.hpp's design note.
#include "gateway/spool/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <algorithm>
#include <set>
#include <string>

namespace pg::spool {
namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs(
  id          INTEGER PRIMARY KEY,
  state       INTEGER NOT NULL,
  created_ms  INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL,
  size        INTEGER NOT NULL,   -- plaintext document bytes
  sealed_size INTEGER NOT NULL,   -- bytes at rest
  storage     INTEGER NOT NULL,   -- 0: document sealed in `doc`; 1: jobs/<id>.job
  meta_gen    INTEGER NOT NULL,   -- metadata revision; each has its own derived key
  wrapped_key BLOB NOT NULL,      -- the job's data key, wrapped by the master KEK
  meta        BLOB NOT NULL,      -- sealed JSON metadata (owner, title, peer, queue, ...)
  doc         BLOB,               -- sealed document of small jobs
  delivery    TEXT NOT NULL DEFAULT '{}'  -- route and destination replies (JSON, no user data)
);
CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL);
)sql";
// Version 1 (issue #3) had no delivery column.
constexpr std::string_view kMigrate1to2 = "ALTER TABLE jobs ADD COLUMN delivery TEXT NOT NULL DEFAULT '{}'";

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::span<const std::byte> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

Result<crypto::Key> meta_key(const crypto::Key& data_key, std::int64_t gen) {
    return crypto::derive_key(data_key, "printgate job-meta v1 gen " + std::to_string(gen));
}

Result<std::vector<std::byte>> seal_meta(const crypto::Key& data_key, std::uint64_t id, std::int64_t gen,
                                         const JobMeta& meta) {
    auto k = meta_key(data_key, gen);
    if (!k) return k.error();
    return crypto::seal_all(*k, id, 0, as_bytes(encode_meta(meta)));
}

Result<JobMeta> open_meta(const crypto::Key& data_key, std::uint64_t id, std::int64_t gen,
                          std::span<const std::byte> sealed) {
    auto k = meta_key(data_key, gen);
    if (!k) return k.error();
    auto plain = crypto::open_all(*k, id, 0, sealed);
    if (!plain) return errc::corrupt;
    return decode_meta(std::string_view(reinterpret_cast<const char*>(plain->data()), plain->size()));
}

bool fsync_dir(const std::filesystem::path& p) {
    int fd = ::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

}  // namespace

Result<crypto::Key> load_or_create_master_key(const std::filesystem::path& path, std::string& error,
                                              bool& created, std::string& source) {
    created = false;
    std::filesystem::path p = path;
    if (const char* cred = std::getenv("CREDENTIALS_DIRECTORY")) {
        std::filesystem::path c = std::filesystem::path(cred) / "master.key";
        std::error_code ec;
        if (std::filesystem::exists(c, ec)) p = c;
    }
    source = p.string();
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT && p == path) {
        auto key = crypto::random_key();
        if (!key) {
            error = "cannot generate a master key: " + key.error().message();
            return key.error();
        }
        std::filesystem::path tmp = p;
        tmp += ".tmp";
        ::unlink(tmp.c_str());
        int w = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w < 0) {
            error = "cannot create master key " + tmp.string() + ": " + std::strerror(errno);
            return errc::io_error;
        }
        auto b = key->bytes();
        bool ok = ::write(w, b.data(), b.size()) == static_cast<ssize_t>(b.size()) && ::fsync(w) == 0;
        ::close(w);
        if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0 || !fsync_dir(p.parent_path())) {
            error = "cannot write master key " + p.string() + ": " + std::strerror(errno);
            ::unlink(tmp.c_str());
            return errc::io_error;
        }
        created = true;
        return *key;
    }
    if (fd < 0) {
        error = "cannot open master key " + p.string() + ": " + std::strerror(errno);
        return errc::io_error;
    }
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        error = "master key " + p.string() + " is not a regular file";
        return errc::io_error;
    }
    // systemd credentials are 0400/0440 owned by the service; our own file must be private.
    if (p == path && (st.st_mode & 077) != 0) {
        ::close(fd);
        error = "master key " + p.string() + " is accessible by group or others (mode " +
                fmt::format("{:04o}", st.st_mode & 07777) + "); chmod 600 it";
        return errc::io_error;
    }
    if (st.st_size != static_cast<off_t>(crypto::kKeySize)) {
        ::close(fd);
        error = "master key " + p.string() + " must be exactly 32 bytes, it has " + std::to_string(st.st_size);
        return errc::io_error;
    }
    crypto::Key key;
    auto mb = key.mutable_bytes();
    bool ok = ::read(fd, mb.data(), mb.size()) == static_cast<ssize_t>(mb.size());
    ::close(fd);
    if (!ok) {
        error = "cannot read master key " + p.string();
        return errc::io_error;
    }
    return key;
}

Spool::Spool(SpoolOptions options, log::Logger& log) : options_(std::move(options)), log_(log) {
    limits_ = options_.limits;
}

void Spool::join() {
    stop();
    if (committer_.joinable()) committer_.join();
}

Spool::~Spool() {
    join();
    if (jobs_dir_fd_ >= 0) ::close(jobs_dir_fd_);
}

std::unique_ptr<Spool> Spool::open(SpoolOptions options, log::Logger& log, RecoveryReport& report,
                                   std::string& error) {
    std::unique_ptr<Spool> s(new Spool(std::move(options), log));
    auto kek = crypto::derive_key(s->options_.master_key, "printgate job-key-wrap v1");
    if (!kek) {
        error = "key derivation failed";
        return nullptr;
    }
    s->kek_ = *kek;
    std::error_code ec;
    std::filesystem::create_directories(s->options_.dir / "jobs", ec);
    if (ec) {
        error = "cannot create " + (s->options_.dir / "jobs").string() + ": " + ec.message();
        return nullptr;
    }
    ::chmod(s->options_.dir.c_str(), 0700);
    ::chmod((s->options_.dir / "jobs").c_str(), 0700);
    s->jobs_dir_fd_ = ::open((s->options_.dir / "jobs").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->jobs_dir_fd_ < 0) {
        error = "cannot open jobs directory: " + std::string(std::strerror(errno));
        return nullptr;
    }
    if (auto err = s->db_.open((s->options_.dir / "index.db").string()); !err.empty()) {
        error = "cannot open the job index: " + err;
        return nullptr;
    }
    ::chmod((s->options_.dir / "index.db").c_str(), 0600);
    if (auto err = s->db_.exec(kSchema); !err.empty()) {
        error = "cannot create the job index schema: " + err;
        return nullptr;
    }
    {
        bool has_delivery = false;
        {
            Statement probe(s->db_.handle(), "SELECT delivery FROM jobs LIMIT 0");
            has_delivery = probe.ok();
        }
        if (!has_delivery) {
            if (auto err = s->db_.exec(kMigrate1to2); !err.empty()) {
                error = "cannot upgrade the job index schema: " + err;
                return nullptr;
            }
        }
        if (auto err = s->db_.exec("PRAGMA user_version = 2"); !err.empty()) {
            error = "cannot write the job index schema version: " + err;
            return nullptr;
        }
    }
    if (!s->recover(report, error)) return nullptr;
    s->committer_ = std::thread([p = s.get()] { p->committer_loop(); });
    return s;
}

bool Spool::recover(RecoveryReport& report, std::string& error) {
    std::lock_guard db_lock(db_mutex_);
    std::uint64_t max_id = 0;
    {
        Statement st(db_.handle(), "SELECT value FROM counters WHERE name='next_id'");
        if (st.step() == SQLITE_ROW) max_id = static_cast<std::uint64_t>(st.column_int(0)) - 1;
    }
    std::set<std::uint64_t> file_jobs;
    Statement st(db_.handle(),
                 "SELECT id, state, created_ms, updated_ms, size, sealed_size, storage, meta_gen, "
                 "wrapped_key, meta, delivery FROM jobs ORDER BY id");
    if (!st.ok()) {
        error = "cannot read the job index: " + db_.last_error();
        return false;
    }
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
        JobRecord r;
        r.id = static_cast<std::uint64_t>(st.column_int(0));
        auto state = state_from_int(static_cast<int>(st.column_int(1)));
        r.state = state.value_or(JobState::aborted);
        r.created_ms = st.column_int(2);
        r.updated_ms = st.column_int(3);
        r.size = static_cast<std::uint64_t>(st.column_int(4));
        r.sealed_size = static_cast<std::uint64_t>(st.column_int(5));
        r.inline_doc = st.column_int(6) == 0;
        std::int64_t gen = st.column_int(7);
        auto key = crypto::unwrap_key(kek_, r.id, st.column_blob(8));
        Result<JobMeta> meta = key ? open_meta(*key, r.id, gen, st.column_blob(9)) : Result<JobMeta>(errc::corrupt);
        if (!meta) {
            ++report.corrupt;
            log_.error({.event = "job_corrupt", .job_id = r.id},
                       "job key or metadata failed authentication; the job is kept but unreadable");
        } else {
            r.meta = std::move(*meta);
        }
        r.delivery = decode_delivery(st.column_text(10));
        if (!r.inline_doc) file_jobs.insert(r.id);
        max_id = std::max(max_id, r.id);
        committed_bytes_ += r.sealed_size;
        jobs_.emplace(r.id, std::move(r));
        ++report.jobs;
    }
    if (rc != SQLITE_DONE) {
        error = "cannot read the job index: " + db_.last_error();
        return false;
    }
    // Files without a committed row belong to jobs that died while receiving.
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(options_.dir / "jobs", ec)) {
        const auto name = e.path().filename().string();
        std::uint64_t id = 0;
        bool is_job = name.size() > 4 && name.ends_with(".job");
        if (is_job) {
            try {
                std::size_t pos = 0;
                id = std::stoull(name.substr(0, name.size() - 4), &pos);
                is_job = pos == name.size() - 4;
            } catch (...) {
                is_job = false;
            }
        }
        if (is_job) max_id = std::max(max_id, id);
        if (is_job && file_jobs.count(id)) {
            file_jobs.erase(id);
            continue;
        }
        std::filesystem::remove(e.path(), ec);
        ++report.orphans_removed;
        log_.info({.event = "job_discarded", .job_id = is_job ? std::optional<std::uint64_t>(id) : std::nullopt},
                  "removed a partial job left by an earlier run");
    }
    for (auto id : file_jobs) {
        ++report.corrupt;
        log_.error({.event = "job_corrupt", .job_id = id}, "job document file is missing");
    }
    if (report.orphans_removed) fsync_dir(options_.dir / "jobs");
    next_id_ = max_id + 1;
    return true;
}

void Spool::set_limits(const Limits& limits) {
    std::lock_guard lock(mutex_);
    limits_ = limits;
}

Limits Spool::limits() const {
    std::lock_guard lock(mutex_);
    return limits_;
}

std::uint64_t Spool::free_disk_bytes() const {
    struct statvfs vfs {};
    if (fstatvfs(jobs_dir_fd_, &vfs) != 0) return 0;
    return static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
}

Result<void> Spool::reserve(std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    if (committed_bytes_ + reserved_bytes_ + bytes > limits_.max_total_size) return errc::quota_exceeded;
    reserved_bytes_ += bytes;
    return {};
}

void Spool::release(std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    reserved_bytes_ -= std::min(bytes, reserved_bytes_);
}

std::filesystem::path Spool::job_path(std::uint64_t id) const {
    return options_.dir / "jobs" / (std::to_string(id) + ".job");
}

Result<std::unique_ptr<JobWriter>> Spool::begin_job(JobMeta meta) {
    if (stopping_) return errc::shutting_down;
    Limits lim = limits();
    if (free_disk_bytes() < lim.min_free_space) return errc::low_disk_space;
    {
        std::lock_guard lock(mutex_);
        if (committed_bytes_ + reserved_bytes_ >= lim.max_total_size) return errc::quota_exceeded;
    }
    auto key = crypto::random_key();
    if (!key) return errc::io_error;
    std::uint64_t id = next_id_.fetch_add(1);
    const bool digest = options_.digest_filter && options_.digest_filter(meta);
    auto writer = std::unique_ptr<JobWriter>(new JobWriter(*this, id, std::move(*key), std::move(meta)));
    if (digest) writer->digest_ = std::make_unique<crypto::Sha256>();
    return writer;
}

void Spool::commit(std::unique_ptr<JobWriter> writer, std::function<void(Result<JobRecord>)> done) {
    {
        std::lock_guard lock(queue_mutex_);
        if (!queue_stop_) {
            queue_.push_back({std::move(writer), std::move(done)});
            queue_cv_.notify_one();
            return;
        }
    }
    writer->discard();
    done(errc::shutting_down);
}

void Spool::stop() {
    stopping_ = true;
    std::lock_guard lock(queue_mutex_);
    queue_stop_ = true;
    queue_cv_.notify_all();
}

void Spool::committer_loop() {
    for (;;) {
        std::vector<PendingCommit> batch;
        {
            std::unique_lock lock(queue_mutex_);
            queue_cv_.wait(lock, [&] { return !queue_.empty() || queue_stop_; });
            if (queue_.empty()) return;
            // Everything queued while the previous batch was fsyncing goes together.
            while (!queue_.empty()) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
        }
        commit_batch(batch);
    }
}

void Spool::commit_batch(std::vector<PendingCommit>& batch) {
    auto fail_all = [&](errc e) {
        for (auto& p : batch) {
            p.writer->discard();
            p.done(e);
        }
    };
    // Only finished, healthy writers may commit; anything else is a caller bug.
    std::vector<PendingCommit> ready;
    for (auto& p : batch) {
        if (p.writer->finished_ && !p.writer->dead_) {
            ready.push_back(std::move(p));
        } else {
            p.writer->discard();
            p.done(errc::bad_state);
        }
    }
    batch.swap(ready);
    if (batch.empty()) return;
    bool any_file = false;
    for (auto& p : batch) any_file = any_file || p.writer->spilled_;
    // The files' data is durable (fdatasync in finish); make their names durable too.
    if (any_file && ::fsync(jobs_dir_fd_) != 0) {
        log_.error({.event = "spool_error"}, "fsync of the jobs directory failed: {}", std::strerror(errno));
        return fail_all(errno == ENOSPC ? errc::disk_full : errc::io_error);
    }
    std::vector<JobRecord> records;
    records.reserve(batch.size());
    std::int64_t now = now_ms();
    std::string err;
    {
        std::lock_guard db_lock(db_mutex_);
        if (err = db_.exec("BEGIN IMMEDIATE"); err.empty()) {
            Statement ins(db_.handle(),
                          "INSERT INTO jobs(id,state,created_ms,updated_ms,size,sealed_size,storage,meta_gen,"
                          "wrapped_key,meta,doc,delivery) VALUES(?,?,?,?,?,?,?,0,?,?,?,?)");
            std::uint64_t max_id = 0;
            for (auto& p : batch) {
                JobWriter& w = *p.writer;
                auto wrapped = crypto::wrap_key(kek_, w.id_, w.key_);
                auto meta = seal_meta(w.key_, w.id_, 0, w.meta_);
                if (!wrapped || !meta) {
                    err = "sealing job metadata failed";
                    break;
                }
                const Delivery& delivery = w.initial_;
                const JobState initial = delivery.route.empty() ? JobState::held
                                         : delivery.in_doubt    ? JobState::processing
                                                                : JobState::pending;
                const std::string delivery_json = encode_delivery(delivery);
                ins.bind(1, static_cast<std::int64_t>(w.id_))
                    .bind(2, static_cast<std::int64_t>(initial))
                    .bind(3, now)
                    .bind(4, now)
                    .bind(5, static_cast<std::int64_t>(w.size_))
                    .bind(6, static_cast<std::int64_t>(w.sealed_size_))
                    .bind(7, w.spilled_ ? 1 : 0)
                    .bind_blob(8, *wrapped)
                    .bind_blob(9, *meta);
                if (!w.spilled_) ins.bind_blob(10, w.inline_);
                ins.bind(11, std::string_view(delivery_json));
                if (ins.step() != SQLITE_DONE) {
                    err = db_.last_error();
                    break;
                }
                ins.reset();
                max_id = std::max(max_id, w.id_);
                JobRecord r;
                r.id = w.id_;
                r.state = initial;
                r.delivery = delivery;
                r.created_ms = now;
                r.updated_ms = now;
                r.size = w.size_;
                r.sealed_size = w.sealed_size_;
                r.inline_doc = !w.spilled_;
                r.meta = w.meta_;
                records.push_back(std::move(r));
            }
            if (err.empty()) {
                Statement ctr(db_.handle(),
                              "INSERT INTO counters(name,value) VALUES('next_id',?) "
                              "ON CONFLICT(name) DO UPDATE SET value=max(value, excluded.value)");
                ctr.bind(1, static_cast<std::int64_t>(max_id + 1));
                if (ctr.step() != SQLITE_DONE) err = db_.last_error();
            }
            if (err.empty()) err = db_.exec("COMMIT");
            if (!err.empty()) db_.exec("ROLLBACK");
        }
    }
    if (!err.empty()) {
        log_.error({.event = "spool_error"}, "committing {} job(s) to the index failed: {}", batch.size(), err);
        return fail_all(err.find("full") != std::string::npos ? errc::disk_full : errc::io_error);
    }
    {
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            JobWriter& w = *batch[i].writer;
            reserved_bytes_ -= std::min(w.reserved_, reserved_bytes_);
            w.reserved_ = 0;
            committed_bytes_ += w.sealed_size_;
            jobs_.emplace(records[i].id, records[i]);
        }
        commits_ += batch.size();
        ++batches_;
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
        batch[i].writer->committed_ = true;
        batch[i].writer.reset();
        batch[i].done(std::move(records[i]));
    }
}

std::vector<JobRecord> Spool::list() const {
    std::lock_guard lock(mutex_);
    std::vector<JobRecord> out;
    out.reserve(jobs_.size());
    for (const auto& [id, r] : jobs_) out.push_back(r);
    return out;
}

void Spool::for_each(const std::function<void(const JobRecord&)>& f) const {
    std::lock_guard lock(mutex_);
    for (const auto& [id, r] : jobs_) f(r);
}

std::optional<JobRecord> Spool::find(std::uint64_t id) const {
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    return it->second;
}

Result<std::unique_ptr<DocumentReader>> Spool::open_document(std::uint64_t id) {
    std::unique_ptr<DocumentReader> r(new DocumentReader);
    bool file = false;
    {
        std::lock_guard db_lock(db_mutex_);
        Statement st(db_.handle(), "SELECT storage, meta_gen, wrapped_key, meta, doc, size FROM jobs WHERE id=?");
        st.bind(1, static_cast<std::int64_t>(id));
        if (st.step() != SQLITE_ROW) return errc::not_found;
        file = st.column_int(0) == 1;
        auto key = crypto::unwrap_key(kek_, id, st.column_blob(2));
        if (!key) return errc::corrupt;
        if (!open_meta(*key, id, st.column_int(1), st.column_blob(3))) return errc::corrupt;
        r->key_ = *key;
        r->size_ = static_cast<std::uint64_t>(st.column_int(5));
        if (!file) {
            auto blob = st.column_blob(4);
            r->inline_.assign(blob.begin(), blob.end());
        }
    }
    r->job_id_ = id;
    std::uint64_t sealed_size = r->inline_.size();
    if (file) {
        r->fd_ = ::open(job_path(id).c_str(), O_RDONLY | O_CLOEXEC);
        if (r->fd_ < 0) return errno == ENOENT ? errc::corrupt : errc::io_error;
        struct stat st {};
        if (fstat(r->fd_, &st) != 0) return errc::io_error;
        sealed_size = static_cast<std::uint64_t>(st.st_size);
    }
    auto shape = crypto::shape_of_sealed(sealed_size);
    if (!shape) return errc::corrupt;
    r->segments_ = shape->segments;
    // The authenticated shape, not the index's size column, says how big the document is.
    r->size_ = shape->plaintext_size;
    return r;
}

Result<JobRecord> Spool::set_state(std::uint64_t id, JobState state) {
    std::lock_guard db_lock(db_mutex_);
    {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(id);
        if (it == jobs_.end()) return errc::not_found;
        auto s = it->second.state;
        if (s == JobState::completed || s == JobState::aborted || s == JobState::canceled) return errc::bad_state;
    }
    std::int64_t now = now_ms();
    Statement up(db_.handle(), "UPDATE jobs SET state=?, updated_ms=? WHERE id=?");
    up.bind(1, static_cast<std::int64_t>(state)).bind(2, now).bind(3, static_cast<std::int64_t>(id));
    if (up.step() != SQLITE_DONE) {
        log_.error({.event = "spool_error", .job_id = id}, "job state change failed: {}", db_.last_error());
        return errc::io_error;
    }
    std::lock_guard lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return errc::not_found;
    it->second.state = state;
    it->second.updated_ms = now;
    return it->second;
}

Result<JobRecord> Spool::transition(std::uint64_t id, const Transition& t) {
    std::lock_guard db_lock(db_mutex_);
    JobRecord next;
    {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(id);
        if (it == jobs_.end()) return errc::not_found;
        const JobState s = it->second.state;
        const bool allowed = t.from.empty() ? !is_final(s)
                                            : std::find(t.from.begin(), t.from.end(), s) != t.from.end();
        if (!allowed) return errc::bad_state;
        next = it->second;
    }
    const std::int64_t now = now_ms();
    Delivery& d = next.delivery;
    if (t.to != JobState::held && !t.held_by) d.held_by.clear();  // only a held job has a hold reason
    if (t.route) d.route = *t.route;
    if (t.count_attempt) {
        ++d.attempts;
        d.attempt_ms = now;
    }
    if (t.in_doubt) d.in_doubt = *t.in_doubt;
    if (t.held_by) d.held_by = *t.held_by;
    if (t.lookalikes) d.lookalikes = *t.lookalikes;
    if (t.remote_id) d.remote_id = *t.remote_id;
    if (t.reason) d.reason = *t.reason;
    if (t.message) d.message = *t.message;
    if (t.impressions) d.impressions = *t.impressions;
    if (is_final(t.to) && !is_final(next.state)) d.done_ms = now;
    next.state = t.to;
    next.updated_ms = now;
    const std::string json = encode_delivery(d);
    Statement up(db_.handle(), "UPDATE jobs SET state=?, updated_ms=?, delivery=? WHERE id=?");
    up.bind(1, static_cast<std::int64_t>(t.to)).bind(2, now).bind(3, std::string_view(json)).bind(4, static_cast<std::int64_t>(id));
    if (up.step() != SQLITE_DONE) {
        log_.error({.event = "spool_error", .job_id = id}, "job state change failed: {}", db_.last_error());
        return errc::io_error;
    }
    {
        std::lock_guard lock(mutex_);
        auto it = jobs_.find(id);
        if (it == jobs_.end()) return errc::not_found;
        it->second.state = next.state;
        it->second.updated_ms = next.updated_ms;
        it->second.delivery = next.delivery;
    }
    if (t.event != nullptr) {
        log_.info({.event = t.event, .job_id = id, .queue = next.meta.queue, .proto = next.meta.protocol},
                  "job {} -> {}{}{}{}", id, ipp_name(t.to), d.route.empty() ? "" : " via ",
                  log::escape(d.route), d.reason.empty() ? std::string() : " (" + d.reason + ")");
    }
    return next;
}

std::vector<std::uint64_t> Spool::finished_before(std::int64_t cutoff_ms) const {
    std::vector<std::uint64_t> out;
    std::lock_guard lock(mutex_);
    for (const auto& [id, r] : jobs_) {
        if (!is_final(r.state)) continue;
        const std::int64_t at = r.delivery.done_ms != 0 ? r.delivery.done_ms : r.updated_ms;
        if (at < cutoff_ms) out.push_back(id);
    }
    return out;
}

std::vector<std::uint64_t> Spool::held_before(std::int64_t cutoff_ms) const {
    std::vector<std::pair<std::int64_t, std::uint64_t>> found;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, r] : jobs_)
            if (r.state == JobState::held && r.updated_ms < cutoff_ms) found.emplace_back(r.updated_ms, id);
    }
    std::sort(found.begin(), found.end());
    std::vector<std::uint64_t> out;
    out.reserve(found.size());
    for (const auto& f : found) out.push_back(f.second);
    return out;
}

Result<void> Spool::remove(std::uint64_t id) {
    bool file = false;
    {
        std::lock_guard db_lock(db_mutex_);
        {
            // Scoped: an unfinished SELECT would keep a read open and block the checkpoint.
            Statement sel(db_.handle(), "SELECT storage FROM jobs WHERE id=?");
            sel.bind(1, static_cast<std::int64_t>(id));
            if (sel.step() != SQLITE_ROW) return errc::not_found;
            file = sel.column_int(0) == 1;
        }
        // Overwrite the wrapped key in place first, then delete the row; with
        // secure_delete the freed cells are zeroed too.
        std::string err = db_.exec("BEGIN IMMEDIATE");
        if (err.empty()) {
            Statement up(db_.handle(), "UPDATE jobs SET wrapped_key=zeroblob(length(wrapped_key)), "
                                       "meta=zeroblob(length(meta)), doc=NULL WHERE id=?");
            up.bind(1, static_cast<std::int64_t>(id));
            if (up.step() != SQLITE_DONE) err = db_.last_error();
        }
        if (err.empty()) {
            Statement del(db_.handle(), "DELETE FROM jobs WHERE id=?");
            del.bind(1, static_cast<std::int64_t>(id));
            if (del.step() != SQLITE_DONE) err = db_.last_error();
        }
        if (err.empty()) err = db_.exec("COMMIT");
        if (!err.empty()) {
            db_.exec("ROLLBACK");
            log_.error({.event = "spool_error", .job_id = id}, "shredding job failed: {}", err);
            return errc::io_error;
        }
        // Move the zeroed pages into the database file and empty the WAL, so no
        // old copy of the wrapped key stays in the log.
        int log_frames = 0, done_frames = 0;
        int rc = sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log_frames,
                                           &done_frames);
        if (rc != SQLITE_OK)
            log_.warn({.event = "spool_checkpoint", .job_id = id}, "WAL checkpoint after shredding failed: {} ({}/{})",
                      db_.last_error(), done_frames, log_frames);
    }
    if (file) {
        ::unlink(job_path(id).c_str());
        ::fsync(jobs_dir_fd_);
    }
    std::lock_guard lock(mutex_);
    if (auto it = jobs_.find(id); it != jobs_.end()) {
        committed_bytes_ -= std::min(it->second.sealed_size, committed_bytes_);
        jobs_.erase(it);
    }
    return {};
}

Spool::Usage Spool::usage() const {
    std::lock_guard lock(mutex_);
    return {jobs_.size(), committed_bytes_, reserved_bytes_, commits_, batches_};
}

}  // namespace pg::spool
