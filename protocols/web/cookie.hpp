// SPDX-License-Identifier: Apache-2.0
// The Cookie request header (RFC 6265 §5.4 as browsers send it, §4.2.1 grammar), for
// the release web page's session and login cookies (issue #7).
//
// Owns: parse_cookies and find_cookie. Must not: read sockets, log, or echo cookie
// bytes in an error message (a session token is a bearer secret).
//
// The header is "name=value" pairs separated by ';' and optional blanks. A pair whose
// name is empty or not an RFC 7230 token, or whose value (after one pair of enclosing
// DQUOTEs is removed) holds a byte outside cookie-octet, is skipped, not an error:
// another application on the same host may set cookies we do not understand, and that
// must not lock a user out of the page. Only the limits are errors: the header length
// and the number of pairs. Values are returned as sent (no percent-decoding).
#pragma once

#include <cstddef>
#include <string_view>

#include "protocols/web/form.hpp"

namespace pg::web {

struct CookieLimits {
    std::size_t max_bytes = 8 * 1024;  // the whole header
    std::size_t max_cookies = 64;      // pairs, kept or skipped
};

ParseResult<Fields> parse_cookies(std::string_view header, const CookieLimits& limits = {});

// The value of the first cookie named `name` (browsers send the most specific first),
// or null.
const std::string* find_cookie(const Fields& cookies, std::string_view name);

}  // namespace pg::web
