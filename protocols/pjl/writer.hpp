// SPDX-License-Identifier: Apache-2.0
// PJL job wrapper writer: the header and trailer printgate puts around a document
// it sends to a 9100 printer or an LPD printer with ?pjl=on.
//
// Owns: JobSettings, write_header, write_trailer. Must not: do I/O, look at the
// document, or decide what a printer supports (the gateway fills JobSettings).
//
// What it writes (HP PJL Technical Reference, ch. 6 "Job Separation" and the
// environment variables of ch. 7):
//
//   UEL @PJL JOB NAME = "title" CRLF
//   @PJL SET USERNAME = "owner" CRLF
//   @PJL SET COPIES = n CRLF                     (n > 1 only)
//   @PJL SET DUPLEX = ON CRLF @PJL SET BINDING = LONGEDGE | SHORTEDGE CRLF
//   @PJL SET DUPLEX = OFF CRLF                   (one-sided asked for)
//   @PJL SET RENDERMODE = GRAYSCALE CRLF         (monochrome asked for)
//   ...document...
//   UEL @PJL EOJ CRLF UEL
//
// Strings are cut to 80 bytes, with control characters dropped and '"' (which
// ends a PJL string) replaced by '\''. Nothing is written for a setting left
// unset: the printer's default applies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pg::pjl {

enum class Duplex : std::uint8_t { one_sided, long_edge, short_edge };

struct JobSettings {
    std::string job_name;
    std::string user;
    std::optional<std::int32_t> copies;  // 1..999 written when > 1; outside, nothing
    std::optional<Duplex> duplex;
    bool grayscale = false;
};

std::string write_header(const JobSettings& s);
std::string write_trailer();

// JobSettings' values from IPP keywords (RFC 8011 §5.2.8 sides, PWG 5100.13
// print-color-mode): one-sided / two-sided-long-edge / two-sided-short-edge, and
// monochrome / process-monochrome / auto-monochrome. Other values: nullopt / false.
std::optional<Duplex> duplex_from_sides(std::string_view sides);
bool grayscale_from_color_mode(std::string_view mode);

}  // namespace pg::pjl
