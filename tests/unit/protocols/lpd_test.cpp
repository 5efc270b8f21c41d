// SPDX-License-Identifier: Apache-2.0
// pg::lpd: daemon commands, receive-job subcommands, control files and queue state
// answers. Malformed input first, then what CUPS, rlpr and LPRng really send
// (shared conformance notes §3.4).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "protocols/lpd/command.hpp"
#include "protocols/lpd/control_file.hpp"
#include "protocols/lpd/lpd.hpp"
#include "protocols/lpd/reply.hpp"
#include "protocols/text/sanitize.hpp"
#include "tests/unit/test_bytes.hpp"

using namespace pg::lpd;
using namespace std::string_literals;

namespace {

template <class T>
errc code_of(const ParseResult<T>& r) {
    REQUIRE(r.has_error());
    CHECK(r.error().code.category().name() == std::string("pg.lpd"));
    CHECK_FALSE(r.error().message.empty());
    return static_cast<errc>(r.error().code.value());
}

}  // namespace

// ---------------------------------------------------------------------------
// Daemon commands (RFC 1179 §5)

TEST_CASE("lpd command: empty, unknown and over-long lines", "[lpd][command]") {
    CHECK(code_of(parse_command("")) == errc::empty_line);
    CHECK(code_of(parse_command("\n")) == errc::empty_line);
    CHECK(code_of(parse_command("\r")) == errc::empty_line);
    for (const std::string& line : {"\x00lp"s, "\x06lp"s, "Alp"s, "\xFFlp"s, "\x7Flp"s, " lp"s}) {
        INFO("first byte " << static_cast<int>(static_cast<unsigned char>(line[0])));
        CHECK(code_of(parse_command(line)) == errc::unknown_command);
    }
    const auto r = parse_command("\x09lp");
    CHECK(r.error().message == "unknown command byte 0x09");

    CommandLimits roomy;
    roomy.max_operands = 1000;
    std::string longest = "\x03lp";
    while (longest.size() + 2 <= max_command_line) longest += " u";
    longest += " ";
    REQUIRE(longest.size() == max_command_line);
    CHECK(parse_command(longest, roomy).has_value());
    CHECK(code_of(parse_command(longest + "u", roomy)) == errc::line_too_long);
    CommandLimits tight;
    tight.max_line = 8;
    CHECK(code_of(parse_command("\x03lp alice", tight)) == errc::line_too_long);
}

TEST_CASE("lpd command: queue names", "[lpd][command]") {
    CHECK(code_of(parse_command("\x02")) == errc::bad_queue);
    CHECK(code_of(parse_command("\x02 lp")) == errc::bad_queue);
    CHECK(code_of(parse_command("\x02\tlp")) == errc::bad_queue);
    CHECK(code_of(parse_command("\x02l\x01p")) == errc::bad_queue);
    CHECK(code_of(parse_command("\x02l\0p"s)) == errc::bad_queue);
    CHECK(code_of(parse_command("\x02lp\x1b[2J")) == errc::bad_queue);
    CHECK(code_of(parse_command("\x02l\x7Fp")) == errc::bad_queue);
    CHECK(code_of(parse_command("\x02lp\xFF")) == errc::bad_queue);           // not UTF-8
    CHECK(code_of(parse_command("\x02lp\xC2\x85")) == errc::bad_queue);       // C1 NEL
    CHECK(code_of(parse_command("\x02" + std::string(max_queue_name + 1, 'q'))) == errc::bad_queue);
    CHECK(parse_command("\x02" + std::string(max_queue_name, 'q')).has_value());

    // \1 and \2 take the queue alone.
    const auto extra = parse_command("\x02lp extra");
    CHECK(code_of(extra) == errc::bad_queue);
    CHECK(extra.error().offset == 4);
    CHECK(code_of(parse_command("\x01lp x")) == errc::bad_queue);
}

TEST_CASE("lpd command: user names and job numbers", "[lpd][command]") {
    CHECK(code_of(parse_command("\x03lp a\x01" "b")) == errc::bad_operand);
    CHECK(code_of(parse_command("\x03lp 4294967296")) == errc::bad_operand);
    CHECK(code_of(parse_command("\x03lp 99999999999999999999999")) == errc::bad_operand);
    CHECK(code_of(parse_command("\x03lp " + std::string(256, 'u'))) == errc::bad_operand);
    CHECK(code_of(parse_command("\x03lp \xC2\x85")) == errc::bad_operand);  // empty once sanitised

    std::string many = "\x03lp";
    for (int i = 0; i < 100; ++i) many += " u" + std::to_string(i);
    CHECK(parse_command(many).value().operands.size() == 100);
    const auto too_many = parse_command(many + " u100");
    CHECK(code_of(too_many) == errc::too_many_operands);
    CHECK(too_many.error().offset == many.size() + 1);

    const auto max = parse_command("\x03lp 4294967295 007");
    REQUIRE(max.has_value());
    CHECK(max->operands[0].kind == Operand::Kind::job_number);
    CHECK(max->operands[0].job_number == 4294967295u);
    CHECK(max->operands[1].job_number == 7u);
}

TEST_CASE("lpd command: remove jobs needs an agent", "[lpd][command]") {
    CHECK(code_of(parse_command("\x05lp")) == errc::missing_agent);
    CHECK(code_of(parse_command("\x05lp   ")) == errc::missing_agent);
    CHECK(code_of(parse_command("\x05lp r\x02oot")) == errc::bad_operand);

    // LPRng lprm.
    const auto r = parse_command("\x05lp root all");
    REQUIRE(r.has_value());
    CHECK(r->kind == CommandKind::remove_jobs);
    CHECK(r->queue == "lp");
    CHECK(r->agent == "root");
    REQUIRE(r->operands.size() == 1);
    CHECK(r->operands[0].kind == Operand::Kind::all);

    const auto mixed = parse_command("\x05lp alice 12 bob\t\t13\r");
    REQUIRE(mixed.has_value());
    CHECK(mixed->agent == "alice");
    REQUIRE(mixed->operands.size() == 3);
    CHECK(mixed->operands[0] == Operand{Operand::Kind::job_number, 12, ""});
    CHECK(mixed->operands[1] == Operand{Operand::Kind::user, 0, "bob"});
    CHECK(mixed->operands[2] == Operand{Operand::Kind::job_number, 13, ""});
}

TEST_CASE("lpd command: every RFC 1179 command", "[lpd][command]") {
    auto p = parse_command("\x01lp");
    REQUIRE(p.has_value());
    CHECK(p->kind == CommandKind::print_waiting);
    CHECK(p->queue == "lp");
    CHECK(p->operands.empty());

    p = parse_command("\x02pg-ipp-everywhere\n");  // a trailing LF is tolerated
    REQUIRE(p.has_value());
    CHECK(p->kind == CommandKind::receive_job);
    CHECK(p->queue == "pg-ipp-everywhere");

    p = parse_command("\x02lp  \r");  // CRLF client, trailing blanks
    REQUIRE(p.has_value());
    CHECK(p->queue == "lp");

    p = parse_command("\x03lp");
    REQUIRE(p.has_value());
    CHECK(p->kind == CommandKind::short_queue_state);
    CHECK(p->operands.empty());

    p = parse_command("\x04lp alice 42");
    REQUIRE(p.has_value());
    CHECK(p->kind == CommandKind::long_queue_state);
    REQUIRE(p->operands.size() == 2);
    CHECK(p->operands[0] == Operand{Operand::Kind::user, 0, "alice"});
    CHECK(p->operands[1] == Operand{Operand::Kind::job_number, 42, ""});

    // UTF-8 queue names pass; Latin-1 user names become UTF-8.
    p = parse_command("\x03K\xC3\xBC" "che J\xF6rg");
    REQUIRE(p.has_value());
    CHECK(p->queue == "K\xC3\xBC" "che");
    CHECK(p->operands[0].user == "J\xC3\xB6rg");
}

// ---------------------------------------------------------------------------
// Receive-job subcommands (RFC 1179 §6)

TEST_CASE("lpd subcommand: malformed counts", "[lpd][subcommand]") {
    CHECK(code_of(parse_subcommand("")) == errc::empty_line);
    CHECK(code_of(parse_subcommand("\x04" "10 cfA001h")) == errc::unknown_command);
    CHECK(code_of(parse_subcommand("\x00" "10 cfA001h"s)) == errc::unknown_command);
    CHECK(code_of(parse_subcommand("\x02 cfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x02")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x02-5 cfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x03+5 dfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x03" "abc dfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x03" "12a dfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x03" "0x10 dfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x03" "1.5 dfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x03" "1e3 dfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x02" "0 cfA001h")) == errc::bad_count);
    CHECK(code_of(parse_subcommand("\x02" "000 cfA001h")) == errc::bad_count);
}

TEST_CASE("lpd subcommand: declared sizes over the limits", "[lpd][subcommand]") {
    // The issue's abuse case: a 100 MB control file.
    const auto big = parse_subcommand("\x02" "104857600 cfA001host");
    CHECK(code_of(big) == errc::count_too_large);
    CHECK(big.error().message == "control file of 104857600 bytes declared, limit 65536");

    const auto huge = parse_subcommand("\x03" "99999999999999999999999999 dfA001host");
    CHECK(code_of(huge) == errc::count_too_large);
    CHECK(huge.error().message.find("more than 2^64") != std::string::npos);
    CHECK(code_of(parse_subcommand("\x03" "18446744073709551616 dfA001host")) == errc::count_too_large);

    SubcommandLimits limits;
    limits.max_control_bytes = 10;
    limits.max_data_bytes = 100;
    CHECK(parse_subcommand("\x02" "10 cfA001h", limits).value().count == 10u);
    CHECK(code_of(parse_subcommand("\x02" "11 cfA001h", limits)) == errc::count_too_large);
    CHECK(parse_subcommand("\x03" "100 dfA001h", limits).value().count == 100u);
    CHECK(code_of(parse_subcommand("\x03" "101 dfA001h", limits)) == errc::count_too_large);
    // The count is judged before the name.
    CHECK(code_of(parse_subcommand("\x03" "101 ../x", limits)) == errc::count_too_large);
    limits.max_data_bytes = UINT64_MAX;
    CHECK(parse_subcommand("\x03" "18446744073709551615 dfA001h", limits).value().count == UINT64_MAX);
}

TEST_CASE("lpd subcommand: file names", "[lpd][subcommand]") {
    CHECK(code_of(parse_subcommand("\x03" "100")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 ")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 \t \r")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 ../../etc/passwd")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 dfA/001")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 dfA 001")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 dfA\x01" "001")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 dfA\0" "001"s)) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 dfA001\xFF")) == errc::bad_file_name);
    CHECK(code_of(parse_subcommand("\x03" "100 " + std::string(max_file_name + 1, 'd'))) == errc::bad_file_name);
    CHECK(parse_subcommand("\x03" "100 " + std::string(max_file_name, 'd')).has_value());
}

TEST_CASE("lpd subcommand: abort, control file, data file", "[lpd][subcommand]") {
    auto s = parse_subcommand("\x01");
    REQUIRE(s.has_value());
    CHECK(s->kind == SubcommandKind::abort);
    CHECK(parse_subcommand("\x01whatever").value().kind == SubcommandKind::abort);

    // CUPS lpd backend.
    s = parse_subcommand("\x02" "56 cfA246vm");
    REQUIRE(s.has_value());
    CHECK(s->kind == SubcommandKind::control_file);
    CHECK(s->count == 56u);
    CHECK_FALSE(s->until_eof);
    CHECK(s->name == "cfA246vm");

    s = parse_subcommand("\x03" "2510 dfA246vm\r\n");
    REQUIRE(s.has_value());
    CHECK(s->kind == SubcommandKind::data_file);
    CHECK(s->count == 2510u);
    CHECK(s->name == "dfA246vm");

    // LPRng's "until EOF" data file, leading zeros, several blanks.
    s = parse_subcommand("\x03" "0 dfA123host.example.com");
    REQUIRE(s.has_value());
    CHECK(s->until_eof);
    CHECK(s->count == 0u);
    s = parse_subcommand("\x03" "0010 \t dfB123host  ");
    REQUIRE(s.has_value());
    CHECK(s->count == 10u);
    CHECK(s->name == "dfB123host");
}

TEST_CASE("lpd: spool names, file names and text", "[lpd]") {
    auto n = parse_spool_name("cfA246vm");
    REQUIRE(n);
    CHECK(n->control);
    CHECK(n->letter == 'A');
    CHECK(n->number == "246");
    CHECK(n->host == "vm");
    n = parse_spool_name("dfb12345host.example.com");
    REQUIRE(n);
    CHECK_FALSE(n->control);
    CHECK(n->letter == 'b');
    CHECK(n->number == "12345");
    CHECK(n->host == "host.example.com");
    CHECK(parse_spool_name("dfA001")->host.empty());
    CHECK_FALSE(parse_spool_name("dfA"));
    CHECK_FALSE(parse_spool_name("dfAhost"));
    CHECK_FALSE(parse_spool_name("xfA001host"));
    CHECK_FALSE(parse_spool_name("df1001host"));
    CHECK_FALSE(parse_spool_name("dfA1234567890host"));

    CHECK(is_valid_file_name("dfA001host"));
    CHECK(is_valid_file_name("df\xC3\xA9"));
    CHECK_FALSE(is_valid_file_name(""));
    CHECK_FALSE(is_valid_file_name("a/b"));
    CHECK_FALSE(is_valid_file_name("a b"));
    CHECK_FALSE(is_valid_file_name("a\tb"));
    CHECK_FALSE(is_valid_file_name("a\x7F"));
    CHECK_FALSE(is_valid_file_name("a\xC2\x9F"));
    CHECK_FALSE(is_valid_file_name("a\xC0\xAF"));

    CHECK(decode_text("J\xC3\xB6rg") == "J\xC3\xB6rg");
    CHECK(decode_text("J\xF6rg") == "J\xC3\xB6rg");                   // ISO-8859-1
    CHECK(decode_text("a\x85" "b\x9F" "c\xA0") == "abc\xC2\xA0");      // C1 dropped, NBSP kept
    CHECK(decode_text("a\r\nb\x1b" "c\0d"s) == "abcd");
    CHECK(decode_text(std::string(300, 'x')).size() == 255);
    CHECK(decode_text(std::string(300, '\xE9')).size() == 254);        // 127 x U+00E9
}

// ---------------------------------------------------------------------------
// Control files (RFC 1179 §7)

TEST_CASE("lpd control file: limits", "[lpd][control]") {
    const std::string body = "Hh\nPp\nldfA001h\n";
    ControlLimits limits;
    limits.max_bytes = body.size() - 1;
    const auto big = parse_control_file(body, limits);
    CHECK(code_of(big) == errc::control_file_too_large);
    CHECK(big.error().line == 0);
    limits.max_bytes = body.size();
    CHECK(parse_control_file(body, limits).has_value());
    CHECK(code_of(parse_control_file(std::string(64 * 1024 + 1, 'X'))) == errc::control_file_too_large);

    limits = {};
    limits.max_lines = 3;
    CHECK(parse_control_file(body, limits).has_value());
    const auto lines = parse_control_file(body + "\n", limits);
    CHECK(code_of(lines) == errc::too_many_lines);
    CHECK(lines.error().line == 4);
    CHECK(lines.error().offset == body.size());

    limits = {};
    limits.max_line = 8;
    const auto longline = parse_control_file("Hh\nJ" + std::string(8, 'j') + "\nldfA001h\n", limits);
    CHECK(code_of(longline) == errc::line_too_long);
    CHECK(longline.error().line == 2);
    CHECK(longline.error().offset == 3);
    CHECK(longline.error().message == "line 2 ('J'): line of 9 bytes, limit 8");
    CHECK(parse_control_file("Hh\nJ" + std::string(7, 'j') + "\nldfA001h\n", limits).has_value());
    // The CR of CRLF counts toward the line.
    CHECK(code_of(parse_control_file("J" + std::string(7, 'j') + "\r\nldfA001h\n", limits)) == errc::line_too_long);

    limits = {};
    limits.max_data_files = 2;
    CHECK(parse_control_file("fdfA001h\nfdfB001h\nfdfA001h\n", limits).has_value());
    const auto files = parse_control_file("fdfA001h\nfdfB001h\nfdfC001h\n", limits);
    CHECK(code_of(files) == errc::too_many_files);
    CHECK(files.error().line == 3);
}

TEST_CASE("lpd control file: malformed lines name their line", "[lpd][control]") {
    auto r = parse_control_file("Hh\nPp\nf../../etc/passwd\n");
    CHECK(code_of(r) == errc::bad_line);
    CHECK(r.error().line == 3);
    CHECK(r.error().offset == 7);
    CHECK(r.error().message == "line 3 ('f'): invalid data file name");

    CHECK(code_of(parse_control_file("l\n")) == errc::bad_line);
    CHECK(code_of(parse_control_file("ldf A\n")) == errc::bad_line);
    CHECK(code_of(parse_control_file("ldfA\x01\n")) == errc::bad_line);
    CHECK(code_of(parse_control_file("ldfA001h\nU\n")) == errc::bad_line);
    CHECK(code_of(parse_control_file("ldfA001h\nUa/b\n")) == errc::bad_line);

    r = parse_control_file("ldfA001h\nWwide\n");
    CHECK(code_of(r) == errc::bad_line);
    CHECK(r.error().message == "line 2 ('W'): operand is not a decimal number of 1 to 9 digits");
    CHECK(code_of(parse_control_file("ldfA001h\nW\n")) == errc::bad_line);
    CHECK(code_of(parse_control_file("ldfA001h\nI-4\n")) == errc::bad_line);
    CHECK(code_of(parse_control_file("ldfA001h\nI1234567890\n")) == errc::bad_line);

    r = parse_control_file("ldfA001h\nodfA001h\n");
    CHECK(code_of(r) == errc::bad_line);
    CHECK(r.error().line == 2);

    r = parse_control_file("Hh\nPalice\nJtitle\n");
    CHECK(code_of(r) == errc::no_print_file);
    CHECK(code_of(parse_control_file("")) == errc::no_print_file);
    CHECK(code_of(parse_control_file("\n\n\n")) == errc::no_print_file);
}

TEST_CASE("lpd control file: CUPS lpd backend", "[lpd][control]") {
    const auto r = parse_control_file("Hvm\nPalice\nJtitle\nldfA246vm\nUdfA246vm\nNtitle\n");
    REQUIRE(r.has_value());
    const ControlFile& c = *r;
    CHECK(c.host == "vm");
    CHECK(c.user == "alice");
    CHECK(c.job_name == "title");
    REQUIRE(c.files.size() == 1);
    CHECK(c.files[0] == PrintFile{"dfA246vm", 'l', 1, "title"});
    CHECK(c.unlink == std::vector<std::string>{"dfA246vm"});
    CHECK(c.source_name == "title");
    CHECK(c.line_count == 6);
    CHECK(c.ignored_lines == 0);
    CHECK(c.display_title() == "title");
    CHECK(c.prints("dfA246vm"));
    CHECK_FALSE(c.prints("dfA247vm"));
    CHECK_FALSE(c.banner_user);
}

TEST_CASE("lpd control file: rlpr with copies, mail and banner", "[lpd][control]") {
    const auto r = parse_control_file(
        "Hws1\nPbob\nMbob\nJreport\nCws1\nLbob\nodfA721ws1\nodfA721ws1\nUdfA721ws1\nNreport.ps\n");
    REQUIRE(r.has_value());
    CHECK(r->mail_user == "bob");
    CHECK(r->banner_class == "ws1");
    CHECK(r->banner_user == "bob");
    REQUIRE(r->files.size() == 1);
    CHECK(r->files[0] == PrintFile{"dfA721ws1", 'o', 2, "report.ps"});
    CHECK(r->total_copies() == 2u);

    const auto t = parse_control_file("Hws1\nPbob\nTpr title\nfdfA721ws1\nUdfA721ws1\n");
    REQUIRE(t.has_value());
    CHECK(t->title == "pr title");
    CHECK(t->display_title() == "pr title");
}

TEST_CASE("lpd control file: LPRng's extra lines are ignored", "[lpd][control]") {
    const auto r = parse_control_file(
        "Hhost.example.com\nProot\nJ/etc/hosts\nCA\nLroot\nAroot@host+123\nD2024-01-02-10:00:00.000\n"
        "Qlp\nN/etc/hosts\nfdfA123host.example.com\nUdfA123host.example.com\nZduplex\n<x\nR\nk\nz\nS1 2\n");
    REQUIRE(r.has_value());
    CHECK(r->user == "root");
    CHECK(r->job_name == "/etc/hosts");
    REQUIRE(r->files.size() == 1);
    CHECK(r->files[0].name == "dfA123host.example.com");
    CHECK(r->files[0].format == 'f');
    CHECK(r->files[0].source_name == "/etc/hosts");
    CHECK(r->ignored_lines == 9);
    CHECK(r->ignored_letters == "ADQZ<RkzS");
    CHECK(r->line_count == 17);
}

TEST_CASE("lpd control file: several data files and their N lines", "[lpd][control]") {
    // N after the print lines (CUPS, rlpr).
    auto r = parse_control_file("Pp\nfdfA001h\nUdfA001h\nNone\nldfB001h\nldfB001h\nUdfB001h\nNtwo\n");
    REQUIRE(r.has_value());
    REQUIRE(r->files.size() == 2);
    CHECK(r->files[0] == PrintFile{"dfA001h", 'f', 1, "one"});
    CHECK(r->files[1] == PrintFile{"dfB001h", 'l', 2, "two"});
    CHECK(r->total_copies() == 3u);
    CHECK(r->display_title() == "one");

    // N before them (LPRng).
    r = parse_control_file("Pp\nNone\nfdfA001h\nUdfA001h\nNtwo\nfdfB001h\nUdfB001h\n");
    REQUIRE(r.has_value());
    CHECK(r->files[0].source_name == "one");
    CHECK(r->files[1].source_name == "two");

    // Every print letter.
    std::string all;
    for (char letter : print_letters) all += std::string(1, letter) + "df" + letter + "001h\n";
    r = parse_control_file(all);
    REQUIRE(r.has_value());
    REQUIRE(r->files.size() == print_letters.size());
    for (std::size_t i = 0; i < print_letters.size(); ++i) CHECK(r->files[i].format == print_letters[i]);
    CHECK_FALSE(is_print_letter('\0'));
    CHECK_FALSE(is_print_letter('k'));
}

TEST_CASE("lpd control file: line ends, text and repeats", "[lpd][control]") {
    // CRLF, empty lines, no LF at the end.
    auto r = parse_control_file("Hh\r\n\r\nPalice\r\n\nldfA001h\r\nW132\nI8");
    REQUIRE(r.has_value());
    CHECK(r->host == "h");
    CHECK(r->user == "alice");
    CHECK(r->files[0].name == "dfA001h");
    CHECK(r->width == 132u);
    CHECK(r->indent == 8u);
    CHECK(r->line_count == 7);

    // Text is sanitised; ISO-8859-1 becomes UTF-8; control-only text is no text;
    // the last line of a kind wins.
    r = parse_control_file("PJ\xF6rg\nJa\x1b[31mb\x07\nPmallory\nH\x01\x02\nM\nldfA001h\nN\xC2\x85\n");
    REQUIRE(r.has_value());
    CHECK(r->user == "mallory");
    CHECK(r->job_name == "a[31mb");
    CHECK_FALSE(r->host);
    CHECK_FALSE(r->mail_user);
    CHECK_FALSE(r->source_name);
    CHECK_FALSE(r->files[0].source_name);

    r = parse_control_file("Pa\nJ" + std::string(400, 'j') + "\nldfA001h\nJ\xFF\n1/usr/lib/font/R\n4S\n");
    REQUIRE(r.has_value());
    CHECK(r->job_name == "\xC3\xBF");  // the last J wins; 0xFF read as ISO-8859-1
    CHECK(r->fonts[0] == "/usr/lib/font/R");
    CHECK_FALSE(r->fonts[1]);
    CHECK(r->fonts[3] == "S");

    // Unprintable first bytes are ignored and shown as '?'.
    r = parse_control_file("\x01x\n\x80y\nldfA001h\n");
    REQUIRE(r.has_value());
    CHECK(r->ignored_lines == 2);
    CHECK(r->ignored_letters == "?");

    // Title fallbacks.
    r = parse_control_file("ldfA001h\n");
    REQUIRE(r.has_value());
    CHECK(r->display_title().empty());

    // Bytes in a span.
    const pg::test::Bytes bytes = pg::test::bytes_of("Pbytes\nldfA001h\n");
    CHECK(parse_control_file(std::span<const std::byte>(bytes)).value().user == "bytes");
}

// ---------------------------------------------------------------------------
// Queue state answers (RFC 1179 §5.3, §5.4)

TEST_CASE("lpd reply: ordinals", "[lpd][reply]") {
    const std::vector<std::pair<std::uint64_t, std::string>> cases = {
        {0, "0th"},     {1, "1st"},     {2, "2nd"},     {3, "3rd"},     {4, "4th"},     {10, "10th"},
        {11, "11th"},   {12, "12th"},   {13, "13th"},   {21, "21st"},   {22, "22nd"},   {23, "23rd"},
        {101, "101st"}, {111, "111th"}, {112, "112th"}, {113, "113th"}, {1001, "1001st"},
    };
    for (const auto& [n, text] : cases) CHECK(ordinal(n) == text);
}

TEST_CASE("lpd reply: empty queues", "[lpd][reply]") {
    CHECK(format_queue_state("lp", QueueStatus::ready, {}, false) == "lp is ready\nno entries\n");
    CHECK(format_queue_state("lp", QueueStatus::stopped, {}, true) == "lp is not ready\nno entries\n");
}

TEST_CASE("lpd reply: short and long listings", "[lpd][reply]") {
    std::vector<QueueEntry> entries(3);
    entries[0] = {true, "alice", 17, "report.pdf", 12345, 2, "vm"};
    entries[1] = {false, "bob", 18, "(hidden)", 2048, 1, ""};
    entries[2] = {false, "carol-long-name", 4294967295u, "a very long title that will be cut here", 0, 1, ""};

    CHECK(format_queue_state("lp", QueueStatus::printing, entries, false) ==
          "lp is ready and printing\n"
          "Rank    Owner      Job     File(s)                         Total Size\n"
          "active  alice      17      report.pdf                      12345 bytes\n"
          "1st     bob        18      (hidden)                        2048 bytes\n"
          "2nd     carol-long 4294967295 a very long title that will be  0 bytes\n");

    CHECK(format_queue_state("lp", QueueStatus::printing, std::span(entries).first(2), true) ==
          "lp is ready and printing\n"
          "\n"
          "alice: active                            [job 17 vm]\n"
          "        2 copies of report.pdf                   12345 bytes\n"
          "\n"
          "bob: 1st                               [job 18]\n"
          "        (hidden)                                 2048 bytes\n");
}

TEST_CASE("lpd reply: untrusted text cannot add lines or break UTF-8", "[lpd][reply]") {
    std::vector<QueueEntry> entries(2);
    entries[0] = {false, "ev\nil", 1, "line\nbreak\r\x1b[2J", 1, 1, "h\nx"};
    entries[1] = {false, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 2,
                  "", 1, 1, ""};
    const std::string s = format_queue_state("l\nq", QueueStatus::ready, entries, false);
    CHECK(std::count(s.begin(), s.end(), '\n') == 4);
    CHECK(s.find("evil") != std::string::npos);
    CHECK(s.find("linebreak[2J") != std::string::npos);
    CHECK(s.find("untitled") != std::string::npos);
    // Ten of the eleven 'é' fit the owner column.
    std::string ten;
    for (int i = 0; i < 10; ++i) ten += "\xC3\xA9";
    CHECK(s.find(ten + " 2 ") != std::string::npos);
    CHECK(pg::text::is_valid_utf8(s));
    const std::string l = format_queue_state("lp", QueueStatus::ready, entries, true);
    CHECK(std::count(l.begin(), l.end(), '\n') == 7);
    CHECK(l.find("[job 1 hx]") != std::string::npos);
}

TEST_CASE("lpd reply: operand selection", "[lpd][reply]") {
    const std::vector<Operand> none;
    CHECK(selects(none, "alice", 1));
    const auto cmd = parse_command("\x03lp bob 7").value();
    CHECK(selects(cmd.operands, "bob", 1));
    CHECK(selects(cmd.operands, "alice", 7));
    CHECK_FALSE(selects(cmd.operands, "alice", 8));
    CHECK_FALSE(selects(cmd.operands, "Bob", 8));
    const auto all = parse_command("\x05lp root all").value();
    CHECK(selects(all.operands, "anyone", 99));
}
