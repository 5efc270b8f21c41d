// SPDX-License-Identifier: Apache-2.0
// pg::text::sanitize_name: ill-formed UTF-8 and control characters first.
#include <catch2/catch.hpp>

#include "protocols/text/sanitize.hpp"

using pg::text::is_valid_utf8;
using pg::text::sanitize_name;

namespace {
const std::string kFFFD = "\xEF\xBF\xBD";
}

TEST_CASE("sanitize: ill-formed UTF-8 becomes U+FFFD per maximal subpart", "[text][sanitize]") {
    CHECK(sanitize_name("a\xFF" "b") == "a" + kFFFD + "b");
    CHECK(sanitize_name("\x80") == kFFFD);                        // stray continuation
    CHECK(sanitize_name("\xC0\xAF") == kFFFD + kFFFD);            // overlong '/'
    CHECK(sanitize_name("\xE0\x80\xAF") == kFFFD + kFFFD + kFFFD);  // overlong, 3 bytes
    CHECK(sanitize_name("\xED\xA0\x80") == kFFFD + kFFFD + kFFFD);  // surrogate U+D800
    CHECK(sanitize_name("\xF4\x90\x80\x80") == kFFFD + kFFFD + kFFFD + kFFFD);  // above U+10FFFF
    CHECK(sanitize_name("\xE2\x82") == kFFFD);                    // truncated at the end
    CHECK(sanitize_name("\xE2\x82x") == kFFFD + "x");             // truncated in the middle
    CHECK(sanitize_name("\xF0\x9F\x98") == kFFFD);
    CHECK(sanitize_name("\xF5\x80") == kFFFD + kFFFD);
}

TEST_CASE("sanitize: control characters are removed", "[text][sanitize]") {
    CHECK(sanitize_name(std::string("a\0b", 3)) == "ab");
    CHECK(sanitize_name("tab\there\r\nnext\x1b[0m") == "tabherenext[0m");
    CHECK(sanitize_name("del\x7f") == "del");
    CHECK(sanitize_name("c1\xC2\x85\xC2\x9F" "end") == "c1end");  // NEL, U+009F
    CHECK(sanitize_name("\xC2\xA0") == "\xC2\xA0");              // NBSP is not a control
}

TEST_CASE("sanitize: valid text is kept", "[text][sanitize]") {
    CHECK(sanitize_name("") == "");
    CHECK(sanitize_name("Quarterly report.pdf") == "Quarterly report.pdf");
    CHECK(sanitize_name("Jos\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x96\xA8") ==
          "Jos\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x96\xA8");
    CHECK(sanitize_name("\xEF\xBF\xBE") == "\xEF\xBF\xBE");  // a non-character, but well-formed
}

TEST_CASE("sanitize: the length limit cuts at a code point boundary", "[text][sanitize]") {
    const std::string a254(254, 'a');
    CHECK(sanitize_name(a254 + "\xC3\xA9") == a254);
    CHECK(sanitize_name(a254 + "b\xC3\xA9") == a254 + "b");
    CHECK(sanitize_name(std::string(1000, 'x')).size() == 255);
    CHECK(sanitize_name(a254 + "\xFF") == a254);  // U+FFFD (3 bytes) does not fit either
    CHECK(sanitize_name("\xE6\x97\xA5\xE6\x97\xA5", 5) == "\xE6\x97\xA5");
    CHECK(sanitize_name("abc", 0).empty());
    // Removed controls do not count.
    CHECK(sanitize_name(std::string(300, '\n') + "ok") == "ok");
}

TEST_CASE("sanitize: output is always valid UTF-8 without controls", "[text][sanitize]") {
    // Every two-byte input.
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; ++b) {
            const std::string in{static_cast<char>(a), static_cast<char>(b)};
            const std::string out = sanitize_name(in);
            REQUIRE(is_valid_utf8(out));
            for (unsigned char c : out) REQUIRE((c >= 0x20 && c != 0x7F));
        }
    }
    CHECK_FALSE(is_valid_utf8("\xC3"));
    CHECK(is_valid_utf8("\xC3\xA9"));
}
