// SPDX-License-Identifier: Apache-2.0
// Sanitising untrusted names (IPP job-name and requesting-user-name, LPD J/N/P
// lines, PJL JOB NAME/USERNAME) before they are stored, logged or sent on.
//
// Owns: sanitize_name. Must not: depend on any protocol, allocate beyond its
// output, do I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pg::text {

// The IPP name(MAX) limit (RFC 8011 §5.1.3), also used for LPD and PJL names.
inline constexpr std::size_t max_name_bytes = 255;

// Returns `input` as valid UTF-8 without control characters, at most `max_bytes`
// long:
//  * each ill-formed sequence becomes U+FFFD, one per maximal subpart (Unicode
//    §3.9, "U+FFFD substitution of maximal subparts"): overlongs, surrogates,
//    code points above U+10FFFF, stray continuation bytes, truncated sequences;
//  * C0 controls (U+0000..U+001F, tab and newlines included), DEL (U+007F) and C1
//    controls (U+0080..U+009F) are removed (PWG 5100.14 §8.1: names carry no
//    control characters);
//  * the result is cut at a code point boundary so it never exceeds `max_bytes`.
// Everything else, spaces and non-characters included, is kept.
std::string sanitize_name(std::string_view input, std::size_t max_bytes = max_name_bytes);

// sanitize_name of `input` read as UTF-8 when it is valid UTF-8, else as
// ISO-8859-1 (each byte the code point of its value), as cups-lpd reads names from
// LPD control files and PJL headers from old drivers.
std::string sanitize_legacy_name(std::string_view input, std::size_t max_bytes = max_name_bytes);

// True when `text` is well-formed UTF-8 (no overlongs, surrogates or values
// above U+10FFFF).
bool is_valid_utf8(std::string_view text);

}  // namespace pg::text
