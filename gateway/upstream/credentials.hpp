// SPDX-License-Identifier: Apache-2.0
// The gateway's client credentials for the upstream (docs/upstream-protocol.md,
// "Token"): the client id and secret, read from the file upstream.credentials_file
// names, never from the configuration itself.
//
// Owns: reading and checking that file, and holding the secret in memory so that
// it is wiped (OPENSSL_cleanse) when replaced or destroyed. Must not: log, or put
// the secret (or any value from the file) into an error message.
//
// Threads: load_credentials() blocks on the file system: call it at start or on
// reload, not on the I/O thread while it serves.
#pragma once

#include <string>
#include <string_view>

#include <boost/system/result.hpp>

#include "gateway/upstream/upstream.hpp"

namespace pg::upstream {

// A string that wipes its bytes when destroyed, assigned over or moved from.
// Copies are separate buffers and wipe themselves in turn.
class Secret {
public:
    Secret() = default;
    explicit Secret(std::string_view value) : value_(value) {}
    Secret(const Secret& other) : value_(other.value_) {}
    Secret(Secret&& other) noexcept;
    Secret& operator=(const Secret& other);
    Secret& operator=(Secret&& other) noexcept;
    ~Secret() { wipe(); }

    const std::string& str() const { return value_; }
    std::string_view view() const { return value_; }
    bool empty() const { return value_.empty(); }
    // Wipes and empties the value.
    void wipe() noexcept;

private:
    std::string value_;
};

struct ClientCredentials {
    std::string client_id;
    Secret client_secret;
};

// Reads `path`: lines `client_id: X` and `client_secret: Y` (each exactly once),
// blank lines and lines starting with `#` (after leading blanks); the value runs to
// the end of the line, surrounding blanks trimmed, then one pair of matching
// surrounding quotes ('...' or "...") removed (no escapes are processed). Refuses, with errc::not_configured
// and a message "PATH: ..." or "PATH:LINE: ..." (never a value from the file):
// a file that cannot be opened, that is not a regular file, that group or other may
// read or write (mode & 077), larger than 64 KiB, a line that is not `key: value`,
// an unknown or repeated key, an empty value, or a missing key.
boost::system::result<ClientCredentials, Failure> load_credentials(const std::string& path);

}  // namespace pg::upstream
