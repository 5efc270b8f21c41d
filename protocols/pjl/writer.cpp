// SPDX-License-Identifier: Apache-2.0
// PJL job wrapper writer. See writer.hpp.
#include "protocols/pjl/writer.hpp"

#include "protocols/pjl/pjl.hpp"

namespace pg::pjl {

namespace {

std::string quoted(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (out.size() == 80) break;
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) continue;
        out += c == '"' ? '\'' : c;
    }
    return out;
}

}  // namespace

std::string write_header(const JobSettings& s) {
    std::string out(uel_sequence);
    out += "@PJL JOB NAME=\"" + quoted(s.job_name) + "\"\r\n";
    out += "@PJL SET USERNAME=\"" + quoted(s.user) + "\"\r\n";
    if (s.copies && *s.copies > 1 && *s.copies <= 999) out += "@PJL SET COPIES=" + std::to_string(*s.copies) + "\r\n";
    if (s.duplex) {
        if (*s.duplex == Duplex::one_sided) {
            out += "@PJL SET DUPLEX=OFF\r\n";
        } else {
            out += "@PJL SET DUPLEX=ON\r\n";
            out += *s.duplex == Duplex::long_edge ? "@PJL SET BINDING=LONGEDGE\r\n" : "@PJL SET BINDING=SHORTEDGE\r\n";
        }
    }
    if (s.grayscale) out += "@PJL SET RENDERMODE=GRAYSCALE\r\n";
    return out;
}

std::string write_trailer() { return std::string(uel_sequence) + "@PJL EOJ\r\n" + std::string(uel_sequence); }

std::optional<Duplex> duplex_from_sides(std::string_view sides) {
    if (sides == "one-sided") return Duplex::one_sided;
    if (sides == "two-sided-long-edge") return Duplex::long_edge;
    if (sides == "two-sided-short-edge") return Duplex::short_edge;
    return std::nullopt;
}

bool grayscale_from_color_mode(std::string_view mode) {
    return mode == "monochrome" || mode == "process-monochrome" || mode == "auto-monochrome";
}

}  // namespace pg::pjl
