// g++ -std=c++20 -O2 -DNDEBUG -I. bench/crypto_bench.cpp auth/crypto/crypto.cpp -lcrypto -o /tmp/crypto_bench && /tmp/crypto_bench
// SPDX-License-Identifier: Apache-2.0
// Throughput of pg::crypto::seal_segment (and open_segment) over 1 GiB of 64 KiB
// segments, one thread, one reused output buffer, as the spool writer uses them.
// Compare with: openssl speed -evp aes-256-gcm -bytes 65536 -seconds 3
//
// Owns: nothing but its own buffers. Not built by CMake; run it by hand.
#include "auth/crypto/crypto.hpp"

#include <chrono>
#include <cstdio>
#include <vector>

namespace crypto = pg::crypto;

namespace {

constexpr std::size_t kTotal = std::size_t{1} << 30;
constexpr std::size_t kSegments = kTotal / crypto::kSegmentSize;

double mb_per_s(std::size_t bytes, std::chrono::steady_clock::duration d) {
    const double seconds = std::chrono::duration<double>(d).count();
    return static_cast<double>(bytes) / 1e6 / seconds;
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

    auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kSegments; ++i) {
        if (!crypto::seal_segment(*key, 1, 0, i, i + 1 == kSegments, pt, sealed)) {
            std::fprintf(stderr, "seal_segment failed at %zu\n", i);
            return 1;
        }
    }
    auto t1 = std::chrono::steady_clock::now();

    // Open the last sealed segment repeatedly: same work as opening distinct ones.
    for (std::size_t i = 0; i < kSegments; ++i) {
        if (!crypto::open_segment(*key, 1, 0, kSegments - 1, true, sealed, opened)) {
            std::fprintf(stderr, "open_segment failed at %zu\n", i);
            return 1;
        }
    }
    auto t2 = std::chrono::steady_clock::now();

    std::printf("seal_segment: %zu x 64 KiB = 1 GiB in %.3f s: %.0f MB/s\n", kSegments,
                std::chrono::duration<double>(t1 - t0).count(), mb_per_s(kTotal, t1 - t0));
    std::printf("open_segment: %zu x 64 KiB = 1 GiB in %.3f s: %.0f MB/s\n", kSegments,
                std::chrono::duration<double>(t2 - t1).count(), mb_per_s(kTotal, t2 - t1));
    return 0;
}
