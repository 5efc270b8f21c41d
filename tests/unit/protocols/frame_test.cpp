// SPDX-License-Identifier: Apache-2.0
// pg::ipp::FrameParser: malformed input first, then incremental feeding of real
// requests built by libcups.
#include <catch2/catch.hpp>

#include "protocols/ipp/frame.hpp"
#include "tests/unit/protocols/ipp_test_util.hpp"

using namespace pg::ipp;
using namespace pg::ipp::test;

namespace {

struct Outcome {
    FrameStatus status;
    std::size_t consumed;  // total over all feeds
};

Outcome feed_all(FrameParser& p, std::span<const std::byte> data) {
    const FeedResult r = p.feed(data);
    return {r.status, r.consumed};
}

Outcome feed_bytes_one_by_one(FrameParser& p, std::span<const std::byte> data) {
    std::size_t total = 0;
    FrameStatus status = FrameStatus::need_more;
    for (std::size_t i = 0; i < data.size() && status == FrameStatus::need_more; ++i) {
        const FeedResult r = p.feed(data.subspan(i, 1));
        total += r.consumed;
        status = r.status;
    }
    return {status, total};
}

errc code_of(const FrameParser& p) {
    return static_cast<errc>(p.error().code.value());
}

}  // namespace

TEST_CASE("frame: truncated header needs more", "[ipp][frame]") {
    const Bytes header = Writer().header(2, 0, 0x000B, 7);
    for (std::size_t n = 0; n < header.size(); ++n) {
        FrameParser p;
        const FeedResult r = p.feed(std::span(header).first(n));
        CHECK(r.status == FrameStatus::need_more);
        CHECK(r.consumed == n);
        CHECK_FALSE(p.header_done());
    }
    FrameParser p;
    CHECK(p.feed(header).status == FrameStatus::need_more);
    CHECK(p.header_done());
    CHECK(p.version() == Version{2, 0});
    CHECK(p.operation_id() == 0x000B);
    CHECK(p.request_id() == 7u);
}

TEST_CASE("frame: a request truncated inside any field needs more", "[ipp][frame]") {
    const Bytes request = print_job_request();
    REQUIRE(request.size() > 100);
    for (std::size_t n = 0; n < request.size(); ++n) {
        FrameParser p;
        const FeedResult r = p.feed(std::span(request).first(n));
        INFO("prefix " << n);
        CHECK(r.status == FrameStatus::need_more);
        CHECK(r.consumed == n);
        CHECK(p.section_size() == n);
    }
}

TEST_CASE("frame: 0xFFFF value length fails at the length field", "[ipp][frame]") {
    const Bytes b = Writer().request_start().u8(0x41).u16(4).raw("name").u16(0xFFFF);
    FrameParser p;
    const FeedResult r = p.feed(b);
    CHECK(r.status == FrameStatus::error);
    CHECK(r.consumed == b.size());
    CHECK(code_of(p) == errc::value_too_long);
    CHECK(p.error().offset == b.size() - 2);
    CHECK(p.error().code.category().name() == std::string("pg.ipp"));
}

TEST_CASE("frame: a declared value longer than the section limit fails before its bytes", "[ipp][frame]") {
    // IPP lengths are 16-bit, so no field can declare 2 GB; what matters is that a
    // declaration beyond the limit fails at once, before any value byte arrives.
    FrameLimits limits;
    limits.max_section_bytes = 120;
    const Bytes b = Writer().request_start().u8(0x41).u16(4).raw("name").u16(30000);
    FrameParser p(limits);
    const FeedResult r = p.feed(b);
    CHECK(r.status == FrameStatus::error);
    CHECK(code_of(p) == errc::section_too_large);
    CHECK(p.error().offset == b.size() - 2);
}

TEST_CASE("frame: 0xFFFF name length fails at the length field", "[ipp][frame]") {
    const Bytes b = Writer().request_start().u8(0x44).u16(0xFFFF);
    FrameParser p;
    CHECK(p.feed(b).status == FrameStatus::error);
    CHECK(code_of(p) == errc::name_too_long);
    CHECK(p.error().offset == b.size() - 2);
}

TEST_CASE("frame: name and value limits are inclusive", "[ipp][frame]") {
    const std::string name255(255, 'n');
    const std::string value32767(32767, 'v');
    {
        const Bytes b = Writer().request_start().attr(0x41, name255, value32767).end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::complete);
    }
    {
        const Bytes b = Writer().request_start().attr(0x41, name255 + "n", "v").end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::error);
        CHECK(code_of(p) == errc::name_too_long);
    }
    {
        const Bytes b = Writer().request_start().attr(0x41, "n", value32767 + "v").end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::error);
        CHECK(code_of(p) == errc::value_too_long);
    }
}

TEST_CASE("frame: names must be printable US-ASCII", "[ipp][frame]") {
    // libcups keeps names as C strings: "printer-uri\0x" would become "printer-uri".
    for (std::string_view bad : {std::string_view("printer-uri\0x", 13), std::string_view("job name"),
                                 std::string_view("caf\xC3\xA9"), std::string_view("tab\t"), std::string_view("\x7F")}) {
        INFO("name " << bad.size() << " bytes");
        Writer w;
        w.request_start().u8(0x44).u16(static_cast<int>(bad.size()));
        const std::size_t name_at = w.size();
        w.raw(bad).u16(1).raw("x").end();
        std::size_t first_bad = 0;
        while (static_cast<unsigned char>(bad[first_bad]) > 0x20 && static_cast<unsigned char>(bad[first_bad]) < 0x7F)
            ++first_bad;
        FrameParser p;
        const FeedResult r = p.feed(w.data());
        CHECK(r.status == FrameStatus::error);
        CHECK(code_of(p) == errc::bad_name);
        CHECK(p.error().offset == name_at + first_bad);
        CHECK(r.consumed == name_at + first_bad + 1);
    }
    // Member names (memberAttrName values) too.
    const Bytes member = Writer().request_start().attr(0x34, "c", "").attr(0x4A, "", std::string_view("a\0b", 3))
                             .integer("", 1).attr(0x37, "", "").end();
    FrameParser m;
    CHECK(m.feed(member).status == FrameStatus::error);
    CHECK(code_of(m) == errc::bad_name);
    // Vendor attribute names with capitals and dots are fine.
    const Bytes vendor = Writer().request_start().attr(0x42, "com.apple.print.JobInfo.PMJobName", "x").end();
    FrameParser v;
    CHECK(v.feed(vendor).status == FrameStatus::complete);
}

TEST_CASE("frame: too many attributes", "[ipp][frame]") {
    SECTION("custom limit: the 4th field fails at its tag") {
        FrameLimits limits;
        limits.max_attributes = 3;
        Writer w;
        w.request_start().attr(0x45, "printer-uri", "ipp://h/p");
        const std::size_t fourth = w.size();
        w.attr(0x44, "which-jobs", "all").end();
        FrameParser p(limits);
        CHECK(p.feed(w.data()).status == FrameStatus::error);
        CHECK(code_of(p) == errc::too_many_attributes);
        CHECK(p.error().offset == fourth);
    }
    SECTION("default limit counts additional values") {
        const auto build = [](int values) {
            Writer w;
            w.request_start().attr(0x44, "requested-attributes", "all");
            for (int i = 1; i < values; ++i) w.attr(0x44, "", "all");
            return w.end();
        };
        FrameParser ok;
        CHECK(ok.feed(build(1998).data()).status == FrameStatus::complete);
        CHECK(ok.attribute_count() == 2000);
        FrameParser too_many;
        CHECK(too_many.feed(build(1999).data()).status == FrameStatus::error);
        CHECK(code_of(too_many) == errc::too_many_attributes);
    }
}

TEST_CASE("frame: invalid and reserved delimiters", "[ipp][frame]") {
    for (int tag : {0x00, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F}) {
        INFO("tag " << tag);
        Writer w;
        w.request_start();
        const std::size_t at = w.size();
        w.u8(tag).end();
        FrameParser p;
        CHECK(p.feed(w.data()).status == FrameStatus::error);
        CHECK(code_of(p) == errc::bad_delimiter);
        CHECK(p.error().offset == at);
    }
    // Registered since RFC 8010's list: subscription (RFC 3995), event-notification
    // (RFC 3996), resource, document, system (PWG 5100.5, 5100.22).
    for (int tag : {0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A}) {
        INFO("tag " << tag);
        const Bytes b = Writer().request_start().u8(tag).attr(0x44, "x", "y").end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::complete);
    }
}

TEST_CASE("frame: a second operation group is refused", "[ipp][frame]") {
    const Bytes b = Writer().request_start().u8(0x02).u8(0x01).end();
    FrameParser p;
    CHECK(p.feed(b).status == FrameStatus::error);
    CHECK(code_of(p) == errc::bad_delimiter);
}

TEST_CASE("frame: extension tags", "[ipp][frame]") {
    // RFC 8010 §3.5.2: value tag 0x7F, then name-length, name, value-length, and a
    // value whose first 4 octets are the extended tag.
    SECTION("above 0x7FFFFFFF fails right after the 4-octet tag") {
        Writer w;
        w.request_start().u8(0x7F).u16(1).raw("x").u16(6);
        const std::size_t value_at = w.size();
        w.u32(0x80000000u).raw("ab").end();
        FrameParser p;
        const FeedResult r = p.feed(w.data());
        CHECK(r.status == FrameStatus::error);
        CHECK(r.consumed == value_at + 4);
        CHECK(code_of(p) == errc::bad_extension_tag);
        CHECK(p.error().offset == value_at);
    }
    SECTION("a value too short to hold the tag") {
        Writer w;
        w.request_start().u8(0x7F).u16(1).raw("x");
        const std::size_t length_at = w.size();
        w.u16(3).raw("abc").end();
        FrameParser p;
        CHECK(p.feed(w.data()).status == FrameStatus::error);
        CHECK(code_of(p) == errc::bad_extension_tag);
        CHECK(p.error().offset == length_at);
    }
    SECTION("0x7FFFFFFF, with and without more value bytes") {
        for (std::string_view rest : {std::string_view(), std::string_view("ab")}) {
            const Bytes b = Writer()
                                .request_start()
                                .u8(0x7F).u16(1).raw("x").u16(static_cast<int>(4 + rest.size()))
                                .u32(0x7FFFFFFFu).raw(rest)
                                .end();
            FrameParser p;
            const FeedResult r = p.feed(b);
            CHECK(r.status == FrameStatus::complete);
            CHECK(r.consumed == b.size());
            CHECK(p.attribute_count() == 3);
            FrameParser bytewise;
            CHECK(feed_bytes_one_by_one(bytewise, b).consumed == b.size());
            CHECK(bytewise.is_complete());
        }
    }
    SECTION("the value of an extension attribute may contain anything") {
        const Bytes b = Writer().request_start().u8(0x7F).u16(1).raw("x").u16(6).u32(0x100).u8(0x03).u8(0x03).end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::complete);
        CHECK(p.section_size() == b.size());
    }
}

TEST_CASE("frame: attributes need a group and a name", "[ipp][frame]") {
    {
        const Bytes b = Writer().header().attr(0x47, "attributes-charset", "utf-8").end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::error);
        CHECK(code_of(p) == errc::attribute_outside_group);
        CHECK(p.error().offset == 8);
    }
    {
        const Bytes b = Writer().header().u8(0x01).attr(0x47, "", "utf-8").end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::error);
        CHECK(code_of(p) == errc::missing_attribute_name);
        CHECK(p.error().offset == 10);
    }
    {
        // An additional value right after a delimiter has no attribute to extend.
        const Bytes b = Writer().request_start().u8(0x02).attr(0x44, "", "x").end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::error);
        CHECK(code_of(p) == errc::missing_attribute_name);
    }
}

TEST_CASE("frame: collection syntax", "[ipp][frame]") {
    const auto nested = [](int depth) {
        Writer w;
        w.request_start().u8(0x02).attr(0x34, "c", "");
        for (int i = 1; i < depth; ++i) w.attr(0x4A, "", "m").attr(0x34, "", "");
        w.attr(0x4A, "", "leaf").integer("", 1);
        for (int i = 0; i < depth; ++i) w.attr(0x37, "", "");
        return w.end();
    };
    SECTION("ten levels are fine, eleven are not") {
        FrameParser ok;
        CHECK(ok.feed(nested(10).data()).status == FrameStatus::complete);
        FrameParser deep;
        CHECK(deep.feed(nested(11).data()).status == FrameStatus::error);
        CHECK(code_of(deep) == errc::collection_too_deep);
    }
    SECTION("end-of-attributes inside a collection") {
        const Bytes b = Writer().request_start().u8(0x02).attr(0x34, "c", "").end().end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::error);
        CHECK(code_of(p) == errc::bad_collection);
    }
    SECTION("memberAttrName and endCollection outside a collection") {
        for (int tag : {0x4A, 0x37}) {
            const Bytes b = Writer().request_start().attr(tag, "", "x").end();
            FrameParser p;
            CHECK(p.feed(b).status == FrameStatus::error);
            CHECK(code_of(p) == errc::bad_collection);
        }
    }
    SECTION("named attribute inside a collection") {
        const Bytes b = Writer().request_start().u8(0x02).attr(0x34, "c", "").integer("x", 1).attr(0x37, "", "").end();
        FrameParser p;
        CHECK(p.feed(b).status == FrameStatus::error);
        CHECK(code_of(p) == errc::bad_collection);
    }
    SECTION("member attribute without a value") {
        for (int next : {0x4A, 0x37}) {
            Writer w;
            w.request_start().u8(0x02).attr(0x34, "c", "").attr(0x4A, "", "a");
            const std::size_t at = w.size();
            w.attr(next, "", next == 0x4A ? "b" : "").integer("", 1).attr(0x37, "", "").end();
            FrameParser p;
            CHECK(p.feed(w.data()).status == FrameStatus::error);
            CHECK(code_of(p) == errc::bad_collection);
            CHECK(p.error().offset == at);
        }
        // An empty collection is fine.
        FrameParser empty;
        CHECK(empty.feed(Writer().request_start().attr(0x34, "c", "").attr(0x37, "", "").end().data()).status ==
              FrameStatus::complete);
    }
    SECTION("begCollection with a value, empty member name") {
        FrameParser a;
        CHECK(a.feed(Writer().request_start().attr(0x34, "c", "x").end().data()).status == FrameStatus::error);
        CHECK(code_of(a) == errc::bad_collection);
        FrameParser b;
        CHECK(b.feed(Writer().request_start().attr(0x34, "c", "").attr(0x4A, "", "").end().data()).status ==
              FrameStatus::error);
        CHECK(code_of(b) == errc::bad_collection);
    }
}

TEST_CASE("frame: the section size limit", "[ipp][frame]") {
    const Bytes b = Writer().request_start().attr(0x45, "printer-uri", "ipp://h/p").end();
    FrameLimits exact;
    exact.max_section_bytes = b.size();
    FrameParser ok(exact);
    CHECK(ok.feed(b).status == FrameStatus::complete);
    CHECK(ok.section_size() == b.size());

    FrameLimits smaller;
    smaller.max_section_bytes = b.size() - 1;
    FrameParser p(smaller);
    CHECK(p.feed(b).status == FrameStatus::error);
    CHECK(code_of(p) == errc::section_too_large);
}

TEST_CASE("frame: the end tag split across feeds", "[ipp][frame]") {
    const Bytes request = get_printer_attributes_request();
    const Bytes document = bytes("%PDF-1.7\n");
    FrameParser p;
    const FeedResult first = p.feed(std::span(request).first(request.size() - 1));
    CHECK(first.status == FrameStatus::need_more);
    CHECK(first.consumed == request.size() - 1);
    const Bytes rest = concat({std::span(request).last(1), document});
    const FeedResult second = p.feed(rest);
    CHECK(second.status == FrameStatus::complete);
    CHECK(second.consumed == 1);
    CHECK(p.section_size() == request.size());
}

TEST_CASE("frame: document bytes after the end tag are not consumed", "[ipp][frame]") {
    const Bytes request = print_job_request();
    // Document data that looks like IPP must not confuse the parser either.
    const Bytes document = concat({bytes("%PDF-1.7\n"), bytes({0x03, 0x01, 0x03, 0x00, 0xFF})});
    const Bytes body = concat({request, document});
    FrameParser p;
    const FeedResult r = p.feed(body);
    CHECK(r.status == FrameStatus::complete);
    CHECK(r.consumed == request.size());
    CHECK(p.section_size() == request.size());
    // Once complete, further input is not touched.
    const FeedResult again = p.feed(document);
    CHECK(again.status == FrameStatus::complete);
    CHECK(again.consumed == 0);
}

TEST_CASE("frame: every split point and byte-by-byte feeding agree with one feed", "[ipp][frame]") {
    const Bytes document = bytes("%!PS-Adobe-3.0\nshowpage\n");
    for (const Bytes& request : {print_job_request(), get_printer_attributes_request(), create_job_request(),
                                 send_document_request(), get_jobs_request()}) {
        const Bytes body = concat({request, document});
        FrameParser whole;
        const Outcome expected = feed_all(whole, body);
        REQUIRE(expected.status == FrameStatus::complete);
        REQUIRE(expected.consumed == request.size());

        for (std::size_t split = 0; split <= body.size(); ++split) {
            FrameParser p;
            const FeedResult a = p.feed(std::span(body).first(split));
            const FeedResult b = p.feed(std::span(body).subspan(split));
            INFO("split " << split);
            CHECK(a.consumed + b.consumed == request.size());
            CHECK(p.status() == FrameStatus::complete);
            CHECK(p.attribute_count() == whole.attribute_count());
            CHECK(p.request_id() == whole.request_id());
        }

        FrameParser one;
        const Outcome bytewise = feed_bytes_one_by_one(one, body);
        CHECK(bytewise.status == FrameStatus::complete);
        CHECK(bytewise.consumed == request.size());
        CHECK(one.section_size() == whole.section_size());
        CHECK(one.operation_id() == whole.operation_id());
    }
}

TEST_CASE("frame: errors are the same whatever the piece sizes", "[ipp][frame]") {
    const Bytes b = Writer().request_start().u8(0x44).u16(300).raw("x");
    FrameParser whole;
    CHECK(whole.feed(b).status == FrameStatus::error);
    FrameParser bytewise;
    const Outcome o = feed_bytes_one_by_one(bytewise, b);
    CHECK(o.status == FrameStatus::error);
    CHECK(bytewise.error().code == whole.error().code);
    CHECK(bytewise.error().offset == whole.error().offset);
    // After an error nothing more is consumed.
    const FeedResult again = bytewise.feed(b);
    CHECK(again.status == FrameStatus::error);
    CHECK(again.consumed == 0);
}

TEST_CASE("frame: header fields, counts and reset", "[ipp][frame]") {
    const Bytes request = send_document_request();
    FrameParser p;
    REQUIRE(p.feed(request).status == FrameStatus::complete);
    CHECK(p.version_major() == 2);
    CHECK(p.version_minor() == 0);
    CHECK(p.operation_id() == 0x0006);
    CHECK(p.request_id() == 42u);
    CHECK(p.attribute_count() == 8);  // charset, language, uri, job-id, user, name, format, last
    CHECK(p.section_size() == request.size());
    p.reset();
    CHECK(p.status() == FrameStatus::need_more);
    CHECK_FALSE(p.header_done());
    CHECK(p.feed(request).status == FrameStatus::complete);
}

TEST_CASE("frame: a minimal hand-written request", "[ipp][frame]") {
    // Get-Printer-Attributes, IPP/1.1, request-id 1: header, operation group with
    // charset and language, end tag (RFC 8010 §3.1.1).
    const Bytes b = bytes({
        0x01, 0x01, 0x00, 0x0B, 0x00, 0x00, 0x00, 0x01,  // version 1.1, op 0x000B, id 1
        0x01,                                            // operation-attributes-tag
        0x47, 0x00, 0x12, 'a', 't', 't', 'r', 'i', 'b', 'u', 't', 'e', 's', '-', 'c', 'h', 'a', 'r', 's', 'e', 't',
        0x00, 0x05, 'u', 't', 'f', '-', '8',
        0x48, 0x00, 0x1B, 'a', 't', 't', 'r', 'i', 'b', 'u', 't', 'e', 's', '-', 'n', 'a', 't', 'u', 'r', 'a', 'l',
        '-', 'l', 'a', 'n', 'g', 'u', 'a', 'g', 'e', 0x00, 0x02, 'e', 'n',
        0x03,                                            // end-of-attributes-tag
    });
    FrameParser p;
    const FeedResult r = p.feed(b);
    CHECK(r.status == FrameStatus::complete);
    CHECK(r.consumed == b.size());
    CHECK(p.version() == Version{1, 1});
    CHECK(p.attribute_count() == 2);
}
