// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the release page's request parsers (clang-14 libFuzzer; with GCC it
// links into the corpus-replay test fuzz_replay.web_form): pg::web::parse_form
// (form bodies and query strings) and pg::web::parse_cookies (the Cookie header).
//
// Input: a flags byte, then the text. Bit 0 picks tight limits (16 bytes of input for
// cookies, 64 for forms, 3 fields, 8-byte names and values) over the defaults. The
// text is given to both parsers. Checks, besides "no crash, no exception": the same
// input gives the same answer twice; errors carry a code of the pg.web category, an
// offset inside the input and a fixed message; a form's fields are within the limits,
// valid UTF-8 without NUL, and encoding them back (every byte escaped) parses to the
// same fields; cookies are within the limits, names are tokens, values are
// cookie-octets, and each name and value occurs in the input.
#include "protocols/text/sanitize.hpp"
#include "protocols/web/cookie.hpp"
#include "protocols/web/form.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
    if (!condition) std::abort();
}

void check_error(const pg::web::ParseError& e, std::string_view input, std::size_t limit) {
    check(static_cast<bool>(e.code));
    check(&e.code.category() == &pg::web::category());
    check(!e.message.empty() && e.message == e.code.message());
    check(e.offset <= std::max(input.size(), limit));
}

std::string encode_all(const pg::web::Fields& fields) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const auto& f : fields) {
        if (!out.empty()) out += '&';
        for (char c : f.name) (out += '%') += hex[(static_cast<unsigned char>(c) >> 4)], out += hex[c & 0xf];
        out += '=';
        for (char c : f.value) (out += '%') += hex[(static_cast<unsigned char>(c) >> 4)], out += hex[c & 0xf];
    }
    return out;
}

void fuzz_form(std::string_view text, bool tight) {
    pg::web::FormLimits l;
    if (tight) l = {64, 3, 8, 8};
    auto r = pg::web::parse_form(text, l);
    auto again = pg::web::parse_form(text, l);
    check(r.has_value() == again.has_value());
    if (!r) {
        check(again.error().code == r.error().code && again.error().offset == r.error().offset);
        check_error(r.error(), text, l.max_bytes);
        return;
    }
    check(*r == *again);
    check(r->size() <= l.max_fields);
    for (const auto& f : *r) {
        check(f.name.size() <= l.max_name && f.value.size() <= l.max_value);
        check(pg::text::is_valid_utf8(f.name) && pg::text::is_valid_utf8(f.value));
        check(f.name.find('\0') == std::string::npos && f.value.find('\0') == std::string::npos);
    }
    // Round trip with roomy byte limits: the escaped form reads back as the same fields.
    pg::web::FormLimits roomy{1 << 20, l.max_fields, l.max_name, l.max_value};
    auto back = pg::web::parse_form(encode_all(*r), roomy);
    check(back.has_value() && *back == *r);
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f ||
            std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos)
            return false;
    return true;
}

void fuzz_cookies(std::string_view text, bool tight) {
    pg::web::CookieLimits l;
    if (tight) l = {16, 3};
    auto r = pg::web::parse_cookies(text, l);
    auto again = pg::web::parse_cookies(text, l);
    check(r.has_value() == again.has_value());
    if (!r) {
        check_error(r.error(), text, l.max_bytes);
        return;
    }
    check(*r == *again);
    check(r->size() <= l.max_cookies);
    for (const auto& c : *r) {
        check(is_token(c.name));
        for (char ch : c.value)
            check(ch > 0x20 && ch < 0x7f && ch != '"' && ch != ',' && ch != ';' && ch != '\\');
        check(text.find(c.name) != std::string_view::npos && text.find(c.value) != std::string_view::npos);
        check(pg::web::find_cookie(*r, c.name) != nullptr);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const bool tight = (data[0] & 1) != 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    fuzz_form(text, tight);
    fuzz_cookies(text, tight);
    return 0;
}
