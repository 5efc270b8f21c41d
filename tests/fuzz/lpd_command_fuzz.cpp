// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the LPD daemon command and receive-job subcommand parsers
// (clang-14 libFuzzer; with GCC it links into the corpus-replay test
// fuzz_replay.lpd_command).
//
// Input: one flags byte, then what a peer sends before any file body: lines split
// at LF. The first line is a daemon command, the others receive-job subcommands,
// as a session sees them; every line is also tried as the other kind. The flags
// pick tight or default limits. Checks, besides "no crash, no leak, no UB":
//  * a parsed command has a valid queue, the right operands for its kind, and
//    names without control characters; its operands drive selects() and
//    format_queue_state(), whose answer is valid UTF-8 with one line per entry;
//  * a parsed subcommand respects the count limits, until_eof only for a data
//    file of count 0, a valid file name; parse_spool_name() agrees with it;
//  * a trailing CR never changes the outcome (CRLF clients);
//  * every error has a message and an offset inside (or at the end of) the line.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/lpd/command.hpp"
#include "protocols/lpd/lpd.hpp"
#include "protocols/lpd/reply.hpp"
#include "protocols/text/sanitize.hpp"

namespace {

using namespace pg::lpd;

void check(bool condition) {
    if (!condition) std::abort();
}

void check_name(std::string_view s, std::size_t max) {
    check(!s.empty() && s.size() <= max);
    check(pg::text::is_valid_utf8(s));
    for (unsigned char c : s) check(c >= 0x20 && c != 0x7F);
    check(pg::text::sanitize_name(s, max) == s);
}

template <class T>
void check_error(const ParseResult<T>& r, std::string_view line, std::size_t max_line) {
    check(r.has_error());
    const ParseError& e = r.error();
    check(&e.code.category() == &category());
    check(e.code.value() != 0);
    check(!e.message.empty());
    check(e.line == 0);
    check(e.offset <= std::max(line.size(), max_line));
}

bool same(const ParseResult<Command>& a, const ParseResult<Command>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (a.has_error()) return a.error().code == b.error().code && a.error().offset == b.error().offset;
    return a->kind == b->kind && a->queue == b->queue && a->agent == b->agent && a->operands == b->operands;
}

bool same(const ParseResult<Subcommand>& a, const ParseResult<Subcommand>& b) {
    if (a.has_value() != b.has_value()) return false;
    if (a.has_error()) return a.error().code == b.error().code && a.error().offset == b.error().offset;
    return a->kind == b->kind && a->count == b->count && a->until_eof == b->until_eof && a->name == b->name;
}

void check_command(std::string_view line, const CommandLimits& limits) {
    const auto r = parse_command(line, limits);
    if (!line.empty() && line.back() != '\r' && line.back() != '\n') {
        const std::string crlf = std::string(line) + "\r";
        check(same(r, parse_command(crlf, limits)));
    }
    if (r.has_error()) {
        check_error(r, line, limits.max_line);
        return;
    }
    const Command& c = *r;
    check(static_cast<int>(c.kind) >= 1 && static_cast<int>(c.kind) <= 5);
    check_name(c.queue, max_queue_name);
    check(c.queue.find(' ') == std::string::npos && c.queue.find('\t') == std::string::npos);
    check(c.operands.size() <= limits.max_operands);
    if (c.kind == CommandKind::remove_jobs) {
        check_name(c.agent, 255);
    } else {
        check(c.agent.empty());
    }
    if (c.kind == CommandKind::print_waiting || c.kind == CommandKind::receive_job) check(c.operands.empty());
    for (const Operand& op : c.operands) {
        if (op.kind == Operand::Kind::user) {
            check_name(op.user, 255);
        } else {
            check(op.user.empty());
        }
    }

    // The operands select jobs and shape an answer.
    std::vector<QueueEntry> entries;
    for (const Operand& op : c.operands) {
        QueueEntry e;
        e.owner = op.kind == Operand::Kind::user ? op.user : std::string(line.substr(0, 40));
        e.job_id = op.job_number;
        e.title = std::string(line.substr(line.size() / 2));
        e.size = line.size();
        e.copies = static_cast<std::uint32_t>(entries.size() + 1);
        e.active = entries.empty();
        e.host = c.queue;
        check(selects(c.operands, e.owner, e.job_id));
        entries.push_back(std::move(e));
    }
    const bool long_format = c.kind == CommandKind::long_queue_state;
    const std::string answer = format_queue_state(c.queue, QueueStatus::printing, entries, long_format);
    check(pg::text::is_valid_utf8(answer));
    check(!answer.empty() && answer.back() == '\n');
    const auto lines = static_cast<std::size_t>(std::count(answer.begin(), answer.end(), '\n'));
    if (entries.empty()) {
        check(lines == 2);
    } else {
        check(lines == (long_format ? 1 + 3 * entries.size() : 2 + entries.size()));
    }
}

void check_subcommand(std::string_view line, const SubcommandLimits& limits) {
    const auto r = parse_subcommand(line, limits);
    if (!line.empty() && line.back() != '\r' && line.back() != '\n') {
        const std::string crlf = std::string(line) + "\r";
        check(same(r, parse_subcommand(crlf, limits)));
    }
    if (r.has_error()) {
        check_error(r, line, limits.max_line);
        return;
    }
    const Subcommand& s = *r;
    switch (s.kind) {
        case SubcommandKind::abort:
            check(s.count == 0 && !s.until_eof && s.name.empty());
            return;
        case SubcommandKind::control_file:
            check(s.count >= 1 && s.count <= limits.max_control_bytes);
            check(!s.until_eof);
            break;
        case SubcommandKind::data_file:
            check(s.count <= limits.max_data_bytes);
            check(s.until_eof == (s.count == 0));
            break;
    }
    check(is_valid_file_name(s.name));
    check_name(s.name, max_file_name);
    if (const auto spool = parse_spool_name(s.name)) {
        check(!spool->number.empty() && spool->number.size() <= 9);
        check(s.name.size() == 3 + spool->number.size() + spool->host.size());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t flags = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    CommandLimits command_limits;
    SubcommandLimits sub_limits;
    if (flags & 0x01) {
        command_limits.max_line = 32;
        command_limits.max_operands = 3;
        sub_limits.max_line = 32;
    }
    if (flags & 0x02) {
        sub_limits.max_control_bytes = 100;
        sub_limits.max_data_bytes = 1000;
    }
    if (flags & 0x04) sub_limits.max_data_bytes = UINT64_MAX;

    std::size_t start = 0;
    bool first = true;
    while (start <= input.size()) {
        const std::size_t lf = input.find('\n', start);
        const std::size_t end = lf == std::string_view::npos ? input.size() : lf;
        const std::string_view line = input.substr(start, end - start);
        if (first) {
            check_command(line, command_limits);
        } else {
            check_subcommand(line, sub_limits);
        }
        // Every line as the other kind too.
        if (flags & 0x08) {
            check_subcommand(line, sub_limits);
        } else {
            check_command(line, command_limits);
        }
        first = false;
        if (lf == std::string_view::npos) break;
        start = lf + 1;
    }

    // decode_text on the whole input.
    const std::string text = decode_text(input);
    if (!text.empty()) check_name(text, 255);
    return 0;
}
