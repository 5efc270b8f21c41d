// SPDX-License-Identifier: Apache-2.0
// A counting limit on concurrent argon2id computations.
//
// Owns: the number of hashes running at once in one CredentialCache, so memory stays
// below m KiB x limit whatever the number of pool threads calling in. Must not: spin,
// or hold its mutex while a hash runs. Thread-safe.
//
// Why not std::counting_semaphore: its maximum is a template argument and it offers no
// peak counter; a mutex and a condition variable give both for a few lines.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace pg::auth {

class HashLimiter {
public:
    // `limit` 0 is treated as 1.
    explicit HashLimiter(std::size_t limit) : limit_(limit == 0 ? 1 : limit) {}

    // Blocks until a slot is free; the slot is released when the Slot dies.
    class Slot {
    public:
        explicit Slot(HashLimiter& l) : l_(&l) { l_->acquire(); }
        ~Slot() { l_->release(); }
        Slot(const Slot&) = delete;
        Slot& operator=(const Slot&) = delete;

    private:
        HashLimiter* l_;
    };

    std::size_t limit() const { return limit_; }
    // Highest number of slots held at once since construction (tests, metrics).
    std::size_t peak() const {
        std::lock_guard lock(mutex_);
        return peak_;
    }

private:
    void acquire() {
        std::unique_lock lock(mutex_);
        cv_.wait(lock, [&] { return in_use_ < limit_; });
        ++in_use_;
        if (in_use_ > peak_) peak_ = in_use_;
    }
    void release() {
        {
            std::lock_guard lock(mutex_);
            --in_use_;
        }
        cv_.notify_one();
    }

    const std::size_t limit_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::size_t in_use_ = 0;
    std::size_t peak_ = 0;
};

}  // namespace pg::auth
