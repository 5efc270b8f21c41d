// SPDX-License-Identifier: Apache-2.0
// application/x-www-form-urlencoded bodies and query strings (WHATWG URL Standard §5.1,
// "application/x-www-form-urlencoded parsing"), for the release web page (issue #7).
//
// Owns: parse_form, the web errc and ParseError, Fields and its lookups.
// Must not: read sockets, keep state, log, or echo input bytes in an error message
// (a login form carries PINs and passwords).
//
// Stricter than the WHATWG algorithm, which never fails:
//  * a '%' must start a two-hex-digit escape ("%4", "%zz" are refused, not kept);
//  * the encoded input is printable ASCII only (browsers escape everything else);
//  * each decoded name and value must be valid UTF-8 without NUL (the form is
//    declared accept-charset UTF-8, and names or secrets go on as C++ strings);
//  * bounded: input bytes, field count, decoded name and value length.
// Kept as the standard has them: '&' separates fields, empty ones ("a=1&&b=2") are
// skipped, the first '=' splits name from value (a field without '=' has an empty
// value), '+' is a space, and repeated names are all kept in order (a job list is
// "job=3&job=7").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace pg::web {

enum class errc {
    ok = 0,
    too_long = 1,     // the input is over its byte limit
    too_many_fields,  // more fields (or cookies) than allowed
    name_too_long,    // a decoded name over its limit
    value_too_long,   // a decoded value over its limit
    bad_escape,       // '%' not followed by two hex digits
    bad_byte,         // a byte that cannot appear in the encoded form (control, space, non-ASCII)
    bad_utf8,         // a decoded name or value that is not UTF-8, or holds NUL
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// Why a parse failed: the code, the byte offset in the input, a short fixed message
// (never input bytes).
struct ParseError {
    boost::system::error_code code;
    std::size_t offset = 0;
    std::string message;
};
[[noreturn]] void throw_exception_from_error(const ParseError& e, const boost::source_location& loc);

template <class T>
using ParseResult = boost::system::result<T, ParseError>;

struct Field {
    std::string name;
    std::string value;
    friend bool operator==(const Field&, const Field&) = default;
};
using Fields = std::vector<Field>;

struct FormLimits {
    std::size_t max_bytes = 16 * 1024;  // encoded input
    std::size_t max_fields = 256;       // a long job list fits
    std::size_t max_name = 64;          // decoded
    std::size_t max_value = 1024;       // decoded
};

// Parses a form body or a query string (without the '?'). Errors as listed above;
// the first one found wins.
ParseResult<Fields> parse_form(std::string_view input, const FormLimits& limits = {});

// The first value of `name`, or null.
const std::string* find_field(const Fields& fields, std::string_view name);
// Every value of `name`, in order.
std::vector<std::string_view> find_all(const Fields& fields, std::string_view name);

}  // namespace pg::web

namespace boost::system {
template <>
struct is_error_code_enum<pg::web::errc> : std::true_type {};
}  // namespace boost::system
