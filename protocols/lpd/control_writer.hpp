// SPDX-License-Identifier: Apache-2.0
// RFC 1179 §7 control files, the other way: a typed job in, bytes out.
//
// Owns: WriteLimits, write_control_file, and the §6.2 spool names a client gives
// its files (spool_host, spool_file_name).
// Must not: do I/O, log, pick job numbers or read the host name (the caller
// passes them), or send anything.
//
// Design note. The output must parse with parse_control_file on any receiver we
// know, whatever the names in the job, so every rule of the parser has its mirror
// here:
//  * text operands (H P J C L T M N, fonts) go through text::sanitize_name: valid
//    UTF-8 without control characters (so no LF, CR or NUL can end a line early),
//    cut at a code point boundary to the RFC's octet limit for that line (§7.1
//    class 31, §7.2 host 31, §7.4 job name 99, §7.8 user 31, §7.7 source name 131,
//    §7.10 title 79; L, M and fonts share the user's and file names' limits). A
//    field that is empty once sanitised is not written at all, as the parser
//    leaves it unset;
//  * file names in print and U lines are not user text: an invalid one
//    (is_valid_file_name) is an error, never silently rewritten, since the data
//    file subcommand must name the same file;
//  * I and W: at most 9 digits (the parser's limit), else an error;
//  * copies are print lines repeated (§7.14-§7.27 have no copies count; rlpr and
//    LPRng do the same), so copies count against the line limit;
//  * the whole file must fit the receiver's ControlLimits (size, lines, line
//    length, distinct data files): printgate's own defaults unless told.
//
// Line order follows CUPS's lpd backend (shared conformance notes §3.4:
// `H P J [C L] l U N`), which every LPD server we test accepts: H, P, J, C, L,
// then T, I, W, M and the fonts, then for each data file its print lines, its U
// line(s) and its N line. N comes after the print line it names (CUPS, rlpr);
// the parser gives it to that file. U lines that name no print file, or come out
// of the files' order, follow the last file, in the job's order.
//
// What does not survive a round trip (parse -> write -> parse): ControlFile's
// counters (line_count, ignored_lines, ignored_letters: written files have no
// foreign lines), and its job-level source_name, which is derived: after writing
// it is the first file's N. The rest is equal when the parsed job's fields fit
// WriteLimits (raise them to 255 to write back anything the parser accepts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocols/lpd/control_file.hpp"
#include "protocols/lpd/lpd.hpp"

namespace pg::lpd {

// Octet limits per line operand (RFC 1179 §7), and the receiver's parse limits.
struct WriteLimits {
    std::size_t max_host = 31;          // H  §7.2
    std::size_t max_user = 31;          // P  §7.8; also L (§7.5) and M (§7.6)
    std::size_t max_job_name = 99;      // J  §7.4
    std::size_t max_class = 31;         // C  §7.1
    std::size_t max_title = 79;         // T  §7.10
    std::size_t max_source_name = 131;  // N  §7.7; also the font file names (§7.13-§7.16)
    ControlLimits receiver;             // the whole file must parse under these
};

// Writes `job` as a control file: the exact bytes of the \2 subcommand's file,
// without the trailing NUL. Job-level source_name and the counters are not used
// (see the design note). Errors (ParseError, offset 0, `line` the line that would
// have broken the rule, 0 for the whole file):
//   no_print_file           no data file to print
//   bad_file_name           a print or U line names an invalid file
//   bad_line                copies of 0, the same data file twice, I or W over 9 digits
//   too_many_files          more data files than receiver.max_data_files
//   line_too_long           a file name line over receiver.max_line
//   too_many_lines          more lines than receiver.max_lines (copies included)
//   control_file_too_large  more bytes than receiver.max_bytes
ParseResult<std::string> write_control_file(const ControlFile& job, const WriteLimits& limits = {});

// The host part of §6.2 spool names ("cfA123HOST"): letters, digits, '.', '-' and
// '_' kept, anything else '_', at most `max_bytes` (CUPS's lpd backend keeps 15);
// "localhost" when nothing is left.
std::string spool_host(std::string_view host_name, std::size_t max_bytes = 31);

// "cfA" + 3-digit job number + host (control file), or "df" + letter + number +
// host for data file `index` (0 -> 'A' ... 25 -> 'Z', 26 -> 'a' ... 51 -> 'z', as
// LPRng steps on). `number` is taken modulo 1000; `host` should come from
// spool_host. Errors: too_many_files for an index past 51, bad_file_name when the
// result is not a valid file name.
ParseResult<std::string> spool_file_name(bool control, std::size_t index, unsigned number, std::string_view host);

// How many data files one job may name with spool_file_name (A-Z, a-z).
inline constexpr std::size_t max_spool_letters = 52;

}  // namespace pg::lpd
