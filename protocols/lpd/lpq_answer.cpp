// SPDX-License-Identifier: Apache-2.0
// Queue state answers read back (see lpq_answer.hpp for the layouts).
#include "protocols/lpd/lpq_answer.hpp"

namespace pg::lpd {

namespace {

constexpr std::string_view kNoEntries = "no entries";
constexpr std::string_view kBytes = " bytes";
constexpr std::size_t kMaxSizeDigits = 15;    // < 10^15 bytes: no overflow, far beyond any job
constexpr std::size_t kMaxNumberDigits = 9;   // job numbers: RFC 1179 has 3, cupsd ids fit 9
constexpr std::uint32_t kMaxCopies = 9999;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view trim(std::string_view s) {
    s = trim_right(s);
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    return s;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_digit(c)) return false;
    return true;
}

std::uint64_t to_number(std::string_view digits) {
    std::uint64_t v = 0;
    for (char c : digits) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    return v;
}

// "active", or an English ordinal as BSD lpd and cups-lpd print them.
bool is_rank(std::string_view s) {
    if (s == "active") return true;
    std::size_t i = 0;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == 0 || i > kMaxNumberDigits) return false;
    const std::string_view suffix = s.substr(i);
    return suffix == "st" || suffix == "nd" || suffix == "rd" || suffix == "th";
}

// One line of the answer and where it starts.
struct Line {
    std::string_view text;
    std::size_t offset = 0;
    std::size_t number = 0;
};

class Parser {
public:
    Parser(AnswerForm form, const ListingLimits& limits) : form_(form), limits_(limits) {}

    std::optional<ParseError> line(const Line& l) {
        line_ = l;
        for (char c : l.text) {
            const auto u = static_cast<unsigned char>(c);
            if ((u < 0x20 && c != '\t') || u == 0x7F) return fail(errc::bad_answer, "control character in a line");
        }
        if (trim(l.text).empty()) return std::nullopt;
        return form_ == AnswerForm::long_form ? long_line(l.text) : short_line(l.text);
    }

    QueueListing take() { return std::move(out_); }

private:
    ParseError fail(errc code, std::string message) const {
        return ParseError{make_error_code(code), line_.offset, line_.number, std::move(message)};
    }

    std::optional<ParseError> no_entries() {
        if (!out_.jobs.empty()) return fail(errc::bad_answer, "\"no entries\" after a job");
        out_.says_no_entries = true;
        return std::nullopt;
    }

    std::optional<ParseError> status(std::string_view text) {
        if (!out_.jobs.empty() || out_.has_header || out_.says_no_entries)
            return fail(errc::bad_answer, "an unrecognised line among the jobs");
        if (out_.status.size() >= limits_.max_status_lines)
            return fail(errc::too_many_lines, "more than " + std::to_string(limits_.max_status_lines) +
                                                  " status lines");
        out_.status.emplace_back(trim_right(text));
        return std::nullopt;
    }

    std::optional<ParseError> add_job(ListedJob job) {
        if (out_.says_no_entries) return fail(errc::bad_answer, "a job after \"no entries\"");
        if (out_.jobs.size() >= limits_.max_jobs)
            return fail(errc::too_many_jobs, "more than " + std::to_string(limits_.max_jobs) + " jobs");
        out_.jobs.push_back(std::move(job));
        return std::nullopt;
    }

    // "NAME N bytes", "NAME ??? bytes", "N copies of NAME N bytes" (the text after
    // the indent of a long-form file line, or after the job column of a short one).
    std::optional<ListedFile> file_text(std::string_view body) const {
        body = trim_right(body);
        if (body.size() < kBytes.size() || body.substr(body.size() - kBytes.size()) != kBytes) return std::nullopt;
        body.remove_suffix(kBytes.size());
        const std::size_t space = body.find_last_of(" \t");
        const std::string_view size = space == std::string_view::npos ? body : body.substr(space + 1);
        ListedFile f;
        if (size == "???") {
            f.bytes = std::nullopt;
        } else if (all_digits(size) && size.size() <= kMaxSizeDigits) {
            f.bytes = to_number(size);
        } else {
            return std::nullopt;
        }
        std::string_view name = space == std::string_view::npos ? std::string_view{} : trim_right(body.substr(0, space));
        // "2 copies of NAME" (cups-lpd) or "2  copies of NAME" (BSD's "%-2d copies of").
        std::size_t digits = 0;
        while (digits < name.size() && is_digit(name[digits])) ++digits;
        if (digits > 0 && digits <= 4) {
            std::size_t after = digits;
            while (after < name.size() && name[after] == ' ') ++after;
            constexpr std::string_view kCopiesOf = "copies of ";
            if (after > digits && name.substr(after, kCopiesOf.size()) == kCopiesOf) {
                const auto copies = static_cast<std::uint32_t>(to_number(name.substr(0, digits)));
                if (copies >= 1 && copies <= kMaxCopies) {
                    f.copies = copies;
                    name = name.substr(after + kCopiesOf.size());
                }
            }
        }
        f.name = std::string(name);
        return f;
    }

    // "OWNER: RANK   [job NUMBER HOST]" (cups-lpd, printgate) or
    // "OWNER: RANK   [job NNNHOST]" (BSD: the §6.2 digits glued to the host).
    std::optional<ListedJob> job_header(std::string_view text) const {
        text = trim_right(text);
        if (text.empty() || text.back() != ']') return std::nullopt;
        const std::size_t open = text.rfind("[job ");
        if (open == std::string_view::npos || open == 0 || !is_blank(text[open - 1])) return std::nullopt;
        std::string_view inside = text.substr(open + 5, text.size() - open - 6);
        std::size_t digits = 0;
        while (digits < inside.size() && is_digit(inside[digits])) ++digits;
        if (digits == 0) return std::nullopt;
        ListedJob job;
        std::size_t number_len = digits;
        if (digits < inside.size() && inside[digits] != ' ' && digits > 3) number_len = 3;  // BSD: host starts with digits
        if (number_len > kMaxNumberDigits) return std::nullopt;
        job.number = to_number(inside.substr(0, number_len));
        job.host = std::string(trim(inside.substr(number_len)));
        const std::string_view left = trim_right(text.substr(0, open));
        const std::size_t space = left.find_last_of(" \t");
        if (space == std::string_view::npos) return std::nullopt;
        const std::string_view rank = left.substr(space + 1);
        const std::string_view owner_part = trim_right(left.substr(0, space));
        if (!is_rank(rank) || owner_part.size() < 2 || owner_part.back() != ':') return std::nullopt;
        job.rank = std::string(rank);
        job.owner = std::string(owner_part.substr(0, owner_part.size() - 1));
        return job;
    }

    std::optional<ParseError> long_line(std::string_view text) {
        if (trim(text) == kNoEntries) return no_entries();
        if (is_blank(text.front())) {
            // A file of the job above: a TAB (BSD) or eight spaces (cups-lpd, printgate).
            std::string_view body;
            if (text.front() == '\t') body = text.substr(1);
            else if (text.substr(0, 8) == "        ") body = text.substr(8);
            auto f = body.empty() ? std::nullopt : file_text(body);
            if (out_.jobs.empty()) {
                if (f) return fail(errc::bad_answer, "a file line before any job");
                return status(text);
            }
            if (!f) return fail(errc::bad_answer, "a malformed file line");
            auto& files = out_.jobs.back().files;
            if (files.size() >= limits_.max_files_per_job)
                return fail(errc::too_many_jobs,
                            "a job with more than " + std::to_string(limits_.max_files_per_job) + " files");
            files.push_back(std::move(*f));
            return std::nullopt;
        }
        if (auto job = job_header(text)) return add_job(std::move(*job));
        return status(text);
    }

    // "RANK OWNER NUMBER FILE(S) N bytes": blank-separated columns, the file
    // column keeping its inner blanks.
    std::optional<ListedJob> short_entry(std::string_view text) const {
        std::string_view rest = trim(text);
        auto token = [&rest]() {
            const std::size_t end = rest.find_first_of(" \t");
            const std::string_view t = rest.substr(0, end);
            rest = end == std::string_view::npos ? std::string_view{} : trim(rest.substr(end));
            return t;
        };
        const std::string_view rank = token();
        const std::string_view owner = token();
        const std::string_view number = token();
        if (!is_rank(rank) || owner.empty() || !all_digits(number) || number.size() > kMaxNumberDigits)
            return std::nullopt;
        auto f = file_text(" " + std::string(rest));
        if (!f) return std::nullopt;
        f->name = std::string(trim(f->name));
        ListedJob job;
        job.rank = std::string(rank);
        job.owner = std::string(owner);
        job.number = to_number(number);
        job.files.push_back(std::move(*f));
        return job;
    }

    std::optional<ParseError> short_line(std::string_view text) {
        const std::string_view t = trim(text);
        if (t == kNoEntries) return no_entries();
        if (t.substr(0, 4) == "Rank" && t.find("Owner") != std::string_view::npos &&
            t.find("Job") != std::string_view::npos) {
            if (out_.has_header || !out_.jobs.empty() || out_.says_no_entries)
                return fail(errc::bad_answer, "a second header line");
            out_.has_header = true;
            return std::nullopt;
        }
        if (auto job = short_entry(text)) {
            if (!out_.has_header) return fail(errc::bad_answer, "a job line before the header");
            return add_job(std::move(*job));
        }
        return status(text);
    }

    AnswerForm form_;
    const ListingLimits& limits_;
    QueueListing out_;
    Line line_;
};

}  // namespace

std::optional<std::uint64_t> ListedJob::total_bytes() const {
    if (files.empty()) return std::nullopt;
    std::uint64_t sum = 0;
    for (const auto& f : files) {
        if (!f.bytes) return std::nullopt;
        sum += *f.bytes;  // at most 64 files of < 10^15 bytes: no overflow
    }
    return sum;
}

ParseResult<QueueListing> parse_queue_listing(std::string_view answer, AnswerForm form, const ListingLimits& limits) {
    if (answer.size() > limits.max_bytes)
        return ParseError{make_error_code(errc::answer_too_large), limits.max_bytes, 0,
                          "answer longer than " + std::to_string(limits.max_bytes) + " bytes"};
    Parser p(form, limits);
    std::size_t offset = 0;
    std::size_t number = 0;
    while (offset < answer.size()) {
        const std::size_t end = answer.find('\n', offset);
        std::string_view text = answer.substr(offset, end == std::string_view::npos ? std::string_view::npos : end - offset);
        ++number;
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        if (text.size() > limits.max_line)
            return ParseError{make_error_code(errc::line_too_long), offset, number,
                              "line longer than " + std::to_string(limits.max_line) + " bytes"};
        if (auto err = p.line(Line{text, offset, number})) return *err;
        if (end == std::string_view::npos) break;
        offset = end + 1;
    }
    return p.take();
}

}  // namespace pg::lpd
