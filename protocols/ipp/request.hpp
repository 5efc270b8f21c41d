// SPDX-License-Identifier: Apache-2.0
// Typed view of a decoded IPP request, and the common request validation of
// RFC 8011 §4.1 that every operation shares.
//
// Owns: Request (the well-known operation attributes, copied out of the Message),
// view() (validation with the IPP status to answer when a request is invalid),
// error_response() and the version rules.
// Must not: know operations' own semantics (which attributes an operation
// requires is the handler's business), do I/O, log.
//
// Validation order (RFC 3196 §3.1.2.1, as cupsd and ippeveprinter do it):
//  1. version-number 1.0, 1.1, 2.0, 2.1 or 2.2, else
//     server-error-version-not-supported (RFC 8011 §4.1.8);
//  2. request-id 1..2^31-1 (RFC 8011 §4.1.1), else client-error-bad-request;
//  3. the first group is operation-attributes, its first attribute is
//     attributes-charset and its second attributes-natural-language, each a single
//     value of the right syntax (RFC 8011 §4.1.4), else client-error-bad-request;
//  4. attributes-charset is utf-8 or us-ascii (case-insensitive), else
//     client-error-charset-not-supported (RFC 8011 §4.1.4.1);
//  5. no attribute appears twice in one group, and the well-known attributes below
//     have their syntax (value tag), cardinality and range (RFC 3196 §3.1.2.1.5),
//     else client-error-bad-request.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>

#include "protocols/ipp/message.hpp"
#include "protocols/ipp/response.hpp"

namespace pg::ipp {

// operation-id values (RFC 8011 §5.4.15, IANA registry; 0x4001+ are CUPS').
enum class Operation : std::uint16_t {
    print_job = 0x0002,
    print_uri = 0x0003,
    validate_job = 0x0004,
    create_job = 0x0005,
    send_document = 0x0006,
    send_uri = 0x0007,
    cancel_job = 0x0008,
    get_job_attributes = 0x0009,
    get_jobs = 0x000A,
    get_printer_attributes = 0x000B,
    hold_job = 0x000C,
    release_job = 0x000D,
    restart_job = 0x000E,
    pause_printer = 0x0010,
    resume_printer = 0x0011,
    purge_jobs = 0x0012,
    set_printer_attributes = 0x0013,
    set_job_attributes = 0x0014,
    get_printer_supported_values = 0x0015,
    create_printer_subscriptions = 0x0016,
    create_job_subscriptions = 0x0017,
    cancel_my_jobs = 0x0039,
    close_job = 0x003B,
    identify_printer = 0x003C,
    cups_get_default = 0x4001,
    cups_get_printers = 0x4002,
};

// The well-known attributes of a request that passed view(). Strings are copied
// out of the Message. Attributes are looked up in the operation group; copies and
// job-hold-until (job template attributes) in the job group, falling back to the
// operation group.
struct Request {
    Version version;
    int operation = 0;          // operation-id (see Operation)
    std::int32_t request_id = 0;  // 1..2^31-1

    std::string attributes_charset;           // lower-cased: "utf-8" or "us-ascii"
    std::string attributes_natural_language;  // as sent (RFC 5646 tag)

    std::optional<std::string> printer_uri;
    std::optional<std::string> job_uri;
    std::optional<std::int32_t> job_id;                 // >= 1
    std::optional<std::string> requesting_user_name;    // sanitised (text::sanitize_name)
    std::optional<std::string> job_name;                // sanitised
    std::optional<std::string> document_format;         // mimeMediaType as sent
    std::optional<std::string> document_name;           // sanitised
    std::optional<bool> last_document;
    std::optional<std::string> which_jobs;              // keyword as sent
    std::optional<bool> my_jobs;
    std::optional<std::int32_t> limit;                  // >= 1
    std::vector<std::string> requested_attributes;      // empty when absent
    std::optional<std::int32_t> first_index;            // >= 1
    std::optional<std::string> job_hold_until;          // keyword, or a name (sanitised)
    std::optional<std::int32_t> copies;                 // range left to the handler
    std::optional<std::string> sides;                   // keyword as sent (RFC 8011 §5.2.8)
    std::optional<std::string> print_color_mode;        // keyword as sent (PWG 5100.13 §5.2.3)
    std::optional<std::string> media;                   // keyword or name (sanitised) as sent

    // The decoded request, for everything else. Not owned: a Request must not
    // outlive the Message it was made from.
    const Message* message = nullptr;

    bool is(Operation op) const { return operation == static_cast<int>(op); }
};

// Why a request is invalid: the status to answer with, a short message for
// status-message (ASCII; attribute names in it are sanitised), and the offending
// attribute's name when there is one.
struct RequestError {
    Status status = Status::client_error_bad_request;
    std::string message;
    std::string attribute;
};
// Needed by boost::system::result<T, RequestError>::value(); throws system_error.
[[noreturn]] void throw_exception_from_error(const RequestError& e, const boost::source_location& loc);

using ViewResult = boost::system::result<Request, RequestError>;

// Validates `message` as a request (see the order above) and copies out the
// well-known attributes. Moves the message's iteration cursor.
ViewResult view(const Message& message);

// 1.0, 1.1, 2.0, 2.1, 2.2.
bool is_supported_version(Version version);
// The version to answer with: the request's when supported (echo, as cupsd does),
// else the closest supported one (RFC 8011 §4.1.8): 1.0 below it, the highest
// minor of the same major, 2.2 above.
Version reply_version(Version requested);

// The response to an invalid request: error.status, request-id echoed,
// reply_version(), attributes-charset utf-8, natural language "en", and
// status-message error.message.
Response error_response(const Message& request, const RequestError& error);

}  // namespace pg::ipp
