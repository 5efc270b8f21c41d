// SPDX-License-Identifier: Apache-2.0
// pg::ipp::decode / encode over libcups: malformed sections first, then round trips.
#include <cstring>

#include <catch2/catch.hpp>

#include "protocols/ipp/message.hpp"
#include "tests/unit/protocols/ipp_test_util.hpp"

using namespace pg::ipp;
using namespace pg::ipp::test;

namespace {

errc code_of(const ParseResult<Message>& r) {
    return static_cast<errc>(r.error().code.value());
}

}  // namespace

TEST_CASE("decode: empty and truncated input", "[ipp][message]") {
    const Bytes request = print_job_request();
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{8}, std::size_t{9},
                          request.size() / 2, request.size() - 1}) {
        INFO("prefix " << n);
        const auto r = decode(std::span(request).first(n));
        REQUIRE_FALSE(r);
        CHECK(code_of(r) == errc::truncated);
        CHECK(r.error().offset == n);
    }
}

TEST_CASE("decode: trailing bytes after the end tag are refused", "[ipp][message]") {
    const Bytes request = get_jobs_request();
    const Bytes body = concat({request, bytes("%PDF")});
    const auto r = decode(body);
    REQUIRE_FALSE(r);
    CHECK(code_of(r) == errc::trailing_data);
    CHECK(r.error().offset == request.size());
}

TEST_CASE("decode: framing errors come from the frame parser", "[ipp][message]") {
    const Bytes b = Writer().request_start().u8(0x0C).end();
    const auto r = decode(b);
    REQUIRE_FALSE(r);
    CHECK(code_of(r) == errc::bad_delimiter);

    FrameLimits limits;
    limits.max_section_bytes = 32;
    const auto small = decode(print_job_request(), limits);
    REQUIRE_FALSE(small);
    CHECK(code_of(small) == errc::section_too_large);
}

TEST_CASE("decode: libcups refuses well-framed but invalid values", "[ipp][message]") {
    SECTION("integer of 3 bytes") {
        const Bytes b = Writer().request_start().u8(0x21).u16(6).raw("job-id").u16(3).u8(0).u8(0).u8(1).end();
        const auto r = decode(b);
        REQUIRE_FALSE(r);
        CHECK(code_of(r) == errc::decode_failed);
    }
    SECTION("boolean of 2 bytes") {
        const Bytes b = Writer().request_start().u8(0x22).u16(7).raw("my-jobs").u16(2).u8(0).u8(1).end();
        const auto r = decode(b);
        REQUIRE_FALSE(r);
        CHECK(code_of(r) == errc::decode_failed);
    }
    SECTION("1setOf with incompatible value tags") {
        const Bytes b =
            Writer().request_start().attr(0x44, "requested-attributes", "all").integer("", 5).end();
        const auto r = decode(b);
        REQUIRE_FALSE(r);
        CHECK(code_of(r) == errc::decode_failed);
    }
    SECTION("textWithLanguage whose inner lengths overflow the value") {
        const Bytes b = Writer().request_start().u8(0x35).u16(1).raw("t").u16(4).u16(9).u16(0).end();
        const auto r = decode(b);
        REQUIRE_FALSE(r);
        CHECK(code_of(r) == errc::decode_failed);
    }
}

TEST_CASE("decode: a hand-written request", "[ipp][message]") {
    const Bytes b = Writer()
                        .request_start(0x0002, 99, 1, 1)
                        .attr(0x45, "printer-uri", "ipp://localhost/printers/q")
                        .attr(0x42, "requesting-user-name", "carol")
                        .u8(0x02)
                        .integer("copies", 3)
                        .end();
    auto r = decode(b);
    REQUIRE(r);
    Message& m = *r;
    CHECK(m.version() == Version{1, 1});
    CHECK(m.operation_or_status() == 0x0002);
    CHECK(m.request_id() == 99);
    ipp_attribute_t* uri = ippFindAttribute(m.get(), "printer-uri", IPP_TAG_URI);
    REQUIRE(uri != nullptr);
    CHECK(std::strcmp(ippGetString(uri, 0, nullptr), "ipp://localhost/printers/q") == 0);
    ipp_attribute_t* copies = ippFindAttribute(m.get(), "copies", IPP_TAG_INTEGER);
    REQUIRE(copies != nullptr);
    CHECK(ippGetGroupTag(copies) == IPP_TAG_JOB);
    CHECK(ippGetInteger(copies, 0) == 3);

    // Re-encoding gives the same bytes back.
    const auto again = encode(m);
    REQUIRE(again);
    CHECK(*again == b);
}

TEST_CASE("decode/encode: real requests round-trip byte for byte", "[ipp][message]") {
    for (const Bytes& request : {print_job_request(), get_printer_attributes_request(), create_job_request(),
                                 send_document_request(), get_jobs_request()}) {
        REQUIRE_FALSE(request.empty());
        auto m = decode(request);
        REQUIRE(m);
        const auto out = encode(*m);
        REQUIRE(out);
        CHECK(*out == request);
        // Encoding twice works (the write state is reset each time).
        const auto twice = encode(*m);
        REQUIRE(twice);
        CHECK(*twice == request);
    }
}

TEST_CASE("decode: the collection of a real Create-Job", "[ipp][message]") {
    auto m = decode(create_job_request());
    REQUIRE(m);
    ipp_attribute_t* media_col = ippFindAttribute(m->get(), "media-col", IPP_TAG_BEGIN_COLLECTION);
    REQUIRE(media_col != nullptr);
    ipp_t* col = ippGetCollection(media_col, 0);
    ipp_attribute_t* size = ippFindAttribute(col, "media-size", IPP_TAG_BEGIN_COLLECTION);
    REQUIRE(size != nullptr);
    ipp_attribute_t* x = ippFindAttribute(ippGetCollection(size, 0), "x-dimension", IPP_TAG_INTEGER);
    REQUIRE(x != nullptr);
    CHECK(ippGetInteger(x, 0) == 21000);
}

TEST_CASE("encode: empty message and message ownership", "[ipp][message]") {
    Message empty;
    CHECK_FALSE(empty);
    const auto r = encode(empty);
    REQUIRE_FALSE(r);
    CHECK(r.error() == make_error_code(errc::encode_failed));
    CHECK(empty.version() == Version{0, 0});
    CHECK(empty.request_id() == 0);

    Message a = Message::create();
    REQUIRE(a);
    ipp_t* raw = a.get();
    Message b(std::move(a));
    CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    CHECK(b.get() == raw);
    Message c;
    c = std::move(b);
    CHECK(c.get() == raw);
    // A new message encodes to its header and the end tag.
    ippSetRequestId(c.get(), 5);
    const auto bytes_out = encode(c);
    REQUIRE(bytes_out);
    CHECK(*bytes_out == bytes({0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x03}));
}

TEST_CASE("decode: libcups conversions of hand-written edge cases", "[ipp][message]") {
    SECTION("separator between two job groups survives a round trip") {
        const Bytes b = Writer()
                            .request_start()
                            .u8(0x02)
                            .integer("job-id", 1)
                            .u8(0x02)
                            .integer("job-id", 2)
                            .end();
        auto m = decode(b);
        REQUIRE(m);
        const auto out = encode(*m);
        REQUIRE(out);
        CHECK(*out == b);
    }
    SECTION("an extension tag") {
        // RFC 8010 §3.5.2 layout, as Debian's libcups 2.4.2 reads it (CUPS issue #913).
        const Bytes b = Writer().request_start().u8(0x7F).u16(1).raw("x").u16(6).u32(0x40000000u).raw("ab").end();
        auto m = decode(b);
        REQUIRE(m);
        const auto out = encode(*m);
        REQUIRE(out);
        CHECK(*out == b);
    }
}
