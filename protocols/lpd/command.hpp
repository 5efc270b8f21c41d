// SPDX-License-Identifier: Apache-2.0
// RFC 1179 daemon commands (§5) and receive-job subcommands (§6): one line in,
// a typed command out.
//
// Owns: Command, Operand, Subcommand, their limits, parse_command and
// parse_subcommand.
// Must not: read sockets, buffer lines, know queues or jobs, log. The session reads
// bytes up to LF (never more than max_command_line + 1 of them: the limit is for
// its buffer as much as for us) and hands the line here.
//
// Wire forms (one byte, then text, then LF; "SP" is one or more spaces or tabs):
//   \1 queue                      print any waiting jobs          §5.1
//   \2 queue                      receive a printer job           §5.2
//   \3 queue [SP list]            send queue state (short)        §5.3
//   \4 queue [SP list]            send queue state (long)         §5.4
//   \5 queue SP agent [SP list]   remove jobs                     §5.5
// and inside \2, until the connection ends:
//   \1                            abort job                       §6.1
//   \2 count SP cfA###host        receive control file            §6.2
//   \3 count SP dfA###host        receive data file               §6.3
//
// Choices where RFC 1179 is silent or real clients differ:
//  * a trailing CR (a client ending lines with CRLF) is dropped, as cups-lpd does;
//    a trailing LF, if the caller left it in, is dropped too;
//  * operands are separated by any run of spaces and tabs (RFC: one SP);
//  * queue names: 1..max_queue_name bytes of UTF-8 without controls; \1 and \2
//    take nothing after the queue but blanks;
//  * an operand of digits only is a job number (0..4294967295; longer digit runs
//    are refused), LPRng's keyword "all" is reported as such, anything else is a
//    user name (no control characters, at most 255 bytes);
//  * counts are plain decimal digits: no sign, no blanks inside, no hex; leading
//    zeros are accepted. A data file count of 0 is LPRng's "send until the
//    connection half-closes" variant (Subcommand::until_eof); a control file
//    count of 0 is refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/lpd/lpd.hpp"

namespace pg::lpd {

// Longest command or subcommand line, LF excluded. RFC 1179 sets no limit;
// cups-lpd reads 255 bytes. A queue state request naming a few dozen users fits.
inline constexpr std::size_t max_command_line = 1024;

enum class CommandKind : std::uint8_t {
    print_waiting = 0x01,
    receive_job = 0x02,
    short_queue_state = 0x03,
    long_queue_state = 0x04,
    remove_jobs = 0x05,
};

// One operand of \3, \4 or \5.
struct Operand {
    enum class Kind : std::uint8_t {
        job_number,  // digits only
        user,        // a user name
        all,         // LPRng's "all" (lprm all: every job the agent may remove)
    };
    Kind kind = Kind::user;
    std::uint32_t job_number = 0;  // job_number only
    std::string user;              // user only: decode_text() of the operand
    friend bool operator==(const Operand&, const Operand&) = default;
};

struct Command {
    CommandKind kind = CommandKind::print_waiting;
    std::string queue;              // as sent (validated: UTF-8, no controls or blanks)
    std::string agent;              // remove_jobs only: decode_text() of the agent
    std::vector<Operand> operands;  // queue state and remove_jobs only; may be empty
};

struct CommandLimits {
    std::size_t max_line = max_command_line;
    std::size_t max_operands = 100;
};

// Parses one daemon command line (the bytes before LF). Errors: empty_line,
// line_too_long, unknown_command (first byte not \1..\5), bad_queue,
// missing_agent, bad_operand, too_many_operands. `offset` points at the offending
// byte or token.
ParseResult<Command> parse_command(std::string_view line, const CommandLimits& limits = {});

enum class SubcommandKind : std::uint8_t {
    abort = 0x01,
    control_file = 0x02,
    data_file = 0x03,
};

struct Subcommand {
    SubcommandKind kind = SubcommandKind::abort;
    // control_file/data_file: the declared byte count, within the limit. The file
    // follows as exactly `count` bytes and one NUL, unless until_eof.
    std::uint64_t count = 0;
    // data_file with count 0: the data runs until the peer half-closes.
    bool until_eof = false;
    std::string name;  // control_file/data_file: is_valid_file_name()
};

struct SubcommandLimits {
    // Largest control file the session will buffer; keep equal to
    // ControlLimits::max_bytes.
    std::uint64_t max_control_bytes = 64 * 1024;
    // Largest data file declared; the gateway passes its spool limit.
    std::uint64_t max_data_bytes = std::uint64_t{1} << 30;
    std::size_t max_line = max_command_line;
};

// Parses one receive-job subcommand line (the bytes before LF). Errors:
// empty_line, line_too_long, unknown_command, bad_count, count_too_large (its
// message gives the declared count and the limit), bad_file_name.
ParseResult<Subcommand> parse_subcommand(std::string_view line, const SubcommandLimits& limits = {});

}  // namespace pg::lpd
