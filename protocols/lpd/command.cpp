// SPDX-License-Identifier: Apache-2.0
// RFC 1179 §5 daemon commands and §6 receive-job subcommands (see command.hpp).
#include "protocols/lpd/command.hpp"

#include <limits>

#include "protocols/text/sanitize.hpp"

namespace pg::lpd {

namespace {

constexpr std::size_t kMaxOperandBytes = 255;

ParseError make_error(errc code, std::size_t offset, std::string message) {
    return ParseError{make_error_code(code), offset, 0, std::move(message)};
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool has_control(std::string_view s) {
    for (char c : s) {
        const auto b = static_cast<unsigned char>(c);
        if (b < 0x20 || b == 0x7F) return true;
    }
    return false;
}

// The line without the LF the caller may have left and the CR of a CRLF client.
std::string_view strip_line_end(std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

std::string hex_byte(unsigned char b) {
    static constexpr char digits[] = "0123456789ABCDEF";
    return std::string("0x") + digits[b >> 4] + digits[b & 0x0F];
}

struct Token {
    std::string_view text;
    std::size_t offset = 0;  // in the line
};

// Splits `line` from `from` on runs of blanks.
std::vector<Token> split_blanks(std::string_view line, std::size_t from) {
    std::vector<Token> tokens;
    std::size_t i = from;
    while (i < line.size()) {
        while (i < line.size() && is_blank(line[i])) ++i;
        if (i >= line.size()) break;
        const std::size_t start = i;
        while (i < line.size() && !is_blank(line[i])) ++i;
        tokens.push_back({line.substr(start, i - start), start});
    }
    return tokens;
}

// Queue names: RFC 1179 only says "queue"; we take UTF-8 without controls so the
// name can be logged and compared with configured names byte for byte.
bool is_valid_queue(std::string_view q) {
    return !q.empty() && q.size() <= max_queue_name && text::is_valid_utf8(q) &&
           text::sanitize_name(q, max_queue_name) == q;
}

ParseResult<Operand> parse_operand(const Token& t) {
    if (t.text.size() > kMaxOperandBytes)
        return make_error(errc::bad_operand, t.offset, "operand longer than 255 bytes");
    if (has_control(t.text))
        return make_error(errc::bad_operand, t.offset, "operand contains control characters");

    bool all_digits = true;
    for (char c : t.text) all_digits = all_digits && is_digit(c);
    Operand op;
    if (all_digits) {
        std::uint64_t value = 0;
        for (char c : t.text) {
            value = value * 10 + static_cast<std::uint64_t>(c - '0');
            if (value > std::numeric_limits<std::uint32_t>::max())
                return make_error(errc::bad_operand, t.offset, "job number out of range");
        }
        op.kind = Operand::Kind::job_number;
        op.job_number = static_cast<std::uint32_t>(value);
        return op;
    }
    if (t.text == "all") {
        op.kind = Operand::Kind::all;
        return op;
    }
    op.kind = Operand::Kind::user;
    op.user = decode_text(t.text, kMaxOperandBytes);
    if (op.user.empty()) return make_error(errc::bad_operand, t.offset, "user name is empty once sanitised");
    return op;
}

}  // namespace

ParseResult<Command> parse_command(std::string_view raw, const CommandLimits& limits) {
    const std::string_view line = strip_line_end(raw);
    if (line.size() > limits.max_line)
        return make_error(errc::line_too_long, limits.max_line, "command line longer than the limit");
    if (line.empty()) return make_error(errc::empty_line, 0, "empty command line");

    const auto code = static_cast<unsigned char>(line[0]);
    if (code < 0x01 || code > 0x05)
        return make_error(errc::unknown_command, 0, "unknown command byte " + hex_byte(code));

    Command cmd;
    cmd.kind = static_cast<CommandKind>(code);

    // RFC 1179 §5: the queue name follows the command byte directly.
    if (line.size() < 2 || is_blank(line[1]))
        return make_error(errc::bad_queue, 1, "missing queue name");
    const std::vector<Token> tokens = split_blanks(line, 1);
    const Token& queue = tokens.front();
    if (!is_valid_queue(queue.text))
        return make_error(errc::bad_queue, queue.offset,
                          queue.text.size() > max_queue_name ? "queue name too long"
                                                             : "queue name not UTF-8 or has control characters");
    cmd.queue = std::string(queue.text);

    std::size_t next = 1;
    switch (cmd.kind) {
        case CommandKind::print_waiting:
        case CommandKind::receive_job:
            if (tokens.size() > 1)
                return make_error(errc::bad_queue, tokens[1].offset, "unexpected text after the queue name");
            return cmd;
        case CommandKind::short_queue_state:
        case CommandKind::long_queue_state:
            break;
        case CommandKind::remove_jobs: {
            if (tokens.size() < 2) return make_error(errc::missing_agent, line.size(), "remove-jobs without an agent");
            const Token& agent = tokens[1];
            if (agent.text.size() > kMaxOperandBytes || has_control(agent.text))
                return make_error(errc::bad_operand, agent.offset, "agent too long or has control characters");
            cmd.agent = decode_text(agent.text, kMaxOperandBytes);
            if (cmd.agent.empty()) return make_error(errc::bad_operand, agent.offset, "agent is empty once sanitised");
            next = 2;
            break;
        }
    }

    if (tokens.size() - next > limits.max_operands)
        return make_error(errc::too_many_operands, tokens[next + limits.max_operands].offset,
                          "more operands than the limit");
    cmd.operands.reserve(tokens.size() - next);
    for (std::size_t i = next; i < tokens.size(); ++i) {
        auto op = parse_operand(tokens[i]);
        if (!op) return op.error();
        cmd.operands.push_back(std::move(*op));
    }
    return cmd;
}

ParseResult<Subcommand> parse_subcommand(std::string_view raw, const SubcommandLimits& limits) {
    const std::string_view line = strip_line_end(raw);
    if (line.size() > limits.max_line)
        return make_error(errc::line_too_long, limits.max_line, "subcommand line longer than the limit");
    if (line.empty()) return make_error(errc::empty_line, 0, "empty subcommand line");

    const auto code = static_cast<unsigned char>(line[0]);
    Subcommand sub;
    switch (code) {
        case 0x01:
            // RFC 1179 §6.1: "\1 LF". Anything after the byte is ignored, as
            // cups-lpd does: the peer wants out either way.
            sub.kind = SubcommandKind::abort;
            return sub;
        case 0x02: sub.kind = SubcommandKind::control_file; break;
        case 0x03: sub.kind = SubcommandKind::data_file; break;
        default: return make_error(errc::unknown_command, 0, "unknown subcommand byte " + hex_byte(code));
    }
    const bool control = sub.kind == SubcommandKind::control_file;
    const char* what = control ? "control file" : "data file";

    // Count: digits right after the command byte (§6.2, §6.3).
    std::size_t i = 1;
    if (i < line.size() && (line[i] == '+' || line[i] == '-'))
        return make_error(errc::bad_count, i, std::string(what) + " count has a sign");
    while (i < line.size() && is_digit(line[i])) ++i;
    if (i == 1) return make_error(errc::bad_count, 1, std::string(what) + " count is not a decimal number");
    if (i < line.size() && !is_blank(line[i]))
        return make_error(errc::bad_count, i, std::string(what) + " count is not a decimal number");

    const std::uint64_t limit = control ? limits.max_control_bytes : limits.max_data_bytes;
    std::uint64_t count = 0;
    bool too_large = false;
    for (std::size_t k = 1; k < i; ++k) {
        const auto digit = static_cast<std::uint64_t>(line[k] - '0');
        if (count > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
            too_large = true;
            break;
        }
        count = count * 10 + digit;
    }
    if (too_large || count > limit) {
        std::string message = std::string(what) + " of ";
        message += too_large ? std::string("more than 2^64") : std::to_string(count);
        message += " bytes declared, limit " + std::to_string(limit);
        return make_error(errc::count_too_large, 1, std::move(message));
    }
    if (count == 0 && control) return make_error(errc::bad_count, 1, "control file count is 0");
    sub.count = count;
    sub.until_eof = count == 0;

    // Name: after the blanks, to the end of the line (trailing blanks dropped).
    while (i < line.size() && is_blank(line[i])) ++i;
    std::size_t end = line.size();
    while (end > i && is_blank(line[end - 1])) --end;
    const std::string_view name = line.substr(i, end - i);
    if (name.empty()) return make_error(errc::bad_file_name, i, std::string(what) + " name missing");
    if (!is_valid_file_name(name))
        return make_error(errc::bad_file_name, i,
                          std::string(what) + " name too long, or with blanks, '/' or control characters");
    sub.name = std::string(name);
    return sub;
}

}  // namespace pg::lpd
