// SPDX-License-Identifier: Apache-2.0
// UTF-8 validation and name sanitising (see sanitize.hpp).
#include "protocols/text/sanitize.hpp"

#include <algorithm>

namespace pg::text {

namespace {

struct Decoded {
    char32_t code_point = 0;
    std::size_t length = 1;  // bytes consumed: the sequence, or its maximal ill-formed subpart
    bool valid = false;
};

// Decodes one code point at `at` following Unicode Table 3-7 (well-formed UTF-8
// byte sequences). On error `length` is the maximal subpart to replace.
Decoded decode_one(std::string_view s, std::size_t at) {
    const auto b0 = static_cast<unsigned char>(s[at]);
    if (b0 < 0x80) return {b0, 1, true};

    std::size_t trailing = 0;
    char32_t cp = 0;
    unsigned char low = 0x80;
    unsigned char high = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        trailing = 1;
        cp = b0 & 0x1Fu;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        trailing = 2;
        cp = b0 & 0x0Fu;
        if (b0 == 0xE0) low = 0xA0;   // no overlongs
        if (b0 == 0xED) high = 0x9F;  // no surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        trailing = 3;
        cp = b0 & 0x07u;
        if (b0 == 0xF0) low = 0x90;   // no overlongs
        if (b0 == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
        return {0, 1, false};  // continuation byte, C0/C1 overlong lead, F5..FF
    }

    std::size_t length = 1;
    for (std::size_t k = 0; k < trailing; ++k) {
        if (at + length >= s.size()) return {0, length, false};
        const auto b = static_cast<unsigned char>(s[at + length]);
        if (b < low || b > high) return {0, length, false};
        cp = cp << 6 | (b & 0x3Fu);
        ++length;
        low = 0x80;
        high = 0xBF;
    }
    return {cp, length, true};
}

bool is_control(char32_t cp) {
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

std::string sanitize_name(std::string_view input, std::size_t max_bytes) {
    std::string out;
    out.reserve(std::min(input.size(), max_bytes));
    for (std::size_t at = 0; at < input.size();) {
        const Decoded d = decode_one(input, at);
        std::string_view piece;
        if (!d.valid) {
            piece = kReplacement;
        } else if (!is_control(d.code_point)) {
            piece = input.substr(at, d.length);
        }
        if (out.size() + piece.size() > max_bytes) break;
        out.append(piece);
        at += d.length;
    }
    return out;
}

bool is_valid_utf8(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        const Decoded d = decode_one(text, at);
        if (!d.valid) return false;
        at += d.length;
    }
    return true;
}

std::string sanitize_legacy_name(std::string_view input, std::size_t max_bytes) {
    if (is_valid_utf8(input)) return sanitize_name(input, max_bytes);
    // C1 controls (0x80..0x9F) become U+0080..U+009F and sanitize_name removes them.
    std::string utf8;
    utf8.reserve(input.size() * 2);
    for (char c : input) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x80) {
            utf8.push_back(c);
        } else {
            utf8.push_back(static_cast<char>(0xC0 | (b >> 6)));
            utf8.push_back(static_cast<char>(0x80 | (b & 0x3F)));
        }
    }
    return sanitize_name(utf8, max_bytes);
}

}  // namespace pg::text
