// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the LPD control-file parser (clang-14 libFuzzer; with GCC it
// links into the corpus-replay test fuzz_replay.lpd_control).
//
// Input: one flags byte, then the bytes of a control file. The flags pick tight or
// default limits. Checks, besides "no crash, no leak, no UB":
//  * a parsed job keeps the limits, prints at least one valid file name, each
//    file once, with a print letter and at least one copy; every text field is
//    sanitised (valid UTF-8, no controls, 1..255 bytes); the counters add up;
//  * the same file with CRLF line ends parses to the same job (a CRLF client);
//  * an error names a line within the limits and has a message;
//  * the job's files feed format_queue_state, whose answer stays valid UTF-8.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/lpd/control_file.hpp"
#include "tests/fuzz/lpd_fuzz_input.hpp"
#include "protocols/lpd/reply.hpp"
#include "protocols/text/sanitize.hpp"

namespace {

using namespace pg::lpd;

void check(bool condition) {
    if (!condition) std::abort();
}

void check_text(const std::optional<std::string>& s) {
    if (!s) return;
    check(!s->empty() && s->size() <= 255);
    check(pg::text::is_valid_utf8(*s));
    for (unsigned char c : *s) check(c >= 0x20 && c != 0x7F);
    check(pg::text::sanitize_name(*s) == *s);
}

void check_job(const ControlFile& job, std::string_view bytes, const ControlLimits& limits) {
    check(!job.files.empty());
    check(job.files.size() <= limits.max_data_files);
    check(job.line_count >= 1 && job.line_count <= limits.max_lines);
    check(job.ignored_lines <= job.line_count);
    check(job.ignored_letters.size() <= job.ignored_lines);
    std::uint64_t print_lines = 0;
    for (std::size_t i = 0; i < job.files.size(); ++i) {
        const PrintFile& f = job.files[i];
        check(is_valid_file_name(f.name));
        check(is_print_letter(f.format));
        check(f.copies >= 1);
        check_text(f.source_name);
        check(job.prints(f.name));
        for (std::size_t k = 0; k < i; ++k) check(job.files[k].name != f.name);
        print_lines += f.copies;
    }
    check(print_lines == job.total_copies());
    check(print_lines + job.ignored_lines + job.unlink.size() <= job.line_count);
    for (const std::string& u : job.unlink) check(is_valid_file_name(u));
    for (const auto* field : {&job.host, &job.user, &job.job_name, &job.banner_class, &job.banner_user, &job.title,
                              &job.mail_user, &job.source_name}) {
        check_text(*field);
    }
    for (const auto& font : job.fonts) check_text(font);
    const std::string_view title = job.display_title();
    check(title.empty() == (!job.job_name && !job.source_name && !job.title));
    check(title.size() <= 255);
    check(std::count(bytes.begin(), bytes.end(), '\n') + 1 >= static_cast<std::ptrdiff_t>(job.line_count));
}

bool same_job(const ControlFile& a, const ControlFile& b) {
    return a.files == b.files && a.host == b.host && a.user == b.user && a.job_name == b.job_name &&
           a.banner_class == b.banner_class && a.banner_user == b.banner_user && a.title == b.title &&
           a.indent == b.indent && a.width == b.width && a.mail_user == b.mail_user && a.fonts == b.fonts &&
           a.unlink == b.unlink && a.source_name == b.source_name && a.line_count == b.line_count &&
           a.ignored_lines == b.ignored_lines && a.ignored_letters == b.ignored_letters;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = pg::lpd::fuzz::split_control_input(data, size);
    if (!input) return 0;
    const ControlLimits& limits = input->limits;
    const std::string_view bytes = input->bytes;

    const auto r = parse_control_file(bytes, limits);
    if (r.has_error()) {
        const ParseError& e = r.error();
        check(&e.code.category() == &category());
        check(e.code.value() != 0);
        check(!e.message.empty());
        check(e.line <= limits.max_lines + 1);
        check(e.offset <= std::max(bytes.size(), limits.max_bytes));
        return 0;
    }
    const ControlFile& job = *r;
    check_job(job, bytes, limits);

    // CRLF line ends give the same job, given the room for the extra CRs.
    if (bytes.find('\r') == std::string_view::npos) {
        const std::string crlf = pg::lpd::fuzz::with_crlf(bytes);
        ControlLimits roomy = limits;
        roomy.max_bytes = limits.max_bytes * 2;
        roomy.max_line = limits.max_line + 1;
        const auto again = parse_control_file(crlf, roomy);
        check(again.has_value() && same_job(job, *again));
    }

    std::vector<QueueEntry> entries;
    for (const PrintFile& f : job.files) {
        QueueEntry e;
        e.owner = job.user.value_or("");
        e.title = f.source_name.value_or(std::string(job.display_title()));
        e.copies = f.copies;
        e.size = bytes.size();
        e.host = job.host.value_or("");
        e.job_id = static_cast<std::uint32_t>(entries.size());
        entries.push_back(std::move(e));
    }
    for (const bool long_format : {false, true}) {
        const std::string answer = format_queue_state("lp", QueueStatus::ready, entries, long_format);
        check(pg::text::is_valid_utf8(answer));
        const auto lines = static_cast<std::size_t>(std::count(answer.begin(), answer.end(), '\n'));
        check(lines == (long_format ? 1 + 3 * entries.size() : 2 + entries.size()));
    }
    return 0;
}
