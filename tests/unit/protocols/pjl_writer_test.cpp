// SPDX-License-Identifier: Apache-2.0
// Unit tests for protocols/pjl/writer: exact bytes of the job wrapper, hostile
// strings, and a round trip through the header scanner.
#include "protocols/pjl/writer.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include "protocols/pjl/pjl.hpp"

using namespace pg::pjl;

TEST_CASE("PJL writer: hostile strings stay inside their quotes", "[pjl][writer][malformed]") {
    JobSettings s;
    s.job_name = "a\"b\r\n@PJL SET COPIES=99\x1b" + std::string(200, 'x');
    s.user = "\"";
    const std::string h = write_header(s);
    // The injected text stays inside the JOB NAME line: two lines in all.
    CHECK(std::count(h.begin(), h.end(), '\n') == 2);
    CHECK(h.rfind("\x1b%-12345X@PJL JOB NAME=\"a'b@PJL SET COPIES=99xxx", 0) == 0);
    // 80 bytes of name at most; one CR LF per line.
    const auto name_end = h.find("\"\r\n");
    CHECK(name_end - std::string("\x1b%-12345X@PJL JOB NAME=\"").size() == 80);
    CHECK(h.find("@PJL SET USERNAME=\"'\"\r\n") != std::string::npos);
    // Copies outside 2..999 write nothing.
    for (int c : {0, 1, -5, 1000}) {
        s.copies = c;
        CHECK(write_header(s).find("\r\n@PJL SET COPIES") == std::string::npos);
    }
}

TEST_CASE("PJL writer: settings", "[pjl][writer]") {
    JobSettings s{"Report", "alice", 3, Duplex::long_edge, true};
    CHECK(write_header(s) ==
          "\x1b%-12345X@PJL JOB NAME=\"Report\"\r\n@PJL SET USERNAME=\"alice\"\r\n@PJL SET COPIES=3\r\n"
          "@PJL SET DUPLEX=ON\r\n@PJL SET BINDING=LONGEDGE\r\n@PJL SET RENDERMODE=GRAYSCALE\r\n");
    s.duplex = Duplex::short_edge;
    CHECK(write_header(s).find("@PJL SET DUPLEX=ON\r\n@PJL SET BINDING=SHORTEDGE\r\n") != std::string::npos);
    s = JobSettings{"t", "u", std::nullopt, Duplex::one_sided, false};
    CHECK(write_header(s) == "\x1b%-12345X@PJL JOB NAME=\"t\"\r\n@PJL SET USERNAME=\"u\"\r\n@PJL SET DUPLEX=OFF\r\n");
    s.duplex.reset();
    CHECK(write_header(s) == "\x1b%-12345X@PJL JOB NAME=\"t\"\r\n@PJL SET USERNAME=\"u\"\r\n");
    CHECK(write_trailer() == "\x1b%-12345X@PJL EOJ\r\n\x1b%-12345X");

    CHECK(duplex_from_sides("two-sided-long-edge") == Duplex::long_edge);
    CHECK(duplex_from_sides("two-sided-short-edge") == Duplex::short_edge);
    CHECK(duplex_from_sides("one-sided") == Duplex::one_sided);
    CHECK_FALSE(duplex_from_sides("two-sided"));
    CHECK(grayscale_from_color_mode("monochrome"));
    CHECK(grayscale_from_color_mode("auto-monochrome"));
    CHECK_FALSE(grayscale_from_color_mode("color"));
}

TEST_CASE("PJL writer: the scanner reads back owner and title", "[pjl][writer]") {
    JobSettings s{"Quarterly \"numbers\"", "bob", 2, Duplex::long_edge, false};
    HeaderScanner scan;
    scan.feed(write_header(s) + "%!PS\n");
    REQUIRE(scan.is_done());
    CHECK(scan.reason() == StopReason::pdl_data);
    CHECK(scan.header().owner() == "bob");
    CHECK(scan.header().title() == "Quarterly 'numbers'");
}
