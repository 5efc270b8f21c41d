// SPDX-License-Identifier: Apache-2.0
// RFC 1179 §7 control file parser (see control_file.hpp for the rules).
#include "protocols/lpd/control_file.hpp"

#include <limits>

namespace pg::lpd {

namespace {

constexpr std::size_t kMaxIntegerDigits = 9;

// "line 3 ('W'): ..." — the letter only when printable ASCII.
std::string line_message(std::size_t line, char letter, std::string_view why) {
    std::string m = "line " + std::to_string(line);
    const auto b = static_cast<unsigned char>(letter);
    if (b >= 0x21 && b <= 0x7E) {
        m += " ('";
        m += letter;
        m += "')";
    }
    m += ": ";
    m += why;
    return m;
}

ParseError make_error(errc code, std::size_t offset, std::size_t line, std::string message) {
    return ParseError{make_error_code(code), offset, line, std::move(message)};
}

std::optional<std::string> text_field(std::string_view operand) {
    std::string value = decode_text(operand);
    if (value.empty()) return std::nullopt;
    return value;
}

std::optional<std::uint32_t> parse_integer(std::string_view operand) {
    if (operand.empty() || operand.size() > kMaxIntegerDigits) return std::nullopt;
    std::uint32_t value = 0;
    for (char c : operand) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint32_t>(c - '0');
    }
    return value;
}

class Parser {
public:
    explicit Parser(const ControlLimits& limits) : limits_(limits) {}

    // Handles one line (without LF or the CR of CRLF). `offset` is where it starts.
    std::optional<ParseError> line(std::string_view text, std::size_t offset, std::size_t number) {
        if (text.empty()) return std::nullopt;
        const char letter = text[0];
        const std::string_view operand = text.substr(1);
        const std::size_t operand_offset = offset + 1;

        switch (letter) {
            case 'H': job_.host = text_field(operand); break;
            case 'P': job_.user = text_field(operand); break;
            case 'J': job_.job_name = text_field(operand); break;
            case 'C': job_.banner_class = text_field(operand); break;
            case 'L': job_.banner_user = text_field(operand); break;
            case 'T': job_.title = text_field(operand); break;
            case 'M': job_.mail_user = text_field(operand); break;
            case '1':
            case '2':
            case '3':
            case '4': job_.fonts[static_cast<std::size_t>(letter - '1')] = text_field(operand); break;
            case 'I':
            case 'W': {
                const auto value = parse_integer(operand);
                if (!value)
                    return make_error(errc::bad_line, operand_offset, number,
                                      line_message(number, letter, "operand is not a decimal number of 1 to 9 digits"));
                (letter == 'I' ? job_.indent : job_.width) = *value;
                break;
            }
            case 'U':
                if (!is_valid_file_name(operand))
                    return make_error(errc::bad_line, operand_offset, number,
                                      line_message(number, letter, "invalid data file name"));
                job_.unlink.emplace_back(operand);
                break;
            case 'N': return source_name(operand);
            default:
                if (is_print_letter(letter)) return print_line(letter, operand, operand_offset, number);
                ++job_.ignored_lines;
                ignore(letter);
                break;
        }
        return std::nullopt;
    }

    ParseResult<ControlFile> finish(std::size_t size, std::size_t lines) {
        job_.line_count = lines;
        if (job_.files.empty())
            return make_error(errc::no_print_file, size, 0, "control file has no print line");
        return std::move(job_);
    }

private:
    std::optional<ParseError> print_line(char letter, std::string_view operand, std::size_t offset,
                                         std::size_t number) {
        if (!is_valid_file_name(operand))
            return make_error(errc::bad_line, offset, number, line_message(number, letter, "invalid data file name"));
        for (PrintFile& f : job_.files) {
            if (f.name != operand) continue;
            if (f.format != letter)
                return make_error(errc::bad_line, offset, number,
                                  line_message(number, letter, "data file already printed with another format"));
            // Bounded by max_lines, far below 2^32.
            ++f.copies;
            return std::nullopt;
        }
        if (job_.files.size() >= limits_.max_data_files)
            return make_error(errc::too_many_files, offset, number,
                              line_message(number, letter, "more data files than the limit"));
        PrintFile file;
        file.name = std::string(operand);
        file.format = letter;
        if (pending_name_) {
            file.source_name = std::move(pending_name_);
            pending_name_.reset();
        }
        job_.files.push_back(std::move(file));
        return std::nullopt;
    }

    std::optional<ParseError> source_name(std::string_view operand) {
        auto name = text_field(operand);
        if (!name) return std::nullopt;
        if (!job_.source_name) job_.source_name = name;
        // After the print line (CUPS, rlpr): the latest file still without one.
        if (!job_.files.empty() && !job_.files.back().source_name) {
            job_.files.back().source_name = std::move(name);
        } else {
            // Before it (LPRng): keep it for the next new print file.
            pending_name_ = std::move(name);
        }
        return std::nullopt;
    }

    void ignore(char letter) {
        const auto b = static_cast<unsigned char>(letter);
        const char shown = b >= 0x21 && b <= 0x7E ? letter : '?';
        if (job_.ignored_letters.find(shown) == std::string::npos) job_.ignored_letters.push_back(shown);
    }

    const ControlLimits& limits_;
    ControlFile job_;
    std::optional<std::string> pending_name_;
};

}  // namespace

bool is_print_letter(char c) {
    return c != '\0' && print_letters.find(c) != std::string_view::npos;
}

std::string_view ControlFile::display_title() const {
    if (job_name) return *job_name;
    if (source_name) return *source_name;
    if (title) return *title;
    return {};
}

std::uint64_t ControlFile::total_copies() const {
    std::uint64_t total = 0;
    for (const PrintFile& f : files) total += f.copies;
    return total;
}

bool ControlFile::prints(std::string_view name) const {
    for (const PrintFile& f : files) {
        if (f.name == name) return true;
    }
    return false;
}

ParseResult<ControlFile> parse_control_file(std::string_view bytes, const ControlLimits& limits) {
    if (bytes.size() > limits.max_bytes)
        return make_error(errc::control_file_too_large, limits.max_bytes, 0,
                          "control file of " + std::to_string(bytes.size()) + " bytes, limit " +
                              std::to_string(limits.max_bytes));

    Parser parser(limits);
    std::size_t start = 0;
    std::size_t number = 0;
    while (start < bytes.size()) {
        const std::size_t lf = bytes.find('\n', start);
        const std::size_t end = lf == std::string_view::npos ? bytes.size() : lf;
        ++number;
        if (number > limits.max_lines)
            return make_error(errc::too_many_lines, start, number,
                              "line " + std::to_string(number) + ": more lines than the limit of " +
                                  std::to_string(limits.max_lines));
        std::string_view text = bytes.substr(start, end - start);
        if (text.size() > limits.max_line) {
            const char letter = text[0];
            return make_error(errc::line_too_long, start, number,
                              line_message(number, letter,
                                           "line of " + std::to_string(text.size()) + " bytes, limit " +
                                               std::to_string(limits.max_line)));
        }
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (auto error = parser.line(text, start, number)) return std::move(*error);
        start = lf == std::string_view::npos ? bytes.size() : lf + 1;
    }
    return parser.finish(bytes.size(), number);
}

}  // namespace pg::lpd
