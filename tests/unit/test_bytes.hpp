// SPDX-License-Identifier: Apache-2.0
// Byte-buffer helpers shared by the unit tests (crypto, spool).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace pg::test {

using Bytes = std::vector<std::byte>;

inline Bytes bytes_of(std::string_view s) {
    Bytes b(s.size());
    if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
    return b;
}

// Deterministic plaintext (xorshift) that does not repeat within a segment.
inline Bytes pattern(std::size_t n, std::uint32_t seed = 1) {
    Bytes out(n);
    std::uint32_t x = seed * 2654435761u + 12345u;
    for (auto& b : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b = static_cast<std::byte>(x);
    }
    return out;
}

}  // namespace pg::test
