// SPDX-License-Identifier: Apache-2.0
// pg::ipp::Response: byte-exact encodings against hand-written RFC 8010 arrays,
// and cross-checks against libcups' own encoder and decoder.
#include <cstring>
#include <ctime>

#include <catch2/catch.hpp>

#include "protocols/ipp/response.hpp"
#include "tests/unit/protocols/ipp_test_util.hpp"

using namespace pg::ipp;
using namespace pg::ipp::test;

TEST_CASE("response: a small response, byte for byte", "[ipp][response]") {
    Response r(Status::successful_ok, 1, {1, 1});
    r.set_status_message("successful-ok");
    r.add_printer_group()
        .add_enum("printer-state", 3)
        .add_boolean("printer-is-accepting-jobs", true)
        .add_mime_media_types("document-format-supported", {"application/pdf", "image/jpeg"});

    const Bytes expected = concat({
        bytes({0x01, 0x01,                 // version-number 1.1
               0x00, 0x00,                 // status-code successful-ok
               0x00, 0x00, 0x00, 0x01,     // request-id 1
               0x01,                       // operation-attributes-tag
               0x47, 0x00, 0x12}), bytes("attributes-charset"), bytes({0x00, 0x05}), bytes("utf-8"),
        bytes({0x48, 0x00, 0x1B}), bytes("attributes-natural-language"), bytes({0x00, 0x02}), bytes("en"),
        bytes({0x41, 0x00, 0x0E}), bytes("status-message"), bytes({0x00, 0x0D}), bytes("successful-ok"),
        bytes({0x04,                       // printer-attributes-tag
               0x23, 0x00, 0x0D}), bytes("printer-state"), bytes({0x00, 0x04, 0x00, 0x00, 0x00, 0x03}),
        bytes({0x22, 0x00, 0x19}), bytes("printer-is-accepting-jobs"), bytes({0x00, 0x01, 0x01}),
        bytes({0x49, 0x00, 0x19}), bytes("document-format-supported"), bytes({0x00, 0x0F}), bytes("application/pdf"),
        bytes({0x49, 0x00, 0x00,           // additional value: name-length 0
               0x00, 0x0A}), bytes("image/jpeg"),
        bytes({0x03}),                     // end-of-attributes-tag
    });
    CHECK(r.bytes() == expected);
}

TEST_CASE("response: collections, byte for byte", "[ipp][response]") {
    Collection size;
    size.add_integer("x-dimension", 21000).add_integer("y-dimension", 29700);
    Collection media;
    media.add_collection("media-size", size).add_keyword("media-source", "auto");
    Response r(Status::successful_ok, 0x01020304, {2, 0});
    r.add_job_group().add_collection("media-col", media);

    const Bytes expected = concat({
        bytes({0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x01,
               0x47, 0x00, 0x12}), bytes("attributes-charset"), bytes({0x00, 0x05}), bytes("utf-8"),
        bytes({0x48, 0x00, 0x1B}), bytes("attributes-natural-language"), bytes({0x00, 0x02}), bytes("en"),
        bytes({0x02,                                   // job-attributes-tag
               0x34, 0x00, 0x09}), bytes("media-col"), bytes({0x00, 0x00}),
        bytes({0x4A, 0x00, 0x00, 0x00, 0x0A}), bytes("media-size"),
        bytes({0x34, 0x00, 0x00, 0x00, 0x00}),
        bytes({0x4A, 0x00, 0x00, 0x00, 0x0B}), bytes("x-dimension"),
        bytes({0x21, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x52, 0x08}),
        bytes({0x4A, 0x00, 0x00, 0x00, 0x0B}), bytes("y-dimension"),
        bytes({0x21, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x74, 0x04}),
        bytes({0x37, 0x00, 0x00, 0x00, 0x00}),         // end of media-size
        bytes({0x4A, 0x00, 0x00, 0x00, 0x0C}), bytes("media-source"),
        bytes({0x44, 0x00, 0x00, 0x00, 0x04}), bytes("auto"),
        bytes({0x37, 0x00, 0x00, 0x00, 0x00}),         // end of media-col
        bytes({0x03}),
    });
    CHECK(r.bytes() == expected);
}

TEST_CASE("response: dateTime, resolution, range, octetString, with-language, out-of-band", "[ipp][response]") {
    Response r(Status::client_error_attributes_or_values_not_supported, 9, {2, 0}, "de");
    const Resolution res[] = {{300, 300, ResolutionUnits::dots_per_inch}, {600, 1200, ResolutionUnits::dots_per_cm}};
    const std::byte octets[] = {std::byte{0x00}, std::byte{0xFF}};
    r.add_printer_group()
        .add_date_time("printer-current-time", date_time_utc(1700000000))
        .add_resolutions("printer-resolution-supported", res)
        .add_range("copies-supported", 1, 999)
        .add_octet_string("x-octets", octets)
        .add_text_with_language("printer-info", "fr", "Salut");
    r.add_unsupported_group().add_out_of_band("x-unknown", ValueTag::unsupported);

    const Bytes expected = concat({
        bytes({0x02, 0x00, 0x04, 0x0B, 0x00, 0x00, 0x00, 0x09, 0x01,
               0x47, 0x00, 0x12}), bytes("attributes-charset"), bytes({0x00, 0x05}), bytes("utf-8"),
        bytes({0x48, 0x00, 0x1B}), bytes("attributes-natural-language"), bytes({0x00, 0x02}), bytes("de"),
        bytes({0x04, 0x31, 0x00, 0x14}), bytes("printer-current-time"),
        // 2023-11-14 22:13:20.0 +00:00 (RFC 2579 DateAndTime)
        bytes({0x00, 0x0B, 0x07, 0xE7, 11, 14, 22, 13, 20, 0, '+', 0, 0}),
        bytes({0x32, 0x00, 0x1C}), bytes("printer-resolution-supported"),
        bytes({0x00, 0x09, 0x00, 0x00, 0x01, 0x2C, 0x00, 0x00, 0x01, 0x2C, 0x03}),
        bytes({0x32, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x02, 0x58, 0x00, 0x00, 0x04, 0xB0, 0x04}),
        bytes({0x33, 0x00, 0x10}), bytes("copies-supported"),
        bytes({0x00, 0x08, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0xE7}),
        bytes({0x30, 0x00, 0x08}), bytes("x-octets"), bytes({0x00, 0x02, 0x00, 0xFF}),
        bytes({0x35, 0x00, 0x0C}), bytes("printer-info"),
        bytes({0x00, 0x0B, 0x00, 0x02}), bytes("fr"), bytes({0x00, 0x05}), bytes("Salut"),
        bytes({0x05, 0x10, 0x00, 0x09}), bytes("x-unknown"), bytes({0x00, 0x00}),
        bytes({0x03}),
    });
    CHECK(r.bytes() == expected);
}

TEST_CASE("response: the same bytes as libcups' encoder", "[ipp][response]") {
    const time_t now = 1234567890;
    Collection col;
    col.add_keyword("media-type", "stationery").add_integers("x", {1, 2});

    Response ours(Status::successful_ok_ignored_or_substituted_attributes, 321, {2, 0});
    ours.set_status_message("ok");
    ours.operation().add_text("detailed-status-message", "fine");
    Group& printer = ours.add_printer_group();
    printer.add_uri("printer-uri-supported", "ipp://h/p")
        .add_keywords("printer-state-reasons", {"none"})
        .add_name("printer-name", "office")
        .add_integer("queued-job-count", -1)
        .add_enums("operations-supported", {2, 4, 5, 6})
        .add_charset("charset-configured", "utf-8")
        .add_natural_language("natural-language-configured", "en")
        .add_uri_scheme("reference-uri-scheme", "http")
        .add_date_time("printer-current-time", date_time_utc(now))
        .add_name_with_language("printer-name-fr", "fr", "bureau")
        .add_collection("media-col-default", col);
    ours.add_job_group().add_integer("job-id", 1);
    ours.add_job_group().add_integer("job-id", 2);

    ipp_t* ipp = ippNew();
    ippSetVersion(ipp, 2, 0);
    ippSetStatusCode(ipp, IPP_STATUS_OK_IGNORED_OR_SUBSTITUTED);
    ippSetRequestId(ipp, 321);
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_CHARSET, "attributes-charset", nullptr, "utf-8");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_LANGUAGE, "attributes-natural-language", nullptr, "en");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", nullptr, "ok");
    ippAddString(ipp, IPP_TAG_OPERATION, IPP_TAG_TEXT, "detailed-status-message", nullptr, "fine");
    ippAddString(ipp, IPP_TAG_PRINTER, IPP_TAG_URI, "printer-uri-supported", nullptr, "ipp://h/p");
    ippAddString(ipp, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-state-reasons", nullptr, "none");
    ippAddString(ipp, IPP_TAG_PRINTER, IPP_TAG_NAME, "printer-name", nullptr, "office");
    ippAddInteger(ipp, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "queued-job-count", -1);
    const int ops[] = {2, 4, 5, 6};
    ippAddIntegers(ipp, IPP_TAG_PRINTER, IPP_TAG_ENUM, "operations-supported", 4, ops);
    ippAddString(ipp, IPP_TAG_PRINTER, IPP_TAG_CHARSET, "charset-configured", nullptr, "utf-8");
    ippAddString(ipp, IPP_TAG_PRINTER, IPP_TAG_LANGUAGE, "natural-language-configured", nullptr, "en");
    ippAddString(ipp, IPP_TAG_PRINTER, IPP_TAG_URISCHEME, "reference-uri-scheme", nullptr, "http");
    ippAddDate(ipp, IPP_TAG_PRINTER, "printer-current-time", ippTimeToDate(now));
    ippAddString(ipp, IPP_TAG_PRINTER, IPP_TAG_NAMELANG, "printer-name-fr", "fr", "bureau");
    ipp_t* c = ippNew();
    ippAddString(c, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-type", nullptr, "stationery");
    const int xs[] = {1, 2};
    ippAddIntegers(c, IPP_TAG_ZERO, IPP_TAG_INTEGER, "x", 2, xs);
    ippAddCollection(ipp, IPP_TAG_PRINTER, "media-col-default", c);
    ippDelete(c);
    ippAddInteger(ipp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", 1);
    ippAddSeparator(ipp);
    ippAddInteger(ipp, IPP_TAG_JOB, IPP_TAG_INTEGER, "job-id", 2);
    const Bytes theirs = encode_cups(ipp);

    REQUIRE_FALSE(theirs.empty());
    CHECK(ours.bytes() == theirs);
}

TEST_CASE("response: limits, sanitising and empty parts", "[ipp][response]") {
    SECTION("status-message is sanitised and cut to 255 bytes") {
        Response r(Status::client_error_bad_request, 1);
        r.set_status_message(std::string("bad\r\nthing\x1b") + std::string(400, 'x'));
        CHECK(r.status_message().size() == 255);
        CHECK(r.status_message().rfind("badthing", 0) == 0);
    }
    SECTION("text and name values are cut at a UTF-8 boundary") {
        std::string e_acute;
        for (int i = 0; i < 600; ++i) e_acute += "\xC3\xA9";
        Response r(Status::successful_ok, 1);
        r.add_printer_group().add_text("printer-info", e_acute).add_name("printer-name", e_acute);
        auto m = decode(r.bytes());
        REQUIRE(m);
        ipp_attribute_t* info = ippFindAttribute(m->get(), "printer-info", IPP_TAG_TEXT);
        ipp_attribute_t* name = ippFindAttribute(m->get(), "printer-name", IPP_TAG_NAME);
        REQUIRE(info != nullptr);
        REQUIRE(name != nullptr);
        CHECK(std::strlen(ippGetString(info, 0, nullptr)) == 1022);
        CHECK(std::strlen(ippGetString(name, 0, nullptr)) == 254);
    }
    SECTION("empty groups and empty 1setOf lists are left out") {
        Response r(Status::successful_ok, 3, {1, 0});
        r.add_job_group();
        r.add_printer_group().add_keywords("printer-state-reasons", std::span<const std::string_view>{});
        r.add_unsupported_group();
        CHECK(r.bytes() == Response(Status::successful_ok, 3, {1, 0}).bytes());
        CHECK(r.bytes().size() == 8 + 1 + 28 + 34 + 1);
    }
    SECTION("keywords from a vector of strings") {
        const std::vector<std::string> names = {"one", "two"};
        Response a(Status::successful_ok, 1);
        a.add_printer_group().add_keywords("k", names);
        Response b(Status::successful_ok, 1);
        b.add_printer_group().add_keywords("k", {"one", "two"});
        CHECK(a.bytes() == b.bytes());
    }
    SECTION("add_group(operation) is the operation group") {
        Response r(Status::successful_ok, 1);
        CHECK(&r.add_group(GroupTag::operation) == &r.operation());
    }
}

TEST_CASE("response: date_time_utc", "[ipp][response]") {
    const DateTime epoch = date_time_utc(0);
    CHECK(epoch.year == 1970);
    CHECK(epoch.month == 1);
    CHECK(epoch.day == 1);
    CHECK(epoch.hour == 0);
    const DateTime leap = date_time_utc(951782400);  // 2000-02-29T00:00:00Z
    CHECK(leap.year == 2000);
    CHECK(leap.month == 2);
    CHECK(leap.day == 29);
    const DateTime before = date_time_utc(-1);  // 1969-12-31T23:59:59Z
    CHECK(before.year == 1969);
    CHECK(before.month == 12);
    CHECK(before.day == 31);
    CHECK(before.seconds == 59);
    const DateTime far = date_time_utc(INT64_MAX);
    CHECK(far.year == 9999);
}
