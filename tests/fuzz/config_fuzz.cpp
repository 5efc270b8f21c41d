// SPDX-License-Identifier: Apache-2.0
// Fuzz target for pg::conf::parse (clang-14 libFuzzer; with GCC it links into the
// corpus-replay test fuzz_replay.config).
//
// Input: YAML text, optionally followed by a NUL byte and a "KEY=VALUE" override, so one
// input exercises both the file parser and override application. Besides "no crash, no
// exception", it checks the contract of a successful parse: queues are not empty and
// default_queue names one of them, raw queues exist, every diagnostic has a message.
#include "conf/config.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t nul = input.find('\0');
    const std::string_view text = input.substr(0, nul);

    std::vector<pg::conf::Override> overrides;
    if (nul != std::string_view::npos) {
        if (auto o = pg::conf::parse_override(input.substr(nul + 1))) overrides.push_back(std::move(*o));
    }

    const auto result = pg::conf::parse(text, "fuzz.yaml", "/etc/printgate", overrides);
    if (result.ok()) {
        const auto& c = result.config;
        check(!c.queues.empty());
        check(c.queues.count(c.default_queue) == 1);
        for (const auto& ep : c.listen.raw) check(ep.queue.empty() || c.queues.count(ep.queue) == 1);
        check(c.spool.max_job_size >= 1 && c.spool.max_total_size >= c.spool.max_job_size);
        check(c.limits.max_connections >= 1 && c.limits.max_connections <= 100000);
        check(!c.state_dir.empty());
    }
    for (const auto& d : result.errors) check(!d.message.empty() && !d.to_string().empty());

    // The scalar parsers on their own, on the first line of the text.
    const std::string_view line = text.substr(0, text.find('\n'));
    (void)pg::conf::parse_size(line);
    (void)pg::conf::parse_duration(line);
    if (auto ep = pg::conf::parse_endpoint(line)) check(!ep->host.empty());
    return 0;
}
