// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the LPD queue state answer parser (clang-14 libFuzzer; with GCC
// it links into the corpus-replay test fuzz_replay.lpq_answer).
//
// Input: one flags byte, then the answer's bytes. Flags: bit 0 long form (else
// short), bit 1 tight limits. Checks, besides "no crash, no leak, no UB":
//  * the same input parses the same way twice;
//  * a listing keeps the limits; "no entries" never comes with jobs; owners and
//    ranks are non-empty, no text holds an LF or a NUL; copies 1..9999; sizes and
//    job numbers within their digit limits;
//  * an error names a line and an offset inside the input, and has a message;
//  * with LF turned into CRLF (inputs without CR), the answer parses the same;
//  * the jobs found, written back by format_queue_state (printgate's own lpq
//    answer) in the same form, read back with the same job numbers and sizes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/lpd/lpq_answer.hpp"
#include "protocols/lpd/reply.hpp"
#include "tests/fuzz/lpd_fuzz_input.hpp"

namespace {

using namespace pg::lpd;

void check(bool condition) {
    if (!condition) std::abort();
}

bool clean(std::string_view s) {
    return s.find('\n') == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

void check_listing(const QueueListing& l, const ListingLimits& limits) {
    check(l.jobs.size() <= limits.max_jobs);
    check(l.status.size() <= limits.max_status_lines);
    check(!(l.says_no_entries && !l.jobs.empty()));
    check(l.is_listing() == (l.says_no_entries || !l.jobs.empty()));
    for (const auto& s : l.status) check(clean(s) && s.size() <= limits.max_line);
    for (const auto& j : l.jobs) {
        check(!j.owner.empty() && clean(j.owner));
        check(!j.rank.empty() && clean(j.rank));
        check(clean(j.host));
        check(j.number < 1'000'000'000u);
        check(j.files.size() <= limits.max_files_per_job);
        for (const auto& f : j.files) {
            check(clean(f.name));
            check(f.copies >= 1 && f.copies <= 9999);
            if (f.bytes) check(*f.bytes < 1'000'000'000'000'000u);
        }
    }
}

// Rewrites the jobs as printgate's own lpq answer and reads them back.
void check_round_trip(const QueueListing& l, AnswerForm form) {
    std::vector<QueueEntry> entries;
    for (const auto& j : l.jobs) {
        auto total = j.total_bytes();
        if (!total || j.files.size() != 1) continue;
        QueueEntry e;
        e.active = j.active();
        e.owner = "owner";
        e.job_id = static_cast<std::uint32_t>(j.number);
        e.title = "title";
        e.size = *total;
        e.copies = j.files[0].copies;
        entries.push_back(e);
    }
    if (entries.empty()) return;
    const std::string again = format_queue_state("q", QueueStatus::ready, entries, form == AnswerForm::long_form);
    ListingLimits roomy;
    roomy.max_jobs = entries.size();
    auto back = parse_queue_listing(again, form, roomy);
    check(back.has_value());
    check(back->jobs.size() == entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
        check(back->jobs[i].number == entries[i].job_id);
        check(back->jobs[i].total_bytes() == entries[i].size);
        check(back->jobs[i].owner == "owner");
        check(back->jobs[i].active() == entries[i].active);
        if (form == AnswerForm::long_form) check(back->jobs[i].files[0].copies == entries[i].copies);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t flags = data[0];
    const std::string_view answer(reinterpret_cast<const char*>(data + 1), size - 1);
    const AnswerForm form = (flags & 1) != 0 ? AnswerForm::long_form : AnswerForm::short_form;
    ListingLimits limits;
    if ((flags & 2) != 0) {
        limits.max_bytes = 512;
        limits.max_line = 64;
        limits.max_jobs = 3;
        limits.max_files_per_job = 2;
        limits.max_status_lines = 2;
    }

    auto r = parse_queue_listing(answer, form, limits);
    auto again = parse_queue_listing(answer, form, limits);
    check(r.has_value() == again.has_value());
    if (!r) {
        check(r.error().code == again.error().code && r.error().offset == again.error().offset);
        check(!r.error().message.empty());
        check(r.error().offset <= answer.size() || r.error().offset == limits.max_bytes);
        check(r.error().line <= answer.size() + 1);
        return 0;
    }
    check(*r == *again);
    check_listing(*r, limits);

    if (answer.find('\r') == std::string_view::npos) {
        const std::string crlf = pg::lpd::fuzz::with_crlf(answer);
        ListingLimits wider = limits;
        wider.max_bytes = limits.max_bytes * 2;
        auto c = parse_queue_listing(crlf, form, wider);
        check(c.has_value() && *c == *r);
    }
    check_round_trip(*r, form);
    return 0;
}
