// SPDX-License-Identifier: Apache-2.0
// RFC 1179 §7 control file writer and §6.2 spool names (see control_writer.hpp).
#include "protocols/lpd/control_writer.hpp"

#include <algorithm>

#include "protocols/text/sanitize.hpp"

namespace pg::lpd {

namespace {

constexpr std::uint32_t kMaxNineDigits = 999'999'999;
constexpr std::string_view kSpoolLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
static_assert(kSpoolLetters.size() == max_spool_letters);

ParseError make_error(errc code, std::size_t line, std::string message) {
    return ParseError{make_error_code(code), 0, line, std::move(message)};
}

class Writer {
public:
    explicit Writer(const WriteLimits& limits) : limits_(limits) {}

    // A text line: sanitised, cut to `max` (and to what the receiver takes), left
    // out when nothing is left. Text lines cannot break a limit but the count.
    void text(char letter, const std::optional<std::string>& value, std::size_t max) {
        if (!value) return;
        const std::size_t room = limits_.receiver.max_line > 0 ? limits_.receiver.max_line - 1 : 0;
        const std::string clean = text::sanitize_name(*value, std::min({max, room, text::max_name_bytes}));
        if (clean.empty()) return;
        put(letter, clean);
    }

    void number(char letter, const std::optional<std::uint32_t>& value) {
        if (!value) return;
        if (*value > kMaxNineDigits) {
            fail(errc::bad_line, std::string("the ") + letter + " value has more than 9 digits");
            return;
        }
        put(letter, std::to_string(*value));
    }

    void file_name(char letter, std::string_view name) {
        if (!is_valid_file_name(name)) {
            fail(errc::bad_file_name, std::string("the ") + letter + " line names an invalid data file");
            return;
        }
        if (1 + name.size() > limits_.receiver.max_line) {
            fail(errc::line_too_long, std::string("the ") + letter + " line is longer than the receiver's limit");
            return;
        }
        put(letter, name);
    }

    void fail(errc code, std::string message) {
        if (!error_) error_ = make_error(code, lines_ + 1, std::move(message));
    }

    ParseResult<std::string> finish() {
        if (error_) return std::move(*error_);
        if (lines_ > limits_.receiver.max_lines)
            return make_error(errc::too_many_lines, limits_.receiver.max_lines + 1,
                              std::to_string(lines_) + " lines, the receiver takes " +
                                  std::to_string(limits_.receiver.max_lines));
        if (out_.size() > limits_.receiver.max_bytes)
            return make_error(errc::control_file_too_large, 0,
                              std::to_string(out_.size()) + " bytes, the receiver takes " +
                                  std::to_string(limits_.receiver.max_bytes));
        return std::move(out_);
    }

    bool failed() const { return error_.has_value() || lines_ > limits_.receiver.max_lines; }

private:
    void put(char letter, std::string_view operand) {
        ++lines_;
        if (lines_ > limits_.receiver.max_lines) return;  // reported by finish(); stop growing
        out_ += letter;
        out_ += operand;
        out_ += '\n';
    }

    const WriteLimits& limits_;
    std::string out_;
    std::size_t lines_ = 0;
    std::optional<ParseError> error_;
};

}  // namespace

ParseResult<std::string> write_control_file(const ControlFile& job, const WriteLimits& limits) {
    if (job.files.empty()) return make_error(errc::no_print_file, 0, "the job has no data file to print");
    if (job.files.size() > limits.receiver.max_data_files)
        return make_error(errc::too_many_files, 0,
                          std::to_string(job.files.size()) + " data files, the receiver takes " +
                              std::to_string(limits.receiver.max_data_files));
    for (std::size_t i = 0; i < job.files.size(); ++i) {
        const PrintFile& f = job.files[i];
        if (f.copies == 0) return make_error(errc::bad_line, 0, "a data file with 0 copies");
        if (!is_print_letter(f.format)) return make_error(errc::bad_line, 0, "a data file without a print letter");
        for (std::size_t k = 0; k < i; ++k) {
            // The parser would add the two as copies of one file (or refuse them).
            if (job.files[k].name == f.name) return make_error(errc::bad_line, 0, "the same data file twice");
        }
        // Copies are lines: refuse before writing millions of them.
        if (f.copies > limits.receiver.max_lines)
            return make_error(errc::too_many_lines, limits.receiver.max_lines + 1,
                              "more copies than the receiver takes lines");
    }

    Writer w(limits);
    w.text('H', job.host, limits.max_host);
    w.text('P', job.user, limits.max_user);
    w.text('J', job.job_name, limits.max_job_name);
    w.text('C', job.banner_class, limits.max_class);
    w.text('L', job.banner_user, limits.max_user);
    w.text('T', job.title, limits.max_title);
    w.number('I', job.indent);
    w.number('W', job.width);
    w.text('M', job.mail_user, limits.max_user);
    for (std::size_t i = 0; i < job.fonts.size(); ++i)
        w.text(static_cast<char>('1' + i), job.fonts[i], limits.max_source_name);

    // U lines go right after their file's print lines while they follow the
    // files' order (CUPS's shape); the rest after the last file, in job order.
    std::size_t next_unlink = 0;
    for (const PrintFile& f : job.files) {
        for (std::uint32_t c = 0; c < f.copies && !w.failed(); ++c) w.file_name(f.format, f.name);
        while (next_unlink < job.unlink.size() && job.unlink[next_unlink] == f.name) {
            w.file_name('U', job.unlink[next_unlink]);
            ++next_unlink;
        }
        w.text('N', f.source_name, limits.max_source_name);
    }
    for (; next_unlink < job.unlink.size(); ++next_unlink) w.file_name('U', job.unlink[next_unlink]);
    return w.finish();
}

std::string spool_host(std::string_view host_name, std::size_t max_bytes) {
    std::string out;
    for (char c : host_name) {
        if (out.size() >= max_bytes) break;
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '-' || c == '_';
        out += keep ? c : '_';
    }
    if (out.empty()) out = std::string("localhost").substr(0, std::max<std::size_t>(max_bytes, 1));
    return out;
}

ParseResult<std::string> spool_file_name(bool control, std::size_t index, unsigned number, std::string_view host) {
    if (index >= max_spool_letters)
        return make_error(errc::too_many_files, 0, "more data files than spool name letters (52)");
    std::string name = control ? "cf" : "df";
    name += kSpoolLetters[index];
    const unsigned n = number % 1000;
    name += static_cast<char>('0' + n / 100);
    name += static_cast<char>('0' + n / 10 % 10);
    name += static_cast<char>('0' + n % 10);
    name += host;
    if (!is_valid_file_name(name)) return make_error(errc::bad_file_name, 0, "the host makes an invalid file name");
    return name;
}

}  // namespace pg::lpd
