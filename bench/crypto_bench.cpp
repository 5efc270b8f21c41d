// g++ -std=c++20 -O2 -DNDEBUG -I. bench/crypto_bench.cpp auth/crypto/crypto.cpp -lcrypto -o /tmp/crypto_bench && /tmp/crypto_bench
// SPDX-License-Identifier: Apache-2.0
// Throughput of pg::crypto::seal_segment (and open_segment) over 1 GiB of 64 KiB
// segments, one thread, one reused output buffer, as the spool writer uses them.
// Compare with: openssl speed -evp aes-256-gcm -bytes 65536 -seconds 3
// `openssl speed` divides by CPU user time unless given -elapsed, so this program
// prints both wall-clock and thread-CPU-time rates; on a busy machine compare the
// CPU figure with plain `openssl speed` and the wall figure with `-elapsed`.
//
// Owns: nothing but its own buffers. Not built by CMake; run it by hand.
#include "auth/crypto/crypto.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

namespace crypto = pg::crypto;

namespace {

constexpr std::size_t kTotal = std::size_t{1} << 30;
constexpr std::size_t kSegments = kTotal / crypto::kSegmentSize;

struct Stamp {
    std::chrono::steady_clock::time_point wall;
    double cpu;  // seconds of CPU time used by this thread
};

Stamp now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return {std::chrono::steady_clock::now(), static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9};
}

void report(const char* what, const Stamp& a, const Stamp& b) {
    const double wall = std::chrono::duration<double>(b.wall - a.wall).count();
    const double cpu = b.cpu - a.cpu;
    const double mb = static_cast<double>(kTotal) / 1e6;
    std::printf("%s: %zu x 64 KiB = 1 GiB: wall %.3f s = %.0f MB/s, cpu %.3f s = %.0f MB/s\n",
                what, kSegments, wall, mb / wall, cpu, mb / cpu);
}

}  // namespace

int main() {
    auto key = crypto::random_key();
    if (!key) {
        std::fprintf(stderr, "random_key: %s\n", key.error().message().c_str());
        return 1;
    }
    std::vector<std::byte> pt(crypto::kSegmentSize);
    if (!crypto::random_bytes(pt)) {
        return 1;
    }
    std::vector<std::byte> sealed;
    std::vector<std::byte> opened;

    // Warm-up: first-use context setup, page faults in the output buffer.
    for (std::size_t i = 0; i < 64; ++i) {
        if (!crypto::seal_segment(*key, 1, 0, i, false, pt, sealed)) {
            return 1;
        }
    }

    const Stamp t0 = now();
    for (std::size_t i = 0; i < kSegments; ++i) {
        if (!crypto::seal_segment(*key, 1, 0, i, i + 1 == kSegments, pt, sealed)) {
            std::fprintf(stderr, "seal_segment failed at %zu\n", i);
            return 1;
        }
    }
    const Stamp t1 = now();

    // Open the last sealed segment repeatedly: same work as opening distinct ones.
    for (std::size_t i = 0; i < kSegments; ++i) {
        if (!crypto::open_segment(*key, 1, 0, kSegments - 1, true, sealed, opened)) {
            std::fprintf(stderr, "open_segment failed at %zu\n", i);
            return 1;
        }
    }
    const Stamp t2 = now();

    report("seal_segment", t0, t1);
    report("open_segment", t1, t2);
    return 0;
}
