// SPDX-License-Identifier: Apache-2.0
// The `offline_login:` section. See offline_login.hpp and docs/configuration.md.
#include "conf/offline_login.hpp"

#include <tuple>

namespace pg::conf {

namespace {

// auth/passwd/phc.hpp PhcLimits defaults, and libargon2's minimum of 8 KiB per lane.
constexpr std::uint64_t kMaxMemoryKib = 262144;    // 256 MiB per hash
constexpr std::uint64_t kMaxWorkKib = 1048576;     // t x m: 1 GiB of memory passes
constexpr unsigned kMaxIterations = 16;
constexpr unsigned kMaxLanes = 8;
constexpr std::uint64_t kMinKibPerLane = 8;
// hash_concurrency x argon2_memory: what hashing may hold at once on a small appliance.
constexpr std::uint64_t kMaxPeakKib = 1048576;     // 1 GiB

std::string mib(std::uint64_t kib) {
    if (kib % 1024 == 0) return std::to_string(kib / 1024) + "MiB";
    return std::to_string(kib) + "KiB";
}

}  // namespace

void read_offline_login(SectionReader& in, OfflineLoginConfig& out) {
    using namespace std::chrono_literals;
    if (auto n = in.count("validity_hours", 1, 24 * 366)) out.validity = std::chrono::hours(*n);
    if (auto n = in.count("max_failures", 1, 1000)) out.max_failures = *n;
    if (auto n = in.count("sync_limit", 1, 100)) out.sync_limit = *n;
    if (auto n = in.count("argon2_iterations", 1, kMaxIterations)) out.argon2_iterations = *n;
    if (auto n = in.count("argon2_lanes", 1, kMaxLanes)) out.argon2_lanes = *n;
    if (auto n = in.count("hash_concurrency", 1, 64)) out.hash_concurrency = *n;

    const std::tuple<std::string_view, std::chrono::milliseconds*, std::chrono::milliseconds,
                     std::chrono::milliseconds>
        durations[] = {{"max_offline_age", &out.max_offline_age, 1h, 366 * 24h},
                       {"failure_window", &out.failure_window, 1min, 24h},
                       {"sync_interval", &out.sync_interval, 0ms, 7 * 24h},
                       {"online_timeout", &out.online_timeout, 500ms, 60s}};
    for (const auto& [key, target, min, max] : durations)
        if (auto d = in.duration(key, min, max)) *target = *d;
    if (out.sync_interval.count() != 0 && out.sync_interval < 1min) {
        in.error("sync_interval", "sync_interval must be 0 (on demand only) or at least 1m");
        out.sync_interval = 1h;
    }

    if (auto bytes = in.size("argon2_memory")) {
        if (*bytes % 1024 != 0 || *bytes / 1024 < kMinKibPerLane || *bytes / 1024 > kMaxMemoryKib)
            in.error("argon2_memory", "argon2_memory must be whole KiB from 8KiB to 256MiB (the default is 19MiB)");
        else
            out.argon2_memory_kib = static_cast<std::uint32_t>(*bytes / 1024);
    }
    // Cross-checks, reported at the key that most likely needs changing.
    const std::uint64_t m = out.argon2_memory_kib;
    if (m < kMinKibPerLane * out.argon2_lanes)
        in.error("argon2_memory", "argon2_memory must be at least 8KiB per lane (" +
                                      std::to_string(out.argon2_lanes) + " lanes: " +
                                      mib(kMinKibPerLane * out.argon2_lanes) + "), got " + mib(m));
    if (m * out.argon2_iterations > kMaxWorkKib)
        in.error("argon2_iterations", "argon2_iterations x argon2_memory must stay within 1GiB of work, got " +
                                          std::to_string(out.argon2_iterations) + " x " + mib(m));
    if (m * out.hash_concurrency > kMaxPeakKib)
        in.error("hash_concurrency", "hash_concurrency x argon2_memory must stay within 1GiB of memory, got " +
                                         std::to_string(out.hash_concurrency) + " x " + mib(m));
}

}  // namespace pg::conf
