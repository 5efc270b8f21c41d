// SPDX-License-Identifier: Apache-2.0
// PJL job header scanner: reads the head of a raw (9100) or LPD data stream and
// reports the job's owner and title when the driver put them in PJL.
//
// Owns: HeaderScanner, Header, ScanLimits, StopReason.
// Must not: change, copy or keep document bytes (it sees each byte once and keeps
// only the current PJL line, at most ScanLimits::max_line bytes), do I/O, log.
// Everything it reports is a hint from the client, like IPP's
// requesting-user-name: PJL is not the truth (a CUPS PPD once said PAPER=LETTER
// for an A4 document).
//
// Design note. A PJL job starts with the Universal Exit Language and PJL lines
// (HP PJL Technical Reference, ch. 2 and 6):
//
//   ESC%-12345X@PJL JOB NAME = "title" DISPLAY = "17 alice title" CRLF
//   @PJL SET USERNAME = "alice" CRLF
//   @PJL SET DUPLEX = ON CRLF
//   @PJL ENTER LANGUAGE = PDF CRLF
//   %PDF-1.7 ...
//
// The scanner is a byte state machine fed in pieces of any size (Beast's put).
// At the start of the stream and of each line it accepts blanks, CR, LF, a UEL,
// or "@PJL" followed by a blank or the line end (case-insensitive; the manual
// wants upper case, drivers comply, we do not insist). The header ends:
//   enter_language  after the LF of "@PJL ENTER LANGUAGE = X";
//   pdl_data        at the first byte that starts neither a UEL nor a PJL line
//                   (a printer switches language automatically then);
//   no_pjl          the same, before any UEL or PJL line: no PJL at all;
//   line_too_long   a PJL line over max_line bytes (binary data, or abuse);
//   scan_limit      max_scan_bytes seen without any of the above;
//   end_of_stream   finish() called first.
// What was found before the end is kept in every case.
//
// Values: a quoted string ("..." up to the next quote or the line end) or one
// token. Keywords and variable names are case-insensitive, lines end in LF with
// an optional CR, `SET LPARM : PCL X = Y` style modifiers are skipped. The first
// occurrence of each field wins. Text is UTF-8 as sent when valid (or when the job
// said SET STRINGCODESET=UTF8), else ISO-8859-1 (the ANSI code page of Western
// Windows drivers, close enough), then text::sanitize_name: no control
// characters, at most 255 bytes; an empty result is no value.
//
// Where owner and title come from, as drivers write them:
//   CUPS PPDs (HP, cups-filters):  JOB NAME = "t" DISPLAY = "..."; SET USERNAME = "u"
//   HP drivers on Windows:         SET JOBATTR="JobAcct1=u" (account name, as cased
//                                  by Windows), SET USERNAME="U" (panel display,
//                                  may be upper-cased or cut), COMMENT "Username: u;
//                                  App Filename: t; date", JOB NAME="t"
//   HP manual, Sharp, Toshiba:     SET USERNAME = "u", SET JOBNAME = "t"
//   Ricoh:                         SET HOSTLOGINNAME="u", SET USERID="hh:mm u"
//                                  (locked print id), SET JOBNAME="t"
//   Xerox, Fuji Xerox, Samsung:    SET JOBATTR="@JOAU=u"
//   Lexmark:                       LJOBINFO USERID="u" HOSTID="h"
//   foo2zjs-style filters:         COMMENT USERNAME="Username: u", COMMENT DOCNAME="t"
//   others:                        COMMENT "username=u"
// owner() and title() pick by the order documented on them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace pg::pjl {

// UEL: ESC % - 1 2 3 4 5 X.
inline constexpr std::string_view uel_sequence = "\x1b%-12345X";

struct ScanLimits {
    std::size_t max_scan_bytes = 64 * 1024;  // stop looking after this many bytes
    std::size_t max_line = 1024;             // longest PJL line, "@PJL" and LF excluded
};

enum class ScanStatus : std::uint8_t { need_more, done };

enum class StopReason : std::uint8_t {
    none,  // still scanning
    enter_language,
    pdl_data,
    no_pjl,
    line_too_long,
    scan_limit,
    end_of_stream,
};

// What the header said. Every string is sanitised (see above) and non-empty.
struct Header {
    bool uel = false;            // a UEL was seen
    std::size_t pjl_lines = 0;   // "@PJL" lines seen
    bool utf8 = false;           // SET STRINGCODESET = UTF8
    std::optional<std::string> language;  // ENTER LANGUAGE value, upper-cased ASCII

    std::optional<std::string> job_name;         // JOB NAME =
    std::optional<std::string> set_jobname;      // SET JOBNAME =
    std::optional<std::string> comment_title;    // COMMENT DOCNAME=/DNAME=, "App Filename: t"
    std::optional<std::string> job_acct_user;    // SET JOBATTR = "JobAcct1=u"
    std::optional<std::string> username;         // SET USERNAME =
    std::optional<std::string> host_login_name;  // SET HOSTLOGINNAME =
    std::optional<std::string> joau_user;        // SET JOBATTR = "@JOAU=u"
    std::optional<std::string> ljobinfo_user;    // LJOBINFO USERID =
    std::optional<std::string> comment_user;     // COMMENT USERNAME=, "Username: u", "username=u"
    std::optional<std::string> user_id;          // SET USERID =

    // The first present of: job_acct_user, username, host_login_name, joau_user,
    // ljobinfo_user, comment_user, user_id. JobAcct1 first because USERNAME is
    // meant for the control panel and HP's Windows drivers upper-case it; USERID
    // last because Ricoh prefixes it with the time.
    std::optional<std::string_view> owner() const;
    // The first present of: job_name, set_jobname, comment_title.
    std::optional<std::string_view> title() const;
};

// Incremental PJL header scanner. Feed it the first bytes of a job in pieces of
// any size (0 included) until it says done, or call finish() at the end of the
// stream. It reads at most max_scan_bytes. Not thread-safe; one per stream
// (reset() reuses it).
class HeaderScanner {
public:
    explicit HeaderScanner(ScanLimits limits = {});

    // Reads `bytes` (never more than needed to decide). Once done, reads nothing
    // and returns done.
    ScanStatus feed(std::span<const std::byte> bytes);
    ScanStatus feed(std::string_view bytes) {
        return feed(std::as_bytes(std::span(bytes.data(), bytes.size())));
    }
    // The stream ended: done, with end_of_stream unless already decided.
    ScanStatus finish();

    void reset();

    bool is_done() const { return reason_ != StopReason::none; }
    StopReason reason() const { return reason_; }
    const Header& header() const { return header_; }
    // Bytes read so far.
    std::size_t scanned() const { return offset_; }
    // Bytes of the stream that are UEL and PJL: after enter_language, the offset of
    // the first PDL byte; otherwise the end of the last complete UEL or PJL line
    // (0 for no_pjl). Meaningful once done.
    std::size_t header_size() const { return header_size_; }

    const ScanLimits& limits() const { return limits_; }

private:
    enum class State : std::uint8_t {
        lead,    // start of stream or line: blanks, UEL or "@PJL"
        uel,     // inside a UEL
        prefix,  // inside "@PJL"
        body,    // the rest of a PJL line, up to LF
    };

    void stop(StopReason reason);
    void on_line();
    void on_set(std::string_view line);
    void on_comment(std::string_view body);
    // Sets `field` to text(raw) unless it is set already or the text is empty.
    void set_first(std::optional<std::string>& field, std::string_view raw);
    std::string text(std::string_view raw) const;

    ScanLimits limits_;
    Header header_;
    StopReason reason_ = StopReason::none;
    State state_ = State::lead;
    std::size_t match_ = 0;        // bytes of the UEL or "@PJL" matched
    std::size_t offset_ = 0;       // bytes read
    std::size_t good_end_ = 0;     // end of the last complete UEL or PJL line
    std::size_t header_size_ = 0;
    std::string line_;             // current PJL line after "@PJL", at most max_line
};

}  // namespace pg::pjl
