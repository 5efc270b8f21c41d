// SPDX-License-Identifier: Apache-2.0
// RFC 1179 §7 control files: bytes in, a typed job out.
//
// Owns: ControlFile, PrintFile, ControlLimits and parse_control_file.
// Must not: touch data files (it only names them), do I/O, log, or decide what a
// missing user or title becomes (the gateway falls back to the peer).
//
// Design note. A control file is lines of "letter operand LF" (§7). What real
// clients send (the shared conformance notes, §3.4 "LPD bytes"):
//   CUPS lpd backend  H P J l U N            (N after the print line)
//   rlpr              H P T J C L f U N      (copies: the print line repeated)
//   LPRng lpr         H P J C L A D Q N f U  (N before the print line; A, D, Q
//                                             are LPRng's own)
// Rules, and where they come from:
//  * every RFC letter is understood: H P J C L T I W M U N S, fonts 1-4 and the
//    print lines c d f g l n o p r t v (§7.1-§7.28). S (symbolic link data, §7.9)
//    and the reserved k and z are recognised and ignored;
//  * any other first byte (LPRng's A D Q R Z <, Solaris' 5/O, ...) is ignored and
//    counted, never an error: clients add lines freely;
//  * lines end with LF; CRLF is accepted (the CR dropped, as cups-lpd does) and a
//    last line without LF is accepted; empty lines are skipped but counted;
//  * single-valued lines given twice: the last one wins (cups-lpd's behaviour);
//  * text operands (H P J C L T M N, fonts) go through decode_text(): UTF-8 as sent
//    when valid, else ISO-8859-1, without control characters, at most 255 bytes.
//    An operand that is empty once sanitised leaves the field unset;
//  * print lines, U lines: the operand must be a valid file name
//    (is_valid_file_name), else bad_line. Print lines naming the same data file
//    add copies (rlpr -#2 and LPRng repeat the line); the same file with a
//    different format letter is bad_line, since no client does it and there is no
//    right answer;
//  * N is the source name of one data file. CUPS and rlpr put it after the print
//    line, LPRng before: an N goes to the latest print file that has none yet,
//    else it waits for the next print line;
//  * I and W take decimal digits (at most 9); anything else is bad_line;
//  * limits: total size, line count, line length (LF excluded) and distinct data
//    files. RFC 1179 keeps lines to 131 octets, but LPRng's and Windows' long host
//    and file names exceed it, so the default line limit is 1024. A control file
//    that prints nothing is no_print_file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/lpd/lpd.hpp"

namespace pg::lpd {

struct ControlLimits {
    std::size_t max_bytes = 64 * 1024;  // the whole file; SubcommandLimits::max_control_bytes
    std::size_t max_lines = 2000;       // empty lines included
    std::size_t max_line = 1024;        // bytes before LF (a CR of CRLF included)
    std::size_t max_data_files = 256;   // distinct data files printed
};

// The print-line letters of RFC 1179 §7.
inline constexpr std::string_view print_letters = "flopvrdcgnt";
bool is_print_letter(char c);

// One data file to print.
struct PrintFile {
    std::string name;                        // data file name (is_valid_file_name)
    char format = 'f';                       // the print line's letter (print_letters)
    std::uint32_t copies = 1;                // print lines naming this file
    std::optional<std::string> source_name;  // its N line (decode_text)
    friend bool operator==(const PrintFile&, const PrintFile&) = default;
};

struct ControlFile {
    std::optional<std::string> host;          // H  §7.2  (decode_text)
    std::optional<std::string> user;          // P  §7.8
    std::optional<std::string> job_name;      // J  §7.4  (job name for the banner page)
    std::optional<std::string> banner_class;  // C  §7.1
    std::optional<std::string> banner_user;   // L  §7.5  (present: print a banner)
    std::optional<std::string> title;         // T  §7.10 (title for pr)
    std::optional<std::uint32_t> indent;      // I  §7.3
    std::optional<std::uint32_t> width;       // W  §7.12
    std::optional<std::string> mail_user;     // M  §7.6
    std::array<std::optional<std::string>, 4> fonts;  // 1-4 §7.13-§7.16 (troff font files)
    std::vector<PrintFile> files;             // in order of their first print line; never empty
    std::vector<std::string> unlink;          // U  §7.11 file names, in order
    // The first N line, wherever it went: a title when J is missing.
    std::optional<std::string> source_name;

    std::size_t line_count = 0;     // lines seen, empty ones included
    std::size_t ignored_lines = 0;  // lines with a letter we do not use (S included)
    // Distinct first bytes of ignored lines, in order of appearance; bytes outside
    // 0x21..0x7E are shown as '?'. For logs.
    std::string ignored_letters;

    // The job's title: J, else the first N, else T; empty if none.
    std::string_view display_title() const;
    // Total copies over all files.
    std::uint64_t total_copies() const;
    // Whether `name` is one of the data files to print.
    bool prints(std::string_view name) const;
};

// Parses a whole control file: exactly the `count` bytes of its \2 subcommand,
// without the trailing NUL. Errors carry the 1-based line and the offset of the
// line (or of its operand): control_file_too_large, too_many_lines, line_too_long,
// bad_line, too_many_files, no_print_file.
ParseResult<ControlFile> parse_control_file(std::string_view bytes, const ControlLimits& limits = {});
inline ParseResult<ControlFile> parse_control_file(std::span<const std::byte> bytes, const ControlLimits& limits = {}) {
    return parse_control_file(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), limits);
}

}  // namespace pg::lpd
