// SPDX-License-Identifier: Apache-2.0
// The `offline_login:` section (issue #7): how long cached credentials stay valid, the
// lockout, the user sync and the argon2id cost of the hashes made on this gateway.
//
// Owns: OfflineLoginConfig, its defaults and ranges, and the section's validation.
// Must not: read files, log, or include anything of auth/ (auth depends on conf, not
// the reverse): the argon2id bounds below mirror auth/passwd/phc.hpp's PhcLimits, so a
// configuration this parser accepts is one the credential cache accepts.
//
// The section is read through SectionReader, which config.cpp implements over its own
// tree, so errors carry FILE:LINE:COL (or --set:N) like every other key without this
// file knowing the tree.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pg::conf {

struct OfflineLoginConfig {
    // A method cached at an online login stays valid this long (renewed by each later
    // online login with it; offline logins never renew it).
    std::chrono::hours validity{168};
    // Whatever the validity, nothing is accepted offline longer than this after the
    // server last vouched for it (the online login, or the last successful sync).
    std::chrono::milliseconds max_offline_age{std::chrono::hours(14 * 24)};
    // A user locks out after this many failures within failure_window.
    unsigned max_failures = 10;
    std::chrono::milliseconds failure_window{std::chrono::minutes(15)};
    // Scheduled user sync; 0 = only on demand (printgatectl users sync).
    std::chrono::milliseconds sync_interval{std::chrono::hours(1)};
    // Synced users kept (MyQ's per-device maximum is 100, and so is ours).
    unsigned sync_limit = 100;
    // argon2id of hashes made here and of the verifiers the sync asks the server for.
    // Defaults: OWASP's m=19 MiB, t=2, p=1 (docs/configuration.md has the arithmetic).
    std::uint32_t argon2_memory_kib = 19456;
    unsigned argon2_iterations = 2;
    unsigned argon2_lanes = 1;
    // argon2id computations at once (memory peak: this x argon2_memory).
    unsigned hash_concurrency = 2;
    // An online login's wait for the server; then the cache decides (a black-holed
    // server would otherwise hold each login for upstream.request_timeout).
    std::chrono::milliseconds online_timeout{std::chrono::seconds(3)};

    friend bool operator==(const OfflineLoginConfig&, const OfflineLoginConfig&) = default;
};

inline constexpr std::array<std::string_view, 11> offline_login_keys{
    "validity_hours", "max_offline_age", "max_failures",      "failure_window", "sync_interval", "sync_limit",
    "argon2_memory",  "argon2_iterations", "argon2_lanes",    "hash_concurrency", "online_timeout"};

// Typed reads of one key of a section, for section parsers in their own files. Each
// read reports its own error at the key's value and returns nullopt then; `key` is
// the key inside the section ("max_failures").
class SectionReader {
public:
    virtual ~SectionReader() = default;
    virtual bool has(std::string_view key) const = 0;
    virtual std::optional<unsigned> count(std::string_view key, unsigned min, unsigned max) = 0;
    virtual std::optional<std::chrono::milliseconds> duration(std::string_view key, std::chrono::milliseconds min,
                                                              std::chrono::milliseconds max) = 0;
    virtual std::optional<std::uint64_t> size(std::string_view key) = 0;
    // An error about `key`: at its value when the key is there, else at the section.
    virtual void error(std::string_view key, std::string message) = 0;
};

// Validates the section's keys (unknown keys are the caller's check, against
// offline_login_keys) into `out`, which holds the defaults for keys not given.
void read_offline_login(SectionReader& in, OfflineLoginConfig& out);

}  // namespace pg::conf
