// SPDX-License-Identifier: Apache-2.0
// Unit tests for the offline_login: section (conf/offline_login.hpp) through the public
// parser: bad values first, with their FILE:LINE:COL, then defaults and settings.
#include "conf/config.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace pg::conf;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> diagnostics(std::string_view yaml, std::vector<Override> sets = {}) {
    std::vector<std::string> out;
    for (const auto& d : parse(yaml, "o.yaml", "/etc/printgate", sets).errors) out.push_back(d.to_string());
    return out;
}

OfflineLoginConfig section_of(std::string_view yaml) {
    const auto r = parse(yaml, "o.yaml", "/etc/printgate");
    for (const auto& d : r.errors) UNSCOPED_INFO(d.to_string());
    REQUIRE(r.ok());
    return r.config.offline_login;
}

}  // namespace

TEST_CASE("offline_login: bad values are reported at their line and column", "[conf][offline_login]") {
    using Lines = std::vector<std::string>;
    CHECK(diagnostics("offline_login:\n  max_failures: 0\n") ==
          Lines{"o.yaml:2:17: max_failures must be a whole number from 1 to 1000, got '0'"});
    CHECK(diagnostics("offline_login:\n  sync_limit: 101\n") ==
          Lines{"o.yaml:2:15: sync_limit must be a whole number from 1 to 100, got '101'"});
    CHECK(diagnostics("offline_login:\n  validity_hours: 7d\n") ==
          Lines{"o.yaml:2:19: validity_hours must be a whole number from 1 to 8784, got '7d'"});
    CHECK(diagnostics("offline_login:\n  failure_window: 15\n") ==
          Lines{"o.yaml:2:19: duration needs a unit (ms, s, m, h, d), got '15'"});
    CHECK(diagnostics("offline_login:\n  max_offline_age: 30m\n") ==
          Lines{"o.yaml:2:20: max_offline_age must be between 1h and 8784h, got '30m'"});
    CHECK(diagnostics("offline_login:\n  sync_interval: 30s\n") ==
          Lines{"o.yaml:2:18: sync_interval must be 0 (on demand only) or at least 1m"});
    CHECK(diagnostics("offline_login:\n  argon2_memory: 1000\n") ==
          Lines{"o.yaml:2:18: argon2_memory must be whole KiB from 8KiB to 256MiB (the default is 19MiB)"});
    CHECK(diagnostics("offline_login:\n  argon2_memory: 512MiB\n") ==
          Lines{"o.yaml:2:18: argon2_memory must be whole KiB from 8KiB to 256MiB (the default is 19MiB)"});
    CHECK(diagnostics("offline_login:\n  online_timeout: 100ms\n") ==
          Lines{"o.yaml:2:19: online_timeout must be between 500ms and 1m, got '100ms'"});
    CHECK(diagnostics("offline_login:\n  argon2_lanes: 9\n") ==
          Lines{"o.yaml:2:17: argon2_lanes must be a whole number from 1 to 8, got '9'"});
    CHECK(diagnostics("offline_login:\n  sync_limt: 5\n") ==
          Lines{"o.yaml:2:3: unknown key 'sync_limt' in 'offline_login', did you mean 'sync_limit'?"});
    CHECK(diagnostics("offline_login: 5\n") == Lines{"o.yaml:1:16: expected a map of settings, got '5'"});
}

TEST_CASE("offline_login: cross-checks of the argon2id cost", "[conf][offline_login]") {
    using Lines = std::vector<std::string>;
    // libargon2 needs 8 KiB per lane.
    CHECK(diagnostics("offline_login:\n  argon2_memory: 16KiB\n  argon2_lanes: 4\n") ==
          Lines{"o.yaml:2:18: argon2_memory must be at least 8KiB per lane (4 lanes: 32KiB), got 16KiB"});
    // t x m within 1 GiB of work (PhcLimits::max_work_kib).
    CHECK(diagnostics("offline_login:\n  argon2_memory: 128MiB\n  argon2_iterations: 9\n") ==
          Lines{"o.yaml:3:22: argon2_iterations x argon2_memory must stay within 1GiB of work, got 9 x 128MiB"});
    // Peak memory of concurrent hashes within 1 GiB.
    CHECK(diagnostics("offline_login:\n  argon2_memory: 256MiB\n  hash_concurrency: 5\n") ==
          Lines{"o.yaml:3:21: hash_concurrency x argon2_memory must stay within 1GiB of memory, got 5 x 256MiB"});
}

TEST_CASE("offline_login: errors in --set values name the override", "[conf][offline_login]") {
    using Lines = std::vector<std::string>;
    CHECK(diagnostics("", {{"offline_login.max_failures", "x"}}) ==
          Lines{"--set:1: offline_login.max_failures: max_failures must be a whole number from 1 to 1000, got 'x'"});
    CHECK(diagnostics("", {{"offline_login.hash_concurrency", "0"}}).size() == 1);
}

TEST_CASE("offline_login: defaults and settings", "[conf][offline_login]") {
    const OfflineLoginConfig d = section_of("");
    CHECK(d == OfflineLoginConfig{});
    CHECK(d.validity == std::chrono::hours(168));
    CHECK(d.max_offline_age == std::chrono::hours(14 * 24));
    CHECK(d.max_failures == 10);
    CHECK(d.failure_window == 15min);
    CHECK(d.sync_interval == 1h);
    CHECK(d.sync_limit == 100);
    CHECK(d.argon2_memory_kib == 19456);
    CHECK(d.argon2_iterations == 2);
    CHECK(d.argon2_lanes == 1);
    CHECK(d.hash_concurrency == 2);
    CHECK(d.online_timeout == 3s);
    CHECK(section_of("offline_login:\n") == OfflineLoginConfig{});
    CHECK(section_of("offline_login: {online_timeout: 1500ms}\n").online_timeout == 1500ms);

    const OfflineLoginConfig c = section_of(
        "offline_login:\n"
        "  validity_hours: 24\n"
        "  max_offline_age: 3d\n"
        "  max_failures: 5\n"
        "  failure_window: 5m\n"
        "  sync_interval: 0\n"
        "  sync_limit: 50\n"
        "  argon2_memory: 8KiB\n"
        "  argon2_iterations: 1\n"
        "  argon2_lanes: 1\n"
        "  hash_concurrency: 1\n");
    CHECK(c.validity == 24h);
    CHECK(c.max_offline_age == 72h);
    CHECK(c.max_failures == 5);
    CHECK(c.failure_window == 5min);
    CHECK(c.sync_interval == 0ms);
    CHECK(c.sync_limit == 50);
    CHECK(c.argon2_memory_kib == 8);
    CHECK(c.argon2_iterations == 1);
    CHECK(c.hash_concurrency == 1);
    CHECK(section_of("offline_login: {argon2_memory: 64MiB, argon2_iterations: 3, argon2_lanes: 4}\n")
              .argon2_memory_kib == 65536);
}
