// SPDX-License-Identifier: Apache-2.0
// Reconciliation over LPD: the matching rules and the verdict, over real cups-lpd
// answers (captured from the integration rig) and BSD lpd's layout. Every doubt
// must come out as "send again", never as "found".
#include "gateway/output/lpd_reconcile.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace pg::output;
using pg::lpd::AnswerForm;
using pg::lpd::QueueListing;
using pg::spool::Lookalikes;

namespace {

QueueListing listing(const std::string& answer) {
    auto r = pg::lpd::parse_queue_listing(answer, AnswerForm::long_form);
    REQUIRE(r.has_value());
    return *r;
}

std::string cups_job(const std::string& owner, int number, const std::string& title, std::uint64_t bytes) {
    auto pad = [](std::string s, std::size_t w) {
        s = s.substr(0, w);
        s.resize(w, ' ');
        return s;
    };
    return "\n" + owner + ": " + pad("1st", 33) + " [job " + std::to_string(number) + " localhost]\n        " +
           pad(title, 39) + " " + std::to_string(bytes) + " bytes\n";
}

const LpdIdentity kReport{"alice", "Quarterly report 2027", {3000}};

Lookalikes known(std::vector<std::uint64_t> jobs) {
    return Lookalikes{true, 1000, std::move(jobs)};
}

}  // namespace

TEST_CASE("lpd reconcile: titles as servers show them", "[lpd-reconcile]") {
    CHECK(title_matches("Quarterly report 2027", "Quarterly report 2027"));
    CHECK(title_matches("Quarterly report 2027", "Quarterly report 2027  "));
    CHECK_FALSE(title_matches("Quarterly report 2028", "Quarterly report 2027"));
    CHECK_FALSE(title_matches("Quarterly report", "Quarterly report 2027"));  // a prefix, but not a cut
    CHECK_FALSE(title_matches("", ""));
    CHECK_FALSE(title_matches("untitled", ""));
    // cups-lpd cuts at 39 bytes (captured: "A very long title that is longer than t").
    const std::string long_title = "A very long title that is longer than thirty-nine bytes for sure";
    CHECK(title_matches("A very long title that is longer than t", long_title));
    CHECK_FALSE(title_matches("A very long title that is longer than", long_title));
    // printgate's own lpq: 40 code points (here 40 two-byte letters, 80 bytes).
    std::string greek;
    for (int i = 0; i < 45; ++i) greek += "\xCE\xB1";
    CHECK(title_matches(greek.substr(0, 80), greek));
    CHECK_FALSE(title_matches(greek.substr(0, 78), greek));
}

TEST_CASE("lpd reconcile: titles of two of our jobs that a server may show alike", "[lpd-reconcile]") {
    CHECK(titles_may_look_alike("Quarterly report 2027", "Quarterly report 2027"));
    CHECK(titles_may_look_alike("Quarterly report 2027 ", "Quarterly report 2027"));  // servers pad
    CHECK_FALSE(titles_may_look_alike("Quarterly report 2027", "Quarterly report 2028"));
    CHECK_FALSE(titles_may_look_alike("untitled (printgate gw-test job 7)", "untitled (printgate gw-test job 8)"));
    // Equal in the first 39 bytes: cups-lpd lists both the same.
    CHECK(titles_may_look_alike("untitled (printgate branch-office-prague-01 job 7)",
                                "untitled (printgate branch-office-prague-01 job 8)"));
    // The 40-code-point cut of printgate's lpq keeps at least those 39 bytes too.
    std::string greek;
    for (int i = 0; i < 45; ++i) greek += "\xCE\xB1";
    CHECK(titles_may_look_alike(greek + "a", greek + "b"));
    CHECK_FALSE(titles_may_look_alike("b" + greek, "a" + greek));
    // Blanks up to the cut: cups-lpd shows "abc" padded, which title_matches takes for both.
    CHECK(titles_may_look_alike("abc" + std::string(36, ' ') + "X", "abc"));
    CHECK(title_matches("abc", "abc" + std::string(36, ' ') + "X"));
}

TEST_CASE("lpd reconcile: another job of ours that may be taken for this one", "[lpd-reconcile]") {
    // BSD lpd lists the N line: a job titled "Copy for Bob" whose document is named like
    // our title may be listed as our job.
    CHECK(may_be_taken_for({"Copy for Bob", "report.pdf"}, "report.pdf"));
    CHECK_FALSE(may_be_taken_for({"Copy for Bob", "budget.pdf"}, "report.pdf"));
    CHECK_FALSE(may_be_taken_for({}, "report.pdf"));
    // Untitled names of one gateway: told apart by the job number while it fits in 39 bytes.
    CHECK_FALSE(may_be_taken_for({"untitled (printgate gw-test job 41)"}, "untitled (printgate gw-test job 42)"));
    CHECK(may_be_taken_for({"untitled (printgate branch-office-42 job 12345)"},
                           "untitled (printgate branch-office-42 job 12346)"));
}

TEST_CASE("lpd reconcile: lookalikes in a real cups-lpd answer", "[lpd-reconcile]") {
    // cups-lpd 2.4.2, four of alice's jobs in a stopped queue: 3000-byte documents show
    // as 3072 bytes (cupsd's job-k-octets x 1024).
    const auto l = listing(
        "sink is not ready\n"
        "\nalice: 1st                               [job 1 localhost]\n"
        "        Quarterly report 2027                   3072 bytes\n"
        "\nalice: 2nd                               [job 2 localhost]\n"
        "        A very long title that is longer than t 20480 bytes\n"
        "\nalice: 3rd                               [job 4 localhost]\n"
        "        Quarterly report 2027                   3072 bytes\n"
        "\nalice: 4th                               [job 5 localhost]\n"
        "        Untitled                                6144 bytes\n");
    CHECK(lookalikes_of(l, kReport) == std::vector<std::uint64_t>{1, 4});
    CHECK(lookalikes_of(l, {"alice", "A very long title that is longer than thirty-nine bytes for sure", {20000}}) ==
          std::vector<std::uint64_t>{2});
    CHECK(lookalikes_of(l, {"alice", "Quarterly report 2027", {2000}}).empty());         // 2048, not 3072
    CHECK(lookalikes_of(l, {"alice", "Quarterly report 2027", {3072}}) == std::vector<std::uint64_t>{1, 4});
    CHECK(lookalikes_of(l, {"alice", "Quarterly report 2027", {2000, 2000}}).empty());   // 2048 + 2048
    CHECK(lookalikes_of(l, {"alice", "Quarterly report 2027", {1000, 2000}}) ==           // 1024 + 2048
          std::vector<std::uint64_t>{1, 4});
    CHECK(lookalikes_of(l, {"alice", "Quarterly report 2027", {1024, 2048}}) == std::vector<std::uint64_t>{1, 4});
    CHECK(lookalikes_of(l, {"bob", "Quarterly report 2027", {3000}}).empty());
    CHECK(lookalikes_of(l, {"alice", "", {3000}}).empty());  // untitled: never
    CHECK(lookalikes_of(l, {"alice", "Untitled", {6144}}) == std::vector<std::uint64_t>{5});
}

TEST_CASE("lpd reconcile: BSD lpd's layout", "[lpd-reconcile]") {
    const auto l = listing("lp is ready\n\nalice: 1st                              [job 012host]\n"
                           "\tQuarterly report 2027            3000 bytes\n"
                           "\nalice: 2nd                              [job 013host]\n"
                           "\t2  copies of Quarterly report 2027 3000 bytes\n"
                           "\nalice: 3rd                              [job 014host]\n"
                           "\tQuarterly report 2027            ??? bytes\n"
                           "\nalice: 4th                              [job 015host]\n"
                           "\tQuarterly report 2027            1000 bytes\n"
                           "\tQuarterly report 2027            2000 bytes\n");
    // Exact size; copies, unknown sizes and two files never match.
    CHECK(lookalikes_of(l, kReport) == std::vector<std::uint64_t>{12});
}

TEST_CASE("lpd reconcile: the verdict", "[lpd-reconcile]") {
    const auto empty = listing("sink is not ready\nno entries\n");
    const auto one = listing("sink is not ready\n" + cups_job("alice", 7, "Quarterly report 2027", 3072));
    const auto two = listing("sink is not ready\n" + cups_job("alice", 7, "Quarterly report 2027", 3072) +
                             cups_job("alice", 8, "Quarterly report 2027", 3072));
    const auto others = listing("sink is ready\n" + cups_job("alice", 9, "Something else", 3072) +
                                cups_job("bob", 10, "Quarterly report 2027", 3072));

    SECTION("exactly one new lookalike: found") {
        auto r = judge(known({}), one, kReport);
        CHECK(r.verdict == Verdict::found);
        CHECK(r.number == 7);
        r = judge(known({7}), two, kReport);
        CHECK(r.verdict == Verdict::found);
        CHECK(r.number == 8);
    }
    SECTION("none new: absent") {
        CHECK(judge(known({}), empty, kReport).verdict == Verdict::absent);
        CHECK(judge(known({}), others, kReport).verdict == Verdict::absent);
        // The old job is still there and nothing new: never marked done on the old one.
        CHECK(judge(known({7}), one, kReport).verdict == Verdict::absent);
        CHECK(judge(known({7, 8}), two, kReport).verdict == Verdict::absent);
    }
    SECTION("doubt: unsure, never found") {
        const auto r = judge(known({}), two, kReport);
        CHECK(r.verdict == Verdict::unsure);
        CHECK(r.why.find("2 new jobs") != std::string::npos);
        CHECK(judge(Lookalikes{}, one, kReport).verdict == Verdict::unsure);  // no listing before the send
        CHECK(judge(known({}), listing("Unable to get printer sink: successful-ok"), kReport).verdict ==
              Verdict::unsure);
        CHECK(judge(known({}), listing("get-jobs failed: Forbidden\n"), kReport).verdict == Verdict::unsure);
        const LpdIdentity untitled{"alice", "", {3000}};
        CHECK(judge(known({}), one, untitled).verdict == Verdict::unsure);
    }
}

TEST_CASE("lpd reconcile: what is recorded before a send", "[lpd-reconcile]") {
    const auto one = listing("sink is not ready\n" + cups_job("alice", 7, "Quarterly report 2027", 3072));
    const auto l = record_before(one, kReport, 42);
    CHECK(l.known);
    CHECK(l.listed_ms == 42);
    CHECK(l.jobs == std::vector<std::uint64_t>{7});
    const auto none = record_before(listing("sink is ready\nno entries\n"), kReport, 43);
    CHECK(none.known);
    CHECK(none.jobs.empty());
    CHECK_FALSE(record_before(listing("get-jobs failed: Forbidden\n"), kReport, 44).known);
    // More lookalikes than a delivery record keeps: not known.
    std::string many = "sink is ready\n";
    for (int i = 0; i <= static_cast<int>(Lookalikes::kMaxLookalikes); ++i)
        many += cups_job("alice", 100 + i, "Quarterly report 2027", 3072);
    CHECK_FALSE(record_before(listing(many), kReport, 45).known);
}
