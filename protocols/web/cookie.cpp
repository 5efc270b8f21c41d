// SPDX-License-Identifier: Apache-2.0
#include "protocols/web/cookie.hpp"

namespace pg::web {

namespace {

// RFC 7230 §3.2.6 tchar.
bool is_tchar(char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return false;
    }
}

// RFC 6265 §4.1.1 cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E.
bool is_cookie_octet(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u == 0x21 || (u >= 0x23 && u <= 0x2b) || (u >= 0x2d && u <= 0x3a) || (u >= 0x3c && u <= 0x5b) ||
           (u >= 0x5d && u <= 0x7e);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

ParseResult<Fields> parse_cookies(std::string_view header, const CookieLimits& limits) {
    if (header.size() > limits.max_bytes)
        return ParseError{make_error_code(errc::too_long), limits.max_bytes, "input too long"};
    Fields out;
    std::size_t pairs = 0;
    std::size_t pos = 0;
    while (pos <= header.size()) {
        std::size_t semi = header.find(';', pos);
        if (semi == std::string_view::npos) semi = header.size();
        const std::string_view pair = trim(header.substr(pos, semi - pos));
        if (!pair.empty()) {
            if (++pairs > limits.max_cookies)
                return ParseError{make_error_code(errc::too_many_fields), pos, "too many cookies"};
            const std::size_t eq = pair.find('=');
            if (eq != std::string_view::npos) {
                const std::string_view name = trim(pair.substr(0, eq));
                std::string_view value = trim(pair.substr(eq + 1));
                if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
                    value = value.substr(1, value.size() - 2);
                bool ok = !name.empty();
                for (char c : name) ok = ok && is_tchar(c);
                for (char c : value) ok = ok && is_cookie_octet(c);
                if (ok) out.push_back({std::string(name), std::string(value)});
            }
        }
        pos = semi + 1;
    }
    return out;
}

const std::string* find_cookie(const Fields& cookies, std::string_view name) { return find_field(cookies, name); }

}  // namespace pg::web
