// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/log: pg::log::escape (untrusted text in log lines) and
// the text sink's escaping of structured fields.
#include "gateway/log/log.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using pg::log::escape;

namespace {

// Decodes the escaped form back to bytes: \" \\ and \xNN; everything else literal.
std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out += s[i];
            continue;
        }
        REQUIRE(i + 1 < s.size());
        char c = s[++i];
        if (c == '"' || c == '\\') {
            out += c;
        } else {
            REQUIRE(c == 'x');
            REQUIRE(i + 2 < s.size());
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        }
    }
    return out;
}

// True when every byte is printable ASCII or part of a multi-byte UTF-8 sequence
// (no raw control bytes reach a log line).
bool no_raw_controls(std::string_view s) {
    for (unsigned char c : s)
        if (c < 0x20 || c == 0x7f) return false;
    return true;
}

}  // namespace

TEST_CASE("escape: plain ASCII is unchanged", "[log][escape]") {
    CHECK(escape("") == "");
    CHECK(escape("hello world") == "hello world");
    const std::string printable = " !#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~";
    CHECK(escape(printable) == printable);
    CHECK(escape("office-2.example:631") == "office-2.example:631");
}

TEST_CASE("escape: quotes and backslashes are backslash-escaped", "[log][escape]") {
    CHECK(escape("\"") == "\\\"");
    CHECK(escape("\\") == "\\\\");
    CHECK(escape(R"(a"b\c)") == R"(a\"b\\c)");
    CHECK(escape(R"(\x41)") == R"(\\x41)");  // a literal "\x41" cannot pose as an escape
    CHECK(unescape(escape(R"(say "\n")")) == R"(say "\n")");
}

TEST_CASE("escape: control bytes become \\xNN", "[log][escape]") {
    CHECK(escape("\n") == "\\x0a");
    CHECK(escape("\r\t") == "\\x0d\\x09");
    CHECK(escape("a\x01z") == "a\\x01z");
    CHECK(escape("\x1b[31mred") == "\\x1b[31mred");
    CHECK(escape("\x7f") == "\\x7f");
    CHECK(escape(std::string_view("a\0b", 3)) == "a\\x00b");
    // Forged log line: the newline cannot start a new record.
    const std::string forged = "job\n2026-01-01T00:00:00Z info EVENT=job_committed";
    const std::string out = escape(forged);
    CHECK(out.find('\n') == std::string::npos);
    CHECK(unescape(out) == forged);
    // Every byte 0x00..0x1f and 0x7f.
    for (int c = 0; c < 0x20; ++c) {
        CAPTURE(c);
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        CHECK(escape(std::string(1, static_cast<char>(c))) == hex);
    }
}

TEST_CASE("escape: valid UTF-8 passes", "[log][escape]") {
    CHECK(escape("café") == "café");                // U+00E9, 2 bytes
    CHECK(escape("€") == "€");                      // U+20AC, 3 bytes
    CHECK(escape("😀") == "😀");                    // U+1F600, 4 bytes
    CHECK(escape("Grüße, 東京 😀!") == "Grüße, 東京 😀!");
    CHECK(escape("\xc2\xa0") == "\xc2\xa0");          // U+00A0, first non-C1 2-byte
    CHECK(escape("\xed\x9f\xbf") == "\xed\x9f\xbf");  // U+D7FF, last before surrogates
    CHECK(escape("\xee\x80\x80") == "\xee\x80\x80");  // U+E000, first after them
    CHECK(escape("\xef\xbf\xbf") == "\xef\xbf\xbf");  // U+FFFF
    CHECK(escape("\xf0\x90\x80\x80") == "\xf0\x90\x80\x80");  // U+10000
    CHECK(escape("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf");  // U+10FFFF, the last
}

TEST_CASE("escape: invalid UTF-8 is escaped byte by byte", "[log][escape]") {
    CHECK(escape("\x80") == "\\x80");                        // lone continuation
    CHECK(escape("a\xbfz") == "a\\xbfz");
    CHECK(escape("\xc0\xaf") == "\\xc0\\xaf");               // overlong '/'
    CHECK(escape("\xc1\xbf") == "\\xc1\\xbf");               // overlong
    CHECK(escape("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");      // overlong 3-byte
    CHECK(escape("\xf0\x80\x80\xaf") == "\\xf0\\x80\\x80\\xaf");  // overlong 4-byte
    CHECK(escape("\xed\xa0\x80") == "\\xed\\xa0\\x80");      // surrogate U+D800
    CHECK(escape("\xed\xbf\xbf") == "\\xed\\xbf\\xbf");      // surrogate U+DFFF
    CHECK(escape("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // U+110000
    CHECK(escape("\xf5") == "\\xf5");
    CHECK(escape("\xf5\x80\x80\x80") == "\\xf5\\x80\\x80\\x80");
    CHECK(escape("\xff\xfe") == "\\xff\\xfe");
    CHECK(escape("\xc3") == "\\xc3");                        // truncated at the end
    CHECK(escape("\xe2\x82") == "\\xe2\\x82");
    CHECK(escape("\xe2\x82z") == "\\xe2\\x82z");             // truncated mid-string
    CHECK(escape("\xf0\x9f\x98") == "\\xf0\\x9f\\x98");
    CHECK(escape("\xc3(") == "\\xc3(");                       // bad continuation
    CHECK(escape("\xc2\x80") == "\\xc2\\x80");               // C1 control U+0080
    CHECK(escape("\xc2\x9f") == "\\xc2\\x9f");               // C1 control U+009F
    // A valid sequence right after an invalid byte survives.
    CHECK(escape("\x80\xc3\xa9") == "\\x80\xc3\xa9");
    // Latin-1 text (not UTF-8) round-trips through the escapes.
    CHECK(unescape(escape("l\xe9on")) == "l\xe9on");
    CHECK(escape("l\xe9on") == "l\\xe9on");
}

TEST_CASE("escape: output is capped with \"...\"", "[log][escape]") {
    CHECK(escape(std::string(300, 'a')) == std::string(256, 'a') + "...");
    CHECK(escape(std::string(256, 'a')) == std::string(256, 'a'));  // exactly at the cap
    CHECK(escape("abc", 3) == "abc");
    CHECK(escape("abcd", 3) == "abc...");
    CHECK(escape("abcd", 0) == "...");
    CHECK(escape("", 0) == "");
    // The cap never splits a UTF-8 sequence or an escape.
    const std::string euros = "€€€€€€€€";
    for (std::size_t max = 0; max < 12; ++max) {
        CAPTURE(max);
        std::string out = escape(euros, max);
        REQUIRE(out.size() >= 3);
        REQUIRE(out.substr(out.size() - 3) == "...");
        std::string body = out.substr(0, out.size() - 3);
        CHECK(body.size() % 3 == 0);
        CHECK(euros.compare(0, body.size(), body) == 0);
        CHECK(body.size() >= max);
        CHECK(body.size() < max + 3);  // at most one item past the cap
    }
    const std::string controls(20, '\x01');
    for (std::size_t max = 1; max < 12; ++max) {
        CAPTURE(max);
        std::string out = escape(controls, max);
        REQUIRE(out.substr(out.size() - 3) == "...");
        std::string body = out.substr(0, out.size() - 3);
        CHECK(body.size() % 4 == 0);
        CHECK(body.size() < max + 4);
        CHECK(unescape(body) == std::string(body.size() / 4, '\x01'));
    }
    // Large inputs stay bounded.
    CHECK(escape(std::string(1 << 20, '\n')).size() <= 256 + 3 + 3);
}

TEST_CASE("escape: arbitrary bytes never leave raw control bytes and decode back", "[log][escape]") {
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    std::string out = escape(all, 1 << 20);
    CHECK(no_raw_controls(out));
    CHECK(unescape(out) == all);
    // Pseudo-random byte strings.
    std::uint32_t x = 2463534242u;
    for (int round = 0; round < 200; ++round) {
        std::string in;
        for (int i = 0; i < 64; ++i) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            in += static_cast<char>(x & 0xff);
        }
        std::string e = escape(in, 1 << 20);
        CHECK(no_raw_controls(e));
        CHECK(unescape(e) == in);
    }
}

TEST_CASE("logger: levels and escaped fields in the text form", "[log][logger]") {
    pg::log::Logger quiet(pg::log::Target::stderr_text, pg::conf::LogLevel::off);
    CHECK_FALSE(quiet.to_journal());
    CHECK_FALSE(quiet.enabled(pg::conf::LogLevel::critical));

    pg::log::Logger log(pg::log::Target::stderr_text, pg::conf::LogLevel::warning);
    CHECK(log.enabled(pg::conf::LogLevel::error));
    CHECK(log.enabled(pg::conf::LogLevel::warning));
    CHECK_FALSE(log.enabled(pg::conf::LogLevel::info));
    log.set_level(pg::conf::LogLevel::debug);
    CHECK(log.enabled(pg::conf::LogLevel::debug));
    log.set_level(pg::conf::LogLevel::warning);

    // Capture fd 2 in a temporary file while logging.
    char tmpl[] = "/tmp/pg-log-test-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    std::fflush(stderr);
    int saved = ::dup(2);
    REQUIRE(saved >= 0);
    ::dup2(fd, 2);
    log.info({.event = "hidden"}, "not shown at warning level");
    log.warn({.event = "peer_bad_input", .job_id = 42, .queue = "q\nEVENT=forged", .peer = "198.51.100.1:515",
              .proto = "lpd"},
             "bad control file");
    log.flush();
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::string text;
    {
        char buf[4096];
        ssize_t n;
        ::lseek(fd, 0, SEEK_SET);
        while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    ::unlink(tmpl);

    INFO(text);
    CHECK(text.find("hidden") == std::string::npos);
    CHECK(text.find("EVENT=peer_bad_input") != std::string::npos);
    CHECK(text.find("JOB_ID=42") != std::string::npos);
    CHECK(text.find("QUEUE=q\\x0aEVENT=forged") != std::string::npos);
    CHECK(text.find("PEER=198.51.100.1:515") != std::string::npos);
    CHECK(text.find("PROTO=lpd") != std::string::npos);
    CHECK(text.find("bad control file") != std::string::npos);
    // One record, one line.
    CHECK(std::count(text.begin(), text.end(), '\n') == 1);
}
