// SPDX-License-Identifier: Apache-2.0
// pg.lpd error category, file name rules and text decoding (see lpd.hpp).
#include "protocols/lpd/lpd.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include "protocols/text/sanitize.hpp"

namespace pg::lpd {

namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.lpd"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::empty_line: return "empty LPD command line";
            case errc::line_too_long: return "LPD line too long";
            case errc::unknown_command: return "unknown LPD command";
            case errc::bad_queue: return "invalid LPD queue name";
            case errc::bad_operand: return "invalid LPD user name or job number";
            case errc::too_many_operands: return "too many LPD operands";
            case errc::missing_agent: return "LPD remove-jobs command without an agent";
            case errc::bad_count: return "invalid LPD file byte count";
            case errc::count_too_large: return "LPD file larger than allowed";
            case errc::bad_file_name: return "invalid LPD file name";
            case errc::control_file_too_large: return "LPD control file too large";
            case errc::too_many_lines: return "LPD control file has too many lines";
            case errc::bad_line: return "invalid LPD control file line";
            case errc::too_many_files: return "LPD control file names too many data files";
            case errc::no_print_file: return "LPD control file prints nothing";
            case errc::answer_too_large: return "LPD queue state answer too large";
            case errc::too_many_jobs: return "LPD queue state answer lists too many jobs";
            case errc::bad_answer: return "unrecognised LPD queue state answer";
        }
        return "unknown pg.lpd error";
    }
};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_letter(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category instance;
    return instance;
}

void throw_exception_from_error(const ParseError& e, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(e.code, e.message), loc);
}

bool is_valid_file_name(std::string_view name) {
    if (name.empty() || name.size() > max_file_name) return false;
    for (char c : name) {
        if (c == ' ' || c == '/') return false;
    }
    // Valid UTF-8 without any control character is exactly what sanitize_name
    // leaves untouched (ill-formed bytes would become U+FFFD, controls vanish).
    return text::sanitize_name(name, max_file_name) == name;
}

std::optional<SpoolName> parse_spool_name(std::string_view name) {
    if (name.size() < 4) return std::nullopt;
    SpoolName out;
    if (name.substr(0, 2) == "cf") {
        out.control = true;
    } else if (name.substr(0, 2) != "df") {
        return std::nullopt;
    }
    if (!is_letter(name[2])) return std::nullopt;
    out.letter = name[2];
    std::size_t end = 3;
    while (end < name.size() && is_digit(name[end])) ++end;
    const std::size_t digits = end - 3;
    if (digits == 0 || digits > 9) return std::nullopt;
    out.number = name.substr(3, digits);
    out.host = name.substr(end);
    return out;
}

std::string decode_text(std::string_view raw, std::size_t max_bytes) {
    return text::sanitize_legacy_name(raw, max_bytes);
}

}  // namespace pg::lpd
