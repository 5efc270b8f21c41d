// SPDX-License-Identifier: Apache-2.0
// pg::lpd control file writer and spool names: exact bytes, refusals first, then
// the shape CUPS's lpd backend sends (shared conformance notes §3.4:
// "Hvm Palice Jtitle ldfA246vm UdfA246vm Ntitle"), and round trips through the parser.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocols/lpd/control_file.hpp"
#include "protocols/lpd/control_writer.hpp"
#include "protocols/lpd/lpd.hpp"

using namespace pg::lpd;
using namespace std::string_literals;

namespace {

errc code_of(const ParseResult<std::string>& r) {
    REQUIRE(r.has_error());
    CHECK(r.error().code.category().name() == std::string("pg.lpd"));
    CHECK_FALSE(r.error().message.empty());
    return static_cast<errc>(r.error().code.value());
}

ControlFile one_file(std::string name = "dfA246vm") {
    ControlFile job;
    job.files.push_back(PrintFile{std::move(name), 'l', 1, std::nullopt});
    return job;
}

}  // namespace

TEST_CASE("lpd writer: refusals", "[lpd][writer]") {
    CHECK(code_of(write_control_file(ControlFile{})) == errc::no_print_file);

    auto job = one_file("df A001h");
    CHECK(code_of(write_control_file(job)) == errc::bad_file_name);
    job = one_file("../etc/passwd");
    CHECK(code_of(write_control_file(job)) == errc::bad_file_name);
    job = one_file("dfA001h\nPmallory");
    CHECK(code_of(write_control_file(job)) == errc::bad_file_name);
    job = one_file();
    job.unlink = {"df\x01"};
    CHECK(code_of(write_control_file(job)) == errc::bad_file_name);

    job = one_file();
    job.files[0].copies = 0;
    CHECK(code_of(write_control_file(job)) == errc::bad_line);
    job = one_file();
    job.files[0].format = 'x';
    CHECK(code_of(write_control_file(job)) == errc::bad_line);
    job = one_file();
    job.files.push_back(job.files[0]);
    CHECK(code_of(write_control_file(job)) == errc::bad_line);
    job = one_file();
    job.width = 1'000'000'000;
    const auto wide = write_control_file(job);
    CHECK(code_of(wide) == errc::bad_line);
    CHECK(wide.error().line == 1);
    job.width = 999'999'999;
    CHECK(write_control_file(job).value() == "W999999999\nldfA246vm\n");
}

TEST_CASE("lpd writer: the receiver's limits", "[lpd][writer]") {
    WriteLimits limits;
    auto job = one_file();
    job.files[0].copies = 3;
    limits.receiver.max_lines = 2;
    const auto lines = write_control_file(job, limits);
    CHECK(code_of(lines) == errc::too_many_lines);
    CHECK(lines.error().line == 3);
    job.files[0].copies = 4'000'000'000u;  // refused before writing a line
    CHECK(code_of(write_control_file(job, limits)) == errc::too_many_lines);
    limits.receiver.max_lines = 3;
    job.files[0].copies = 3;
    CHECK(write_control_file(job, limits).value() == "ldfA246vm\nldfA246vm\nldfA246vm\n");

    limits = {};
    limits.receiver.max_bytes = 9;
    CHECK(code_of(write_control_file(one_file(), limits)) == errc::control_file_too_large);
    limits.receiver.max_bytes = 10;
    CHECK(write_control_file(one_file(), limits).has_value());

    limits = {};
    limits.receiver.max_line = 8;
    const auto longname = write_control_file(one_file(), limits);
    CHECK(code_of(longname) == errc::line_too_long);
    // Text lines are cut to fit instead.
    limits.receiver.max_line = 9;
    job = one_file();
    job.user = "abcdefghijklmnop";
    CHECK(write_control_file(job, limits).value() == "Pabcdefgh\nldfA246vm\n");

    limits = {};
    limits.receiver.max_data_files = 1;
    job = one_file();
    job.files.push_back(PrintFile{"dfB246vm", 'l', 1, std::nullopt});
    CHECK(code_of(write_control_file(job, limits)) == errc::too_many_files);
}

TEST_CASE("lpd writer: the CUPS lpd backend's shape", "[lpd][writer]") {
    // What CUPS 2.4.2's lpd backend sends for `lp -t title` by alice on host vm.
    ControlFile job = one_file();
    job.host = "vm";
    job.user = "alice";
    job.job_name = "title";
    job.files[0].source_name = "title";
    job.unlink = {"dfA246vm"};
    const std::string cups = "Hvm\nPalice\nJtitle\nldfA246vm\nUdfA246vm\nNtitle\n";
    CHECK(write_control_file(job).value() == cups);
    // The parser reads it back as the same job.
    const auto back = parse_control_file(cups);
    REQUIRE(back.has_value());
    CHECK(back->files == job.files);
    CHECK(back->user == job.user);
    CHECK(back->unlink == job.unlink);
    CHECK(write_control_file(*back).value() == cups);

    // With a banner (CUPS's ?banner=on adds C and L after J).
    job.banner_class = "vm";
    job.banner_user = "alice";
    CHECK(write_control_file(job).value() == "Hvm\nPalice\nJtitle\nCvm\nLalice\nldfA246vm\nUdfA246vm\nNtitle\n");
}

TEST_CASE("lpd writer: every line, copies and several files", "[lpd][writer]") {
    ControlFile job;
    job.host = "ws1";
    job.user = "bob";
    job.job_name = "report";
    job.banner_class = "ws1";
    job.banner_user = "bob";
    job.title = "Q3";
    job.indent = 4;
    job.width = 132;
    job.mail_user = "bob";
    job.fonts = {"R", std::nullopt, "B", std::nullopt};
    job.files.push_back(PrintFile{"dfA721ws1", 'o', 2, "report.ps"});
    job.files.push_back(PrintFile{"dfB721ws1", 'f', 1, std::nullopt});
    job.unlink = {"dfA721ws1", "dfB721ws1", "dfZ721ws1"};
    const std::string expected =
        "Hws1\nPbob\nJreport\nCws1\nLbob\nTQ3\nI4\nW132\nMbob\n1R\n3B\n"
        "odfA721ws1\nodfA721ws1\nUdfA721ws1\nNreport.ps\n"
        "fdfB721ws1\nUdfB721ws1\n"
        "UdfZ721ws1\n";
    CHECK(write_control_file(job).value() == expected);
    const auto back = parse_control_file(expected);
    REQUIRE(back.has_value());
    CHECK(back->files == job.files);
    CHECK(back->fonts == job.fonts);
    CHECK(back->unlink == job.unlink);
    CHECK(back->indent == 4u);
    CHECK(back->width == 132u);

    // U lines out of the files' order all follow the last file, in order.
    job.unlink = {"dfB721ws1", "dfA721ws1"};
    const auto out = write_control_file(job).value();
    CHECK(out.ends_with("fdfB721ws1\nUdfB721ws1\nUdfA721ws1\n"));
    CHECK(parse_control_file(out).value().unlink == job.unlink);
}

TEST_CASE("lpd writer: names are sanitised and cut to the RFC limits", "[lpd][writer]") {
    ControlFile job = one_file();
    // A newline would start a forged line; NUL ends the file for some servers.
    job.user = "mallory\nPadmin"s;
    job.job_name = "a\rb\0c\x7f"s;
    job.host = "\n\t";  // nothing left: no H line
    job.files[0].source_name = "\xc3\xa9t\xc3\xa9 r\xc3\xa9sum\xc3\xa9.pdf";  // UTF-8 kept as is
    CHECK(write_control_file(job).value() ==
          "PmalloryPadmin\nJabc\nldfA246vm\nN\xc3\xa9t\xc3\xa9 r\xc3\xa9sum\xc3\xa9.pdf\n");

    // Ill-formed UTF-8 becomes U+FFFD (the parser would read it as Latin-1).
    job = one_file();
    job.user = "ren\xe9";
    CHECK(write_control_file(job).value() == "Pren\xef\xbf\xbd\nldfA246vm\n");

    // §7 octet limits, cut on a code point boundary.
    job = one_file();
    job.user = std::string(40, 'u');
    job.job_name = std::string(98, 'j') + "\xc3\xa9";  // 100 bytes; the 'é' does not fit in 99
    job.host = std::string(40, 'h');
    job.title = std::string(100, 't');
    job.files[0].source_name = std::string(200, 'n');
    const std::string out = write_control_file(job).value();
    CHECK(out == "H" + std::string(31, 'h') + "\nP" + std::string(31, 'u') + "\nJ" + std::string(98, 'j') + "\nT" +
                     std::string(79, 't') + "\nldfA246vm\nN" + std::string(131, 'n') + "\n");
    CHECK(parse_control_file(out).has_value());
}

TEST_CASE("lpd writer: spool names", "[lpd][writer]") {
    CHECK(spool_host("vm") == "vm");
    CHECK(spool_host("print server/1\n") == "print_server_1_");
    CHECK(spool_host("") == "localhost");
    CHECK(spool_host("averyveryverylonghostname.example.org", 15) == "averyveryverylo");
    CHECK(spool_host("h\xc3\xa9") == "h__");

    CHECK(spool_file_name(true, 0, 246, "vm").value() == "cfA246vm");
    CHECK(spool_file_name(false, 0, 7, "vm").value() == "dfA007vm");
    CHECK(spool_file_name(false, 25, 1246, "vm").value() == "dfZ246vm");
    CHECK(spool_file_name(false, 26, 999, "vm").value() == "dfa999vm");
    CHECK(spool_file_name(false, 51, 0, "h").value() == "dfz000h");
    const auto past = spool_file_name(false, 52, 0, "h");
    REQUIRE(past.has_error());
    CHECK(past.error().code == errc::too_many_files);
    const auto bad = spool_file_name(false, 0, 0, "a b");
    REQUIRE(bad.has_error());
    CHECK(bad.error().code == errc::bad_file_name);

    // What the parser makes of them.
    const std::string control = spool_file_name(true, 0, 42, spool_host("ws.example")).value();
    const auto parts = parse_spool_name(control);  // views into `control`
    REQUIRE(parts);
    CHECK(parts->control);
    CHECK(parts->number == "042");
    CHECK(parts->host == "ws.example");
}
