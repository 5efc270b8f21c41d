// SPDX-License-Identifier: Apache-2.0
// pg::pjl::HeaderScanner: streams that are not PJL and broken headers first, then
// headers as CUPS PPDs and Windows drivers write them, fed whole and byte by byte.
#include <catch2/catch.hpp>

#include <string>

#include "protocols/pjl/pjl.hpp"

using namespace pg::pjl;
using namespace std::string_literals;

namespace {

const std::string kUel = "\x1b%-12345X";

// Feeds `bytes` in one piece; finish() when `at_eof`.
HeaderScanner scan(std::string_view bytes, bool at_eof = false, ScanLimits limits = {}) {
    HeaderScanner s(limits);
    s.feed(bytes);
    if (at_eof) s.finish();
    return s;
}

// The same byte by byte, with empty feeds between; checks it agrees with scan().
HeaderScanner scan_bytewise(std::string_view bytes, bool at_eof = false, ScanLimits limits = {}) {
    HeaderScanner s(limits);
    for (char c : bytes) {
        CHECK(s.feed(std::string_view()) == (s.is_done() ? ScanStatus::done : ScanStatus::need_more));
        if (s.feed(std::string_view(&c, 1)) == ScanStatus::done) break;
    }
    if (at_eof) s.finish();
    const HeaderScanner whole = scan(bytes, at_eof, limits);
    CHECK(s.reason() == whole.reason());
    CHECK(s.scanned() == whole.scanned());
    CHECK(s.header_size() == whole.header_size());
    CHECK(s.header().owner() == whole.header().owner());
    CHECK(s.header().title() == whole.header().title());
    CHECK(s.header().pjl_lines == whole.header().pjl_lines);
    return s;
}

}  // namespace

TEST_CASE("pjl: streams without PJL are decided at once", "[pjl]") {
    for (const std::string& doc : {"%PDF-1.7\n"s, "%!PS-Adobe-3.0\n"s, "\x1b" "E\x1b&l0O"s, "\x00\x01"s, "@PJX\n"s,
                                  "@PJLX\n"s, "\x1b%-12345Y"s, "\x1b%-1234"s + "5"s + "x"s}) {
        HeaderScanner s;
        CHECK(s.feed(doc) == ScanStatus::done);
        CHECK(s.reason() == StopReason::no_pjl);
        CHECK(s.header_size() == 0);
        CHECK_FALSE(s.header().owner());
        CHECK(s.scanned() <= doc.size());
    }
    HeaderScanner pdf;
    pdf.feed(std::string_view("%PDF-1.7"));
    CHECK(pdf.scanned() == 1);  // one byte decides

    HeaderScanner empty;
    CHECK(empty.feed(std::string_view()) == ScanStatus::need_more);
    CHECK(empty.finish() == ScanStatus::done);
    CHECK(empty.reason() == StopReason::end_of_stream);
    CHECK(empty.header_size() == 0);
}

TEST_CASE("pjl: UEL then document data", "[pjl]") {
    auto s = scan_bytewise(kUel + "%!PS-Adobe-3.0\n");
    CHECK(s.reason() == StopReason::pdl_data);
    CHECK(s.header().uel);
    CHECK(s.header_size() == kUel.size());
    CHECK(s.header().pjl_lines == 0);

    // A UEL cut short by other bytes.
    s = scan_bytewise(kUel + "@PJL\r\n\x1b%-12E");
    CHECK(s.reason() == StopReason::pdl_data);
    CHECK(s.header_size() == kUel.size() + 6);
}

TEST_CASE("pjl: over-long lines and the scan limit", "[pjl]") {
    ScanLimits limits;
    limits.max_line = 32;
    const std::string head = kUel + "@PJL SET USERNAME=\"alice\"\r\n";
    auto s = scan_bytewise(head + "@PJL COMMENT " + std::string(40, 'x') + "\r\n", false, limits);
    CHECK(s.reason() == StopReason::line_too_long);
    CHECK(s.header().username == "alice");  // kept
    CHECK(s.header_size() == head.size());

    // Exactly max_line bytes after "@PJL" (CR included) is fine.
    s = scan(head + "@PJL " + std::string(30, 'x') + "\r\n", false, limits);
    CHECK(s.reason() == StopReason::none);

    limits = {};
    limits.max_scan_bytes = 100;
    std::string many = kUel;
    while (many.size() < 200) many += "@PJL SET X=Y\n";
    s = scan_bytewise(many, false, limits);
    CHECK(s.reason() == StopReason::scan_limit);
    CHECK(s.scanned() == 100);
    CHECK(s.header_size() <= 100);
    CHECK(s.header_size() == kUel.size() + 13 * ((100 - kUel.size()) / 13));

    limits.max_scan_bytes = 0;
    HeaderScanner none(limits);
    CHECK(none.feed(std::string_view("x")) == ScanStatus::done);
    CHECK(none.reason() == StopReason::scan_limit);
    CHECK(none.scanned() == 0);
}

TEST_CASE("pjl: after deciding, nothing more is read", "[pjl]") {
    HeaderScanner s;
    const std::string job = kUel + "@PJL ENTER LANGUAGE=PCL\r\n\x1b" "E";
    CHECK(s.feed(job) == ScanStatus::done);
    const std::size_t scanned = s.scanned();
    CHECK(scanned == job.size() - 2);
    CHECK(s.feed(job) == ScanStatus::done);
    CHECK(s.finish() == ScanStatus::done);
    CHECK(s.scanned() == scanned);
    CHECK(s.reason() == StopReason::enter_language);
    s.reset();
    CHECK_FALSE(s.is_done());
    CHECK(s.scanned() == 0);
    CHECK(s.feed(std::string_view("%PDF")) == ScanStatus::done);
}

TEST_CASE("pjl: CUPS PPD header (HP CM3530 PDF)", "[pjl]") {
    const std::string head = kUel +
                             "@PJL\r\n"
                             "@PJL JOB NAME = \"Quarterly report\" DISPLAY = \"42 alice Quarterly report\"\r\n"
                             "@PJL SET USERNAME = \"alice\"\r\n"
                             "@PJL SET DUPLEX=ON\r\n"
                             "@PJL SET PAPER=LETTER\r\n"
                             "@PJL ENTER LANGUAGE = PDF\r\n";
    const auto s = scan_bytewise(head + "%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
    CHECK(s.reason() == StopReason::enter_language);
    CHECK(s.header_size() == head.size());
    CHECK(s.scanned() == head.size());
    const Header& h = s.header();
    CHECK(h.uel);
    CHECK(h.pjl_lines == 6);
    CHECK(h.job_name == "Quarterly report");
    CHECK(h.username == "alice");
    CHECK(h.language == "PDF");
    CHECK(h.owner() == "alice");
    CHECK(h.title() == "Quarterly report");
}

TEST_CASE("pjl: HP driver on Windows", "[pjl]") {
    const std::string head = kUel +
                             "@PJL SET STRINGCODESET=UTF8\n"
                             "@PJL JOB NAME=\"Microsoft Word - Budget.docx\"\r\n"
                             "@PJL COMMENT \"HP Universal Printing PCL 6 (61.250.1.24832); Windows 10 Pro\"\n"
                             "@PJL COMMENT \"Username: jdoe; App Filename: Budget.docx; 3-14-2025\"\n"
                             "@PJL SET JOBATTR=\"OS=Windows\"\n"
                             "@PJL SET JOBATTR=\"JobAcct1=jdoe\"\n"
                             "@PJL SET JOBATTR=\"JobAcct2=WS-0042\"\n"
                             "@PJL SET JOBATTR=\"JobAcct3=CORP\"\n"
                             "@PJL SET JOBATTR=\"JobAcct6=WINWORD \"\n"
                             "@PJL DMINFO ASCIIHEX=\"0400040101020D10100115\"\n"
                             "@PJL SET USERNAME=\"JDOE\"\n"
                             "@PJL SET QTY =1\n"
                             "@PJL SET LPARM : PCL SYMSET = ROMAN8\n"
                             "@PJL ENTER LANGUAGE=PCLXL\n";
    const auto s = scan_bytewise(head + ") HP-PCL XL;3;0\n");
    CHECK(s.reason() == StopReason::enter_language);
    CHECK(s.header_size() == head.size());
    const Header& h = s.header();
    CHECK(h.utf8);
    CHECK(h.job_acct_user == "jdoe");
    CHECK(h.username == "JDOE");
    CHECK(h.comment_user == "jdoe");
    CHECK(h.comment_title == "Budget.docx");
    CHECK(h.owner() == "jdoe");
    CHECK(h.title() == "Microsoft Word - Budget.docx");
    CHECK(h.language == "PCLXL");
}

TEST_CASE("pjl: other vendors' owner lines", "[pjl]") {
    // Ricoh: USERID carries the time; HOSTLOGINNAME is the login.
    auto s = scan(kUel + "@PJL JOB NAME=\"LibreOffice - Doc1\"\n@PJL SET JOBNAME=\"LibreOffice - Doc1\"\n"
                         "@PJL SET USERID=\"17:07 mmuster\"\n@PJL SET HOSTLOGINNAME=\"mmuster\"\n"
                         "@PJL ENTER LANGUAGE=PCLXL\n");
    CHECK(s.header().user_id == "17:07 mmuster");
    CHECK(s.header().owner() == "mmuster");
    CHECK(s.header().set_jobname == "LibreOffice - Doc1");

    // Xerox.
    s = scan(kUel + "@PJL JOB MODE=PRINTER\n@PJL SET JOBATTR=\"@JOAU=kim\"\n@PJL SET JOBATTR=\"@JOAP=\"\n"
                    "@PJL ENTER LANGUAGE=PCL\n");
    CHECK(s.header().joau_user == "kim");
    CHECK(s.header().owner() == "kim");
    CHECK_FALSE(s.header().title());

    // Lexmark.
    s = scan(kUel + "@PJL LJOBINFO USERID = \"pat@example.org\" HOSTID = \"ws7\"\n@PJL ENTER LANGUAGE=PDF\n");
    CHECK(s.header().ljobinfo_user == "pat@example.org");
    CHECK(s.header().owner() == "pat@example.org");

    // foo2zjs-style filters.
    s = scan(kUel + "@PJL COMMENT USERNAME=\"Username: lee\"\n@PJL COMMENT DOCNAME=\"notes.txt\"\n"
                    "@PJL SET USERNAME=root\n@PJL ENTER LANGUAGE=ZJS\n");
    CHECK(s.header().comment_user == "lee");
    CHECK(s.header().comment_title == "notes.txt");
    CHECK(s.header().username == "root");
    CHECK(s.header().owner() == "root");
    CHECK(s.header().title() == "notes.txt");

    // A bare key=value comment, and a Fuji Xerox DNAME without quotes.
    s = scan(kUel + "@PJL COMMENT \"username=sam\"\n@PJL COMMENT DNAME=Big plan v2.pdf\n");
    CHECK(s.header().comment_user == "sam");
    CHECK(s.header().comment_title == "Big plan v2.pdf");

    // Comments that carry nothing.
    s = scan(kUel + "@PJL COMMENT **Give job a name**\n@PJL COMMENT \"NUP = NUP_1\"\n@PJL COMMENT\n"
                    "@PJL COMMENT Version:4.00\n@PJL COMMENT \"a; b; c:\"\n");
    CHECK_FALSE(s.header().owner());
    CHECK_FALSE(s.header().title());
    CHECK(s.header().pjl_lines == 5);
}

TEST_CASE("pjl: syntax variations", "[pjl]") {
    // Lower case, extra blanks and tabs, LF only, unquoted values with spaces,
    // an unclosed quote, blank lines.
    auto s = scan_bytewise("\r\n" + kUel + "\n\n@pjl job name=\"a\"\n@Pjl\tSet\tUserName = ann lee \n"
                                           "@PJL SET JOBNAME=\"unclosed\n@PJL   enter   language=postscript  \n%!");
    CHECK(s.reason() == StopReason::enter_language);
    CHECK(s.header().job_name == "a");
    CHECK(s.header().username == "ann lee");
    CHECK(s.header().set_jobname == "unclosed");
    CHECK(s.header().language == "POSTSCRIPT");

    // Without UEL, PJL lines alone still count; ENTER without a value ends it.
    s = scan_bytewise("@PJL SET USERNAME=\"x\"\n@PJL ENTER\nrest");
    CHECK(s.reason() == StopReason::enter_language);
    CHECK_FALSE(s.header().uel);
    CHECK_FALSE(s.header().language);
    CHECK(s.header().owner() == "x");

    // The first of each field wins; empty and control-only values are no values.
    s = scan(kUel + "@PJL SET USERNAME=\"\"\n@PJL SET USERNAME=\"\x01\x02\"\n@PJL SET USERNAME=\"first\"\n"
                    "@PJL SET USERNAME=\"second\"\n@PJL JOB NAME=\"t1\"\n@PJL JOB NAME=\"t2\"\n");
    CHECK(s.header().username == "first");
    CHECK(s.header().job_name == "t1");

    // PJL lines without ENTER, then PCL: automatic language switch.
    const std::string head = kUel + "@PJL JOB NAME=\"p\"\r\n";
    s = scan_bytewise(head + "\x1b" "E\x1b&l1X");
    CHECK(s.reason() == StopReason::pdl_data);
    CHECK(s.header_size() == head.size());

    // The stream ends inside the header: the last line without LF still counts.
    s = scan_bytewise(kUel + "@PJL SET USERNAME=\"eve\"", true);
    CHECK(s.reason() == StopReason::end_of_stream);
    CHECK(s.header().owner() == "eve");
    s = scan_bytewise(kUel + "@PJL ENTER LANGUAGE=PDF", true);
    CHECK(s.reason() == StopReason::enter_language);
    CHECK(s.header().language == "PDF");
}

TEST_CASE("pjl: names are sanitised", "[pjl]") {
    // ISO-8859-1 (Windows ANSI) becomes UTF-8 unless the job declared UTF-8.
    auto s = scan(kUel + "@PJL SET USERNAME=\"J\xF6rg\"\n@PJL JOB NAME=\"Caf\xC3\xA9\"\n");
    CHECK(s.header().username == "J\xC3\xB6rg");
    CHECK(s.header().job_name == "Caf\xC3\xA9");
    s = scan(kUel + "@PJL SET STRINGCODESET=UTF8\n@PJL SET USERNAME=\"J\xF6rg\"\n");
    CHECK(s.header().username == "J\xEF\xBF\xBDrg");

    // Control characters go, the length is bounded.
    s = scan(kUel + "@PJL JOB NAME=\"a\x1b[2Jb\x7F\x0B" "c\"\n@PJL SET USERNAME=\"" + std::string(400, 'u') + "\"\n");
    CHECK(s.header().job_name == "a[2Jbc");
    CHECK(s.header().username->size() == 255);

    // NUL bytes inside a PJL line are not the end of it.
    s = scan(kUel + "@PJL SET USERNAME=\"nu\0ll\"\n"s);
    CHECK(s.header().username == "null");
}
