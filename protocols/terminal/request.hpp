// SPDX-License-Identifier: Apache-2.0
// The terminal API's requests (issue #7, docs/terminal-api.md) read from bytes: the
// route (method + target) and the JSON bodies of POST /api/v1/sessions,
// POST /api/v1/jobs/release and POST /api/v1/jobs/delete, as typed values.
//
// Owns: Route and parse_route, LoginBody/parse_login, JobsBody/parse_release and
// parse_delete, RequestLimits, the pg.terminal error category.
// Must not: do I/O, know users, jobs or printers (the gateway decides), or echo an
// input byte in an error message (a body may carry a PIN, a card or a password).
//
// Design note. Bodies are one flat JSON object (RFC 8259) read with Boost.JSON's
// SAX parser (basic_parser) and a handler of our own, so nothing is built that the
// request does not need and every rule is checked as the bytes go by:
//   - the body is at most max_body bytes, valid UTF-8 (RFC 8259 §8.1; Boost rejects
//     ill-formed sequences and lone surrogates), one object, no comments or trailing
//     commas, nothing after it but white space;
//   - each key appears once (RFC 8259 §4 leaves duplicates to the implementation:
//     here they are an error, so a proxy and the gateway cannot read two requests);
//   - a key the request does not define is an error, and so is a value of the wrong
//     type (a PIN given as a number, a job id as a string or a fraction);
//   - strings are at most max_field bytes and carry no control character (C0, DEL);
//   - job ids are whole numbers 1 .. 2^53 - 1 (what every JSON client can send
//     exactly), at most max_jobs of them, each once.
// Secrets (card, pin, password) live only in LoginBody, which wipes its strings on
// destruction and on wipe(); the handler wipes its partial copies on every path.
// Boost's parser copies a string that holds escapes into its own buffer, which is
// not wiped: terminals send secrets unescaped (docs/terminal-api.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace pg::terminal {

enum class errc {
    ok = 0,
    too_large = 1,   // body over max_body bytes
    bad_json,        // not JSON, or more than one value, comments, trailing commas
    not_utf8,        // ill-formed UTF-8 or an escaped lone surrogate
    not_object,      // the body is JSON but not an object
    duplicate_key,   // a key appears twice
    unknown_field,   // a key this request does not define
    wrong_type,      // a value of the wrong JSON type
    missing_field,   // a required key is absent (or its string is empty)
    field_too_long,  // a string over max_field bytes
    bad_value,       // a string with a control character, an unknown method, a bad job id
    too_many_jobs,   // more job ids than max_jobs
    duplicate_job,   // a job id listed twice
    not_used,        // a field the chosen login method does not use
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// Why a body was refused. `offset` is the byte offset where the parser stopped (for
// the JSON errors) or 0; `field` the key concerned ("" when none); `message` short
// ASCII that never contains a byte of the body other than a known key.
struct ParseError {
    boost::system::error_code code;
    std::size_t offset = 0;
    std::string field;
    std::string message;
};
[[noreturn]] void throw_exception_from_error(const ParseError& e, const boost::source_location& loc);

template <class T>
using ParseResult = boost::system::result<T, ParseError>;

struct RequestLimits {
    std::size_t max_body = 16 * 1024;  // bytes of JSON
    std::size_t max_field = 256;       // bytes of any string value
    std::size_t max_jobs = 100;        // job ids in one release or delete
};

// The largest job id accepted: 2^53 - 1, exact in every JSON implementation.
inline constexpr std::uint64_t max_job_id = (std::uint64_t{1} << 53) - 1;

// --- routes --------------------------------------------------------------------
enum class Endpoint {
    login,          // POST   /api/v1/sessions
    logout,         // DELETE /api/v1/sessions/current
    list_jobs,      // GET    /api/v1/jobs
    job_status,     // GET    /api/v1/jobs/{id}
    delete_job,     // DELETE /api/v1/jobs/{id}
    release_jobs,   // POST   /api/v1/jobs/release
    delete_jobs,    // POST   /api/v1/jobs/delete
    list_printers,  // GET    /api/v1/printers
    not_found,      // no such path
    bad_method,     // the path exists, not with this method (`allow` says which)
};

struct Route {
    Endpoint endpoint = Endpoint::not_found;
    std::uint64_t job = 0;   // job_status, delete_job
    std::string_view allow;  // bad_method: the Allow header's value
};

// `target` is the request target as sent (origin form); a query string is ignored.
// A job id in the path follows the body's rule (decimal, 1 .. max_job_id, no sign,
// no leading zero). Pure; never fails.
Route parse_route(std::string_view method, std::string_view target);

// --- bodies --------------------------------------------------------------------
enum class Method { card, pin, password, card_pin, card_password };
std::string_view to_string(Method m);

// POST /api/v1/sessions: {"method": "...", and the method's fields}. Holds secrets:
// wiped on destruction; never log it.
struct LoginBody {
    Method method = Method::pin;
    std::string card;      // card, card_pin, card_password
    std::string pin;       // pin, card_pin
    std::string username;  // password
    std::string password;  // password, card_password

    LoginBody() = default;
    LoginBody(const LoginBody&) = delete;
    LoginBody& operator=(const LoginBody&) = delete;
    LoginBody(LoginBody&& other) noexcept;
    LoginBody& operator=(LoginBody&& other) noexcept;
    ~LoginBody() { wipe(); }
    // Overwrites every byte the strings own (their capacity) and empties them.
    void wipe() noexcept;
};

// POST /api/v1/jobs/release: {"jobs": [ids] | "all", "printer": "NAME"};
// POST /api/v1/jobs/delete: {"jobs": [ids]}.
struct JobsBody {
    bool all = false;                 // "jobs": "all"
    std::vector<std::uint64_t> jobs;  // in the order given; empty with `all`
    std::string printer;              // release only
};

ParseResult<LoginBody> parse_login(std::string_view body, const RequestLimits& limits = {});
ParseResult<JobsBody> parse_release(std::string_view body, const RequestLimits& limits = {});
// "all" is not accepted here: deleting is always by id.
ParseResult<JobsBody> parse_delete(std::string_view body, const RequestLimits& limits = {});

// Overwrites every byte `s` owns and empties it (explicit_bzero: not optimised away).
void wipe_string(std::string& s) noexcept;

}  // namespace pg::terminal

namespace boost::system {
template <>
struct is_error_code_enum<pg::terminal::errc> : std::true_type {};
}  // namespace boost::system
