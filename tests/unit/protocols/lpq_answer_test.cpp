// SPDX-License-Identifier: Apache-2.0
// pg::lpd::parse_queue_listing: malformed answers first, then what cups-lpd (2.4,
// in front of cupsd, captured from the integration rig), BSD lpd and printgate's
// own LPD server answer.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocols/lpd/lpq_answer.hpp"
#include "protocols/lpd/reply.hpp"

using namespace pg::lpd;
using namespace std::string_literals;

namespace {

errc code_of(const ParseResult<QueueListing>& r) {
    REQUIRE(r.has_error());
    CHECK(r.error().code.category().name() == std::string("pg.lpd"));
    CHECK_FALSE(r.error().message.empty());
    return static_cast<errc>(r.error().code.value());
}

QueueListing parsed(std::string_view answer, AnswerForm form = AnswerForm::long_form) {
    auto r = parse_queue_listing(answer, form);
    INFO((r ? std::string() : r.error().message));
    REQUIRE(r.has_value());
    return *r;
}

// cups-lpd 2.4.2's answers to "\4sink alice\n" and "\3sink alice\n", four of alice's
// jobs held in a stopped queue (one title over 39 bytes, one untitled job of 2 copies).
const std::string kCupsLong =
    "sink is not ready\n"
    "\n"
    "alice: 1st                               [job 1 localhost]\n"
    "        Quarterly report 2027                   3072 bytes\n"
    "\n"
    "alice: 2nd                               [job 2 localhost]\n"
    "        A very long title that is longer than t 20480 bytes\n"
    "\n"
    "alice: 3rd                               [job 4 localhost]\n"
    "        Quarterly report 2027                   3072 bytes\n"
    "\n"
    "alice: 4th                               [job 5 localhost]\n"
    "        Untitled                                6144 bytes\n";
const std::string kCupsShort =
    "sink is not ready\n"
    "Rank    Owner   Job     File(s)                         Total Size\n"
    "1st     alice   1       Quarterly report 2027           3072 bytes\n"
    "2nd     alice   2       A very long title that is longe 20480 bytes\n"
    "3rd     alice   4       Quarterly report 2027           3072 bytes\n"
    "4th     alice   5       Untitled                        6144 bytes\n";

}  // namespace

TEST_CASE("lpq answer: limits", "[lpd][lpq]") {
    ListingLimits tight;
    tight.max_bytes = 16;
    CHECK(code_of(parse_queue_listing("lp is ready\nno entries\n", AnswerForm::long_form, tight)) ==
          errc::answer_too_large);
    CHECK(parse_queue_listing("lp is ready\n", AnswerForm::long_form, tight).has_value());

    tight = {};
    tight.max_line = 20;
    const auto long_line = parse_queue_listing("lp is ready\n" + std::string(21, 'x') + "\n", AnswerForm::long_form, tight);
    CHECK(code_of(long_line) == errc::line_too_long);
    CHECK(long_line.error().line == 2);
    CHECK(long_line.error().offset == 12);

    tight = {};
    tight.max_jobs = 3;
    CHECK(code_of(parse_queue_listing(kCupsLong, AnswerForm::long_form, tight)) == errc::too_many_jobs);
    CHECK(code_of(parse_queue_listing(kCupsShort, AnswerForm::short_form, tight)) == errc::too_many_jobs);
    tight.max_jobs = 4;
    CHECK(parse_queue_listing(kCupsLong, AnswerForm::long_form, tight).has_value());

    tight = {};
    tight.max_files_per_job = 1;
    const std::string two_files = "alice: 1st  [job 012host]\n\ta 1 bytes\n\tb 2 bytes\n";
    CHECK(code_of(parse_queue_listing(two_files, AnswerForm::long_form, tight)) == errc::too_many_jobs);

    tight = {};
    tight.max_status_lines = 2;
    CHECK(code_of(parse_queue_listing("a\nb\nc\n", AnswerForm::long_form, tight)) == errc::too_many_lines);
    CHECK(parse_queue_listing("a\nb\n", AnswerForm::long_form, tight).has_value());
}

TEST_CASE("lpq answer: garbage is refused, not guessed", "[lpd][lpq]") {
    // Control characters anywhere (a NUL, an escape sequence, a stray CR mid-line).
    CHECK(code_of(parse_queue_listing("lp is ready\nno\0 entries\n"s, AnswerForm::long_form)) == errc::bad_answer);
    CHECK(code_of(parse_queue_listing("\x1b[2Jlp is ready\n", AnswerForm::long_form)) == errc::bad_answer);
    CHECK(code_of(parse_queue_listing("lp\ris ready\n", AnswerForm::long_form)) == errc::bad_answer);
    // A file line before any job.
    const auto orphan = parse_queue_listing("lp is ready\n        report 12 bytes\n", AnswerForm::long_form);
    CHECK(code_of(orphan) == errc::bad_answer);
    CHECK(orphan.error().line == 2);
    // After a job: only its files, other jobs and blank lines.
    const std::string job = "alice: 1st   [job 7 localhost]\n        report   12 bytes\n";
    CHECK(code_of(parse_queue_listing(job + "trailing words\n", AnswerForm::long_form)) == errc::bad_answer);
    CHECK(code_of(parse_queue_listing(job + "        report twelve bytes\n", AnswerForm::long_form)) ==
          errc::bad_answer);
    CHECK(code_of(parse_queue_listing(job + "        report 12\n", AnswerForm::long_form)) == errc::bad_answer);
    CHECK(code_of(parse_queue_listing(job + "    four-space indent 12 bytes\n", AnswerForm::long_form)) ==
          errc::bad_answer);
    CHECK(code_of(parse_queue_listing(job + "        r 1234567890123456 bytes\n", AnswerForm::long_form)) ==
          errc::bad_answer);  // 16 digits
    CHECK(code_of(parse_queue_listing(job + "no entries\n", AnswerForm::long_form)) == errc::bad_answer);
    CHECK(code_of(parse_queue_listing("no entries\n" + job, AnswerForm::long_form)) == errc::bad_answer);
    // Job headers that are not quite: taken for status lines before any job
    // (nothing proves a listing then), refused after one.
    for (const std::string& bad : {"alice 1st [job 7 localhost]"s, "alice: first [job 7 localhost]"s,
                                   "alice: 1st [job localhost]"s, "alice: 1st [job 7 localhost"s,
                                   ": 1st [job 7 localhost]"s, "alice: 1st [job 1234567890 h]"s}) {
        INFO(bad);
        const auto alone = parsed(bad + "\n");
        CHECK(alone.jobs.empty());
        CHECK_FALSE(alone.is_listing());
        CHECK(code_of(parse_queue_listing(job + bad + "\n", AnswerForm::long_form)) == errc::bad_answer);
    }
    // Short form: a job line needs the header before it; one header only.
    CHECK(code_of(parse_queue_listing("1st alice 7 report 12 bytes\n", AnswerForm::short_form)) == errc::bad_answer);
    const std::string header = "Rank    Owner   Job     File(s)                         Total Size\n";
    CHECK(code_of(parse_queue_listing(header + header, AnswerForm::short_form)) == errc::bad_answer);
    CHECK(code_of(parse_queue_listing(header + "1st alice 7 report 12 bytes\nlp is ready\n", AnswerForm::short_form)) ==
          errc::bad_answer);
}

TEST_CASE("lpq answer: status-only answers prove nothing", "[lpd][lpq]") {
    // cups-lpd's answer for a queue cupsd does not have (no LF at the end).
    const auto unknown = parsed("Unable to get printer nosuch: successful-ok");
    CHECK(unknown.status == std::vector<std::string>{"Unable to get printer nosuch: successful-ok"});
    CHECK_FALSE(unknown.is_listing());
    CHECK_FALSE(parsed("get-jobs failed: Forbidden\n").is_listing());
    CHECK_FALSE(parsed("").is_listing());
    // BSD lpd asked for a user without jobs while others' jobs are queued: status only.
    CHECK_FALSE(parsed("lp is ready and printing\nWarning: lp queue is turned off\n").is_listing());
}

TEST_CASE("lpq answer: cups-lpd, empty queue", "[lpd][lpq]") {
    for (auto form : {AnswerForm::long_form, AnswerForm::short_form}) {
        const auto l = parsed("sink is not ready\nno entries\n", form);
        CHECK(l.status == std::vector<std::string>{"sink is not ready"});
        CHECK(l.says_no_entries);
        CHECK(l.jobs.empty());
        CHECK(l.is_listing());
    }
    CHECK(parsed("sink is ready\r\nno entries\r\n").says_no_entries);  // CRLF
}

TEST_CASE("lpq answer: cups-lpd, long form", "[lpd][lpq]") {
    const auto l = parsed(kCupsLong);
    CHECK(l.status == std::vector<std::string>{"sink is not ready"});
    CHECK_FALSE(l.says_no_entries);
    REQUIRE(l.jobs.size() == 4);
    CHECK(l.is_listing());
    const ListedJob first{"alice", "1st", 1, "localhost", {{"Quarterly report 2027", 1, 3072}}};
    CHECK(l.jobs[0] == first);
    CHECK(l.jobs[1].number == 2);
    CHECK(l.jobs[1].files == std::vector<ListedFile>{{"A very long title that is longer than t", 1, 20480}});
    CHECK(l.jobs[2].number == 4);
    CHECK(l.jobs[3].rank == "4th");
    CHECK(l.jobs[3].files[0].name == "Untitled");
    CHECK(l.jobs[3].total_bytes() == 6144u);
    CHECK_FALSE(l.jobs[0].active());
}

TEST_CASE("lpq answer: cups-lpd, short form", "[lpd][lpq]") {
    const auto l = parsed(kCupsShort, AnswerForm::short_form);
    CHECK(l.has_header);
    REQUIRE(l.jobs.size() == 4);
    const ListedJob first{"alice", "1st", 1, "", {{"Quarterly report 2027", 1, 3072}}};
    CHECK(l.jobs[0] == first);
    CHECK(l.jobs[1].files[0].name == "A very long title that is longe");
    CHECK(l.jobs[1].total_bytes() == 20480u);
    // cups-lpd cuts owners to 7 bytes in the short form: "christopher" reads back cut.
    const auto cut = parsed("lp is ready\nRank    Owner   Job     File(s)                         Total Size\n"
                            "active  christo 1234    Budget                          1024 bytes\n",
                            AnswerForm::short_form);
    REQUIRE(cut.jobs.size() == 1);
    CHECK(cut.jobs[0].owner == "christo");
    CHECK(cut.jobs[0].active());
    CHECK(cut.jobs[0].number == 1234);
}

TEST_CASE("lpq answer: cups-lpd copies and odd titles", "[lpd][lpq]") {
    const auto l = parsed("lp is ready and printing\n\nbob: active                              [job 31 localhost]\n"
                          "        3 copies of Budget 2027                 2048 bytes\n"
                          "\nbob: 1st                                 [job 32 localhost]\n"
                          "        [job 9 x] looks like a header           1024 bytes\n"
                          "\nbob: 2nd                                 [job 33 localhost]\n"
                          "                                                1024 bytes\n");
    REQUIRE(l.jobs.size() == 3);
    CHECK(l.jobs[0].active());
    CHECK(l.jobs[0].files == std::vector<ListedFile>{{"Budget 2027", 3, 2048}});
    CHECK(l.jobs[1].files[0].name == "[job 9 x] looks like a header");
    CHECK(l.jobs[2].files[0].name.empty());
    // An owner with ": " in it keeps it; the rank is the last word before "[job".
    const auto colon = parsed("a: b: 1st [job 40 localhost]\n        t 1 bytes\n");
    REQUIRE(colon.jobs.size() == 1);
    CHECK(colon.jobs[0].owner == "a: b");
}

TEST_CASE("lpq answer: BSD lpd, long form", "[lpd][lpq]") {
    // BSD lpd (displayq.c): "OWNER: RANK" padded to column 40, " [job NNNhost]", then one
    // TAB-indented line per data file, "%-32s %lld bytes" or "%-2d copies of %-19s".
    const std::string answer =
        "lp is ready and printing\n"
        "\n"
        "alice: active                           [job 012printhost]\n"
        "\treport.ps                        12345 bytes\n"
        "\tappendix.ps                      678 bytes\n"
        "\n"
        "bob: 1st                                [job 013192.0.2.7]\n"
        "\t2  copies of notes.txt           ??? bytes\n";
    const auto l = parsed(answer);
    REQUIRE(l.jobs.size() == 2);
    CHECK(l.jobs[0] == ListedJob{"alice", "active", 12, "printhost", {{"report.ps", 1, 12345}, {"appendix.ps", 1, 678}}});
    CHECK(l.jobs[0].total_bytes() == 13023u);
    // Three digits, then a host that starts with digits.
    CHECK(l.jobs[1].number == 13);
    CHECK(l.jobs[1].host == "192.0.2.7");
    CHECK(l.jobs[1].files == std::vector<ListedFile>{{"notes.txt", 2, std::nullopt}});
    CHECK_FALSE(l.jobs[1].total_bytes());
    // Warnings before the jobs are status lines.
    const auto warned = parsed("Warning: lp is down: paper jam\nWarning: no daemon present\n\n"
                               "carol: 1st                              [job 100host]\n\tx 1 bytes\n");
    CHECK(warned.status.size() == 2);
    CHECK(warned.jobs.size() == 1);
}

TEST_CASE("lpq answer: printgate's own answers read back", "[lpd][lpq]") {
    const std::vector<QueueEntry> entries{
        {true, "alice", 17, "report.pdf", 12345, 2, "host-a"},
        {false, "bob", 18, "", 2048, 1, ""},
    };
    const auto l = parsed(format_queue_state("lp", QueueStatus::printing, entries, true));
    REQUIRE(l.jobs.size() == 2);
    CHECK(l.jobs[0] == ListedJob{"alice", "active", 17, "host-a", {{"report.pdf", 2, 12345}}});
    CHECK(l.jobs[1] == ListedJob{"bob", "1st", 18, "", {{"untitled", 1, 2048}}});
    const auto s = parsed(format_queue_state("lp", QueueStatus::printing, entries, false), AnswerForm::short_form);
    REQUIRE(s.jobs.size() == 2);
    CHECK(s.jobs[0].number == 17);
    CHECK(s.jobs[1].total_bytes() == 2048u);
    CHECK(parsed(format_queue_state("lp", QueueStatus::ready, {}, true)).says_no_entries);
}
