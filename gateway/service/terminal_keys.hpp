// SPDX-License-Identifier: Apache-2.0
// The terminal API's identities (issue #7, docs/terminal-api.md): each configured
// terminal's API key, read from its key_file, and the lookup of a presented key.
//
// Owns: reading terminals.NAME.key_file (a regular file no group or other may
// access, one line of 32 - 512 printable ASCII characters, no two terminals alike)
// and identify(). Keeps only each key's SHA-256, never the key; a presented key is
// hashed and compared with every terminal's digest in constant time (CRYPTO_memcmp,
// no early exit), so neither the time nor the answer tells which bytes matched.
// Must not: log or return a key, or read files after load().
//
// Threads: load() anywhere (the gateway calls it on the I/O thread at start and on
// SIGHUP); a loaded TerminalKeys is immutable and may be shared.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conf/config.hpp"

namespace pg::service {

class TerminalKeys {
public:
    static constexpr std::size_t min_key_length = 32;
    static constexpr std::size_t max_key_length = 512;

    // Reads the key_file of every terminal in `c`. Null with `error` set (naming the
    // terminal and the file, never a key byte) when one cannot be used.
    static std::shared_ptr<const TerminalKeys> load(const conf::Config& c, std::string& error);

    // The key in a key file's text: its one line without the line end (LF or CRLF);
    // nullopt with `why` set when the text is not one line of 32 - 512 characters
    // 0x21 - 0x7E. Pure; `why` never quotes the text.
    static std::optional<std::string> key_of(std::string_view text, std::string& why);

    // Builds the table from (terminal name, key) pairs; the keys are hashed and not
    // kept. For load() and tests.
    explicit TerminalKeys(const std::vector<std::pair<std::string, std::string>>& keys);

    // The terminal whose API key is `presented`; nullopt when none (or `presented`
    // is empty or longer than max_key_length).
    std::optional<std::string> identify(std::string_view presented) const;
    std::size_t size() const { return entries_.size(); }

private:
    using Digest = std::array<unsigned char, 32>;
    static Digest digest(std::string_view key);
    std::vector<std::pair<std::string, Digest>> entries_;
};

}  // namespace pg::service
