// SPDX-License-Identifier: Apache-2.0
// The input layout shared by the LPD control-file fuzz targets (lpd_control,
// lpd_roundtrip): one flags byte that picks tight or default ControlLimits, then
// the control file's bytes. One place, so both corpora mean the same thing. Also
// with_crlf, for the targets (lpq_answer too) that check CRLF reads as LF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/lpd/control_file.hpp"

namespace pg::lpd::fuzz {

struct ControlInput {
    ControlLimits limits;
    std::string_view bytes;
};

// Nothing for an empty input.
inline std::optional<ControlInput> split_control_input(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return std::nullopt;
    const std::uint8_t flags = data[0];
    ControlInput in;
    in.bytes = std::string_view(reinterpret_cast<const char*>(data + 1), size - 1);
    if (flags & 0x01) in.limits.max_bytes = 256;
    if (flags & 0x02) in.limits.max_lines = 8;
    if (flags & 0x04) in.limits.max_line = 16;
    if (flags & 0x08) in.limits.max_data_files = 2;
    return in;
}

// `text` with every LF preceded by a CR (a CRLF peer's bytes).
inline std::string with_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

}  // namespace pg::lpd::fuzz
