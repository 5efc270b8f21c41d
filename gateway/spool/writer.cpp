// SPDX-License-Identifier: Apache-2.0
// JobWriter and DocumentReader: the streaming halves of the spool. Memory per job
// is bounded by one segment plus `inline_limit`, whatever the job size.
//
// Flushing while the job arrives. A big job is acknowledged only after the
// fdatasync in finish(), and the client (or the forwarder, for a server queue)
// waits for it. sync_file_range() already starts writeback every 8 MiB, but on this
// kind of appliance (a VM disk whose cache flush makes the host write what it
// holds) the final fdatasync still cost 0.10-0.15 s for 200 MiB, growing with the
// bytes written since the last flush, not with the bytes still dirty here
// (waiting for writeback in emit() did not shorten it). So every kFlushEvery bytes
// the writer hands an fdatasync of the file to its own helper thread and goes on
// writing; finish() waits for that one and flushes only the tail. At most one
// helper per writer, never blocking append(): when the previous flush is still
// running the next one is simply skipped. An error of an early flush fails the
// job in finish(): fdatasync reports a writeback error to each file descriptor
// once, so the final call might not see it again.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <thread>

#include "gateway/spool/spool.hpp"

namespace pg::spool {
namespace {

// Free-space checks cost a statvfs; do one per this many bytes written.
constexpr std::uint64_t kSpaceCheckEvery = 4ull << 20;
// Writeback of a spilled job's file is started every this many bytes.
constexpr std::uint64_t kWritebackEvery = 8ull << 20;
// An early fdatasync of a spilled job's file is started every this many bytes.
constexpr std::uint64_t kFlushEvery = 32ull << 20;

errc errno_to_errc(int e) {
    return (e == ENOSPC || e == EDQUOT) ? errc::disk_full : errc::io_error;
}

bool write_all(int fd, const std::byte* p, std::size_t n, int& err) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            err = errno;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

bool read_all(int fd, std::byte* p, std::size_t n, int& err) {
    while (n > 0) {
        ssize_t r = ::read(fd, p, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            err = errno;
            return false;
        }
        if (r == 0) {
            err = 0;
            return false;
        }
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

}  // namespace

JobWriter::JobWriter(Spool& spool, std::uint64_t id, crypto::Key key, JobMeta meta)
    : spool_(spool), id_(id), key_(std::move(key)), meta_(std::move(meta)) {
    pending_.reserve(crypto::kSegmentSize);
}

JobWriter::~JobWriter() {
    if (!committed_) discard();
}

Result<void> JobWriter::check_space(std::uint64_t more) {
    Limits lim = spool_.limits();
    if (size_ + more > lim.max_job_size) return errc::job_too_large;
    if (auto r = spool_.reserve(more); !r) return r;
    reserved_ += more;
    since_space_check_ += more;
    if (since_space_check_ >= kSpaceCheckEvery) {
        since_space_check_ = 0;
        if (spool_.free_disk_bytes() < lim.min_free_space) return errc::low_disk_space;
    }
    return {};
}

Result<void> JobWriter::emit(std::span<const std::byte> sealed) {
    sealed_size_ += sealed.size();
    if (fd_ < 0) {
        if (inline_.size() + sealed.size() <= spool_.options_.inline_limit) {
            inline_.insert(inline_.end(), sealed.begin(), sealed.end());
            return {};
        }
        // Spill to a file: the job is no longer small.
        auto path = spool_.job_path(id_);
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd_ < 0) return errno_to_errc(errno);
        spilled_ = true;
        int err = 0;
        if (!inline_.empty() && !write_all(fd_, inline_.data(), inline_.size(), err))
            return errno_to_errc(err);
        inline_.clear();
        inline_.shrink_to_fit();
    }
    int err = 0;
    if (!write_all(fd_, sealed.data(), sealed.size(), err)) return errno_to_errc(err);
    // Start writeback as data arrives, so the fdatasync at the end of a big job
    // has little left to do (the client waits for it).
    if (sealed_size_ - writeback_from_ >= kWritebackEvery) {
        ::sync_file_range(fd_, static_cast<off_t>(writeback_from_), static_cast<off_t>(sealed_size_ - writeback_from_),
                          SYNC_FILE_RANGE_WRITE);
        writeback_from_ = sealed_size_;
    }
    if (sealed_size_ - flushed_to_ >= kFlushEvery) start_flush();
    return {};
}

void JobWriter::start_flush() {
    if (flusher_.joinable()) {
        if (!flush_done_.load(std::memory_order_acquire)) return;  // still flushing: skip this one
        flusher_.join();
        if (flush_errno_.load(std::memory_order_relaxed) != 0) return;  // finish() reports it
    }
    flushed_to_ = sealed_size_;
    flush_done_.store(false, std::memory_order_relaxed);
    const int fd = fd_;
    try {
        flusher_ = std::thread([this, fd] {
            const int rc = ::fdatasync(fd);
            flush_errno_.store(rc == 0 ? 0 : errno, std::memory_order_relaxed);
            flush_done_.store(true, std::memory_order_release);
        });
    } catch (const std::system_error&) {
        // No thread: finish() flushes everything, as before.
    }
}

Result<void> JobWriter::join_flush() {
    if (flusher_.joinable()) flusher_.join();
    if (const int e = flush_errno_.exchange(0); e != 0) return errno_to_errc(e);
    return {};
}

Result<void> JobWriter::seal_pending(bool final) {
    if (auto r = crypto::seal_segment(key_, id_, 1, segment_index_, final, pending_, sealed_); !r)
        return errc::io_error;
    ++segment_index_;
    pending_.clear();
    return emit(sealed_);
}

Result<void> JobWriter::append(std::span<const std::byte> data) {
    if (dead_ || finished_) return errc::io_error;
    if (auto r = check_space(data.size()); !r) {
        dead_ = true;
        return r;
    }
    size_ += data.size();
    if (digest_) digest_->update(data);
    while (!data.empty()) {
        // A full pending segment is sealed as non-final only once more data
        // arrives; the last segment must carry the final flag.
        if (pending_.size() == crypto::kSegmentSize) {
            if (auto r = seal_pending(false); !r) {
                dead_ = true;
                return r;
            }
        }
        std::size_t take = std::min(data.size(), crypto::kSegmentSize - pending_.size());
        pending_.insert(pending_.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
        data = data.subspan(take);
    }
    return {};
}

Result<void> JobWriter::finish() {
    if (dead_ || finished_) return errc::io_error;
    if (auto r = seal_pending(true); !r) {
        dead_ = true;
        return r;
    }
    if (digest_) {
        meta_.digest = digest_->hex_final();
        digest_.reset();
    }
    if (fd_ >= 0) {
        if (auto early = join_flush(); !early) {
            dead_ = true;
            return early;
        }
        if (::fdatasync(fd_) != 0) {
            dead_ = true;
            return errno_to_errc(errno);
        }
        ::close(fd_);
        fd_ = -1;
    }
    finished_ = true;
    return {};
}

void JobWriter::discard() {
    (void)join_flush();  // the helper uses fd_: it must be done before the close
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (spilled_) {
        ::unlink(spool_.job_path(id_).c_str());
        spilled_ = false;
    }
    inline_.clear();
    pending_.clear();
    if (reserved_) {
        spool_.release(reserved_);
        reserved_ = 0;
    }
    dead_ = true;
}

DocumentReader::~DocumentReader() {
    if (fd_ >= 0) ::close(fd_);
}

Result<std::span<const std::byte>> DocumentReader::next() {
    if (index_ >= segments_) return std::span<const std::byte>{};
    bool final = index_ + 1 == segments_;
    std::span<const std::byte> sealed;
    if (fd_ < 0) {
        std::size_t off = index_ * crypto::kSealedSegmentSize;
        std::size_t len = std::min(crypto::kSealedSegmentSize, inline_.size() - off);
        sealed = std::span<const std::byte>(inline_).subspan(off, len);
    } else {
        std::size_t len = crypto::kSealedSegmentSize;
        if (final) {
            struct stat st {};
            if (fstat(fd_, &st) != 0) return errc::io_error;
            std::uint64_t off = index_ * crypto::kSealedSegmentSize;
            if (static_cast<std::uint64_t>(st.st_size) < off + crypto::kTagSize) return errc::corrupt;
            len = static_cast<std::size_t>(st.st_size - static_cast<off_t>(off));
            if (len > crypto::kSealedSegmentSize) return errc::corrupt;
        }
        sealed_.resize(len);
        int err = 0;
        if (!read_all(fd_, sealed_.data(), len, err)) return err ? errc::io_error : errc::corrupt;
        sealed = sealed_;
    }
    if (auto r = crypto::open_segment(key_, job_id_, 1, index_, final, sealed, plain_); !r)
        return errc::corrupt;
    ++index_;
    return std::span<const std::byte>(plain_);
}

}  // namespace pg::spool
