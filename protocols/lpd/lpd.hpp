// SPDX-License-Identifier: Apache-2.0
// RFC 1179 (LPD) shared vocabulary: the pg.lpd error category, ParseError, and the
// rules for the names that travel in commands and control files.
//
// Owns: errc, category(), ParseError/ParseResult, the name limits, the spool file
// name rule (is_valid_file_name, parse_spool_name) and decode_text.
// Must not: do I/O, log, keep state, or know the gateway's queues and jobs.
//
// The module is split by what the gateway reads, as house style lays out:
//   command.hpp       daemon command line (§5) and receive-job subcommands (§6)
//   control_file.hpp  control file (§7) -> typed job
//   control_writer.hpp  typed job -> control file (§7), and §6.2 spool names
//   reply.hpp         lpq-style queue state answers (§5.3, §5.4)
//   lpq_answer.hpp    such answers read back: what another server's lpq lists
// All five are pure: bytes in, values or a ParseError out, limits as parameters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include <boost/assert/source_location.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace pg::lpd {

// Errors of the pg.lpd category.
enum class errc {
    ok = 0,
    empty_line = 1,        // a command or subcommand line with no bytes
    line_too_long,         // a command line or control-file line over its limit
    unknown_command,       // command or subcommand byte not defined by RFC 1179
    bad_queue,             // queue name empty, with control characters or not UTF-8
    bad_operand,           // a user name or job number operand that is not acceptable
    too_many_operands,     // more operands than CommandLimits::max_operands
    missing_agent,         // remove-jobs (\5) without its agent operand
    bad_count,             // subcommand count not a plain decimal number, or 0 for a control file
    count_too_large,       // subcommand count above the caller's limit
    bad_file_name,         // control/data file name empty, too long, with '/', spaces or controls
    control_file_too_large,  // control file bigger than ControlLimits::max_bytes
    too_many_lines,        // control file with more than ControlLimits::max_lines lines
    bad_line,              // a control-file line whose operand is not acceptable
    too_many_files,        // more distinct data files than ControlLimits::max_data_files
    no_print_file,         // a control file without any print line (nothing to print)
    answer_too_large,      // a queue state answer bigger than ListingLimits::max_bytes
    too_many_jobs,         // a queue state answer listing more jobs (or files of a job) than allowed
    bad_answer,            // a queue state answer line that is neither status, job nor file
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

// Why a parse failed. `offset` is the byte offset of the offending field in the
// line or file given to the parser; `line` is the 1-based control-file line (0 for
// single-line parsers). `message` is short ASCII that never echoes input bytes
// other than a printable command letter.
struct ParseError {
    boost::system::error_code code;
    std::size_t offset = 0;
    std::size_t line = 0;
    std::string message;
};
// Needed by boost::system::result<T, ParseError>::value(); throws system_error.
[[noreturn]] void throw_exception_from_error(const ParseError& e, const boost::source_location& loc);

template <class T>
using ParseResult = boost::system::result<T, ParseError>;

// Longest queue name accepted in a daemon command. RFC 1179 sets none; printcap
// and CUPS queue names are far shorter (CUPS: 127 bytes).
inline constexpr std::size_t max_queue_name = 127;
// Longest control or data file name. RFC 1179 §6.2 names are "cfA" + 3 digits +
// host (at most 31 octets per §7.2), so 10 + 31; LPRng and Windows send
// fully-qualified host names, hence the room. 255 is a POSIX file name.
inline constexpr std::size_t max_file_name = 255;

// A control or data file name as it may appear in a subcommand or a print line:
// 1..max_file_name bytes of valid UTF-8 with no control characters (C0, DEL, C1),
// no space and no '/'. Names are never used as paths, but '/' and controls have no
// business in them and would make logs and the lpq answer ambiguous.
bool is_valid_file_name(std::string_view name);

// The parts of an RFC 1179 §6.2 spool name: "cf" or "df", one letter (A-Z, a-z;
// LPRng steps through them for more than 26 data files), the job number (3 digits
// per the RFC; LPRng and others send more) and the host name.
struct SpoolName {
    bool control = false;        // "cf" (else "df")
    char letter = 'A';
    std::string_view number;     // the digits, as sent ("246")
    std::string_view host;       // may be empty
};
// Splits `name` when it follows that pattern (1..9 digits); nullopt otherwise.
// Views point into `name`.
std::optional<SpoolName> parse_spool_name(std::string_view name);

// Text from an LPD peer (user, host, job and file titles) as a name printgate can
// store: UTF-8 as sent when it is valid UTF-8, else read as ISO-8859-1 (what
// legacy LPD clients send, and what cups-lpd assumes), then text::sanitize_name
// (no control characters, at most `max_bytes`).
std::string decode_text(std::string_view raw, std::size_t max_bytes = 255);

}  // namespace pg::lpd

template <>
struct boost::system::is_error_code_enum<pg::lpd::errc> : std::true_type {};
