// SPDX-License-Identifier: Apache-2.0
// lpq-style queue state answers (see reply.hpp).
#include "protocols/lpd/reply.hpp"

#include "protocols/text/sanitize.hpp"

namespace pg::lpd {

namespace {

constexpr std::size_t kRankWidth = 7;
constexpr std::size_t kOwnerWidth = 10;
constexpr std::size_t kJobWidth = 7;
constexpr std::size_t kFileWidth = 31;
constexpr std::size_t kLongRankWidth = 33;
constexpr std::size_t kLongTitleWidth = 40;

bool is_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

enum class Fit : bool { cut, widen };

// Appends `text` (valid UTF-8), then spaces up to `width` code points, then one
// space. Longer text is cut to `width` code points (names), or kept whole
// (numbers and ranks, which must stay exact) and the line is wider.
void column(std::string& out, std::string_view text, std::size_t width, Fit fit = Fit::cut) {
    std::size_t points = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t next = i + 1;
        while (next < text.size() && is_continuation(text[next])) ++next;
        if (points == width && fit == Fit::cut) break;
        out.append(text.substr(i, next - i));
        ++points;
        i = next;
    }
    out.append(points < width ? width - points + 1 : 1, ' ');
}

std::string shown_title(const QueueEntry& e) {
    std::string t = text::sanitize_name(e.title);
    return t.empty() ? std::string("untitled") : t;
}

std::string status_line(std::string_view queue, QueueStatus status) {
    std::string line = text::sanitize_name(queue);
    switch (status) {
        case QueueStatus::ready: line += " is ready\n"; break;
        case QueueStatus::printing: line += " is ready and printing\n"; break;
        case QueueStatus::stopped: line += " is not ready\n"; break;
    }
    return line;
}

}  // namespace

std::string ordinal(std::uint64_t n) {
    const char* suffix = "th";
    const std::uint64_t tens = n % 100;
    if (tens < 11 || tens > 13) {
        switch (n % 10) {
            case 1: suffix = "st"; break;
            case 2: suffix = "nd"; break;
            case 3: suffix = "rd"; break;
            default: break;
        }
    }
    return std::to_string(n) + suffix;
}

std::string format_queue_state(std::string_view queue, QueueStatus status, std::span<const QueueEntry> entries,
                               bool long_format) {
    std::string out = status_line(queue, status);
    if (entries.empty()) {
        out += "no entries\n";
        return out;
    }
    if (!long_format) {
        column(out, "Rank", kRankWidth);
        column(out, "Owner", kOwnerWidth);
        column(out, "Job", kJobWidth);
        column(out, "File(s)", kFileWidth);
        out += "Total Size\n";
    }

    std::uint64_t rank = 0;
    for (const QueueEntry& e : entries) {
        const std::string rank_text = e.active ? std::string("active") : ordinal(++rank);
        const std::string owner = text::sanitize_name(e.owner);
        std::string title = shown_title(e);
        const std::string size = std::to_string(e.size) + " bytes\n";

        if (!long_format) {
            column(out, rank_text, kRankWidth, Fit::widen);
            column(out, owner, kOwnerWidth);
            column(out, std::to_string(e.job_id), kJobWidth, Fit::widen);
            column(out, title, kFileWidth);
            out += size;
            continue;
        }

        out += '\n';
        out += owner;
        out += ": ";
        column(out, rank_text, kLongRankWidth, Fit::widen);
        out += "[job " + std::to_string(e.job_id);
        const std::string host = text::sanitize_name(e.host);
        if (!host.empty()) out += " " + host;
        out += "]\n";
        if (e.copies > 1) title = std::to_string(e.copies) + " copies of " + title;
        out.append(8, ' ');
        column(out, title, kLongTitleWidth);
        out += size;
    }
    return out;
}

bool selects(std::span<const Operand> operands, std::string_view owner, std::uint32_t job_id) {
    if (operands.empty()) return true;
    for (const Operand& op : operands) {
        switch (op.kind) {
            case Operand::Kind::all: return true;
            case Operand::Kind::job_number:
                if (op.job_number == job_id) return true;
                break;
            case Operand::Kind::user:
                if (op.user == owner) return true;
                break;
        }
    }
    return false;
}

}  // namespace pg::lpd
